"""SandboxServer: a Telegram Bot API server on 127.0.0.1, and the people who use it.

The bot under test talks to it over real HTTP exactly as it talks to Telegram:

    async with SandboxServer() as server:
        app = (
            Application.builder().token("123456:sandbox")
            .base_url(server.base_url).base_file_url(server.base_file_url).build()
        )
        lan = server.add_user(1001, "Lan")
        server.send_text(lan, "/start")
        reply = await server.wait_for(lan.id)

Tests, the demo and benchmarks play the customers and the staff group through the Python
methods below (``add_user``, ``send_text``, ``press_button``, ``block`` ...), make Telegram
misbehave for a while (``fail_requests``, ``drop_connections``, see ``bot.sandbox.faults``) and
read what the bot did with ``sent``, ``wait_for``, ``callback_answers``, ``commands`` and
``stats``. All of it runs on the event loop the bot runs on.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from types import EllipsisType
from typing import Any

from aiohttp import web

from bot.sandbox.faults import ANSWER, DROP, Fault, Faults, error_answer
from bot.sandbox.html_check import utf16_len
from bot.sandbox.images import blank_png, photo_sizes
from bot.sandbox.limits import FloodControl, Limits
from bot.sandbox.methods import FLOOD_COUNTED, BotApi, chat_member
from bot.sandbox.model import (
    BOT_USERNAME,
    ApiError,
    CallbackAnswer,
    SentMessage,
    SimChat,
    SimUser,
    Stats,
    bad_request,
)
from bot.sandbox.params import Params, Upload
from bot.sandbox.webhook import WebhookDelivery
from bot.sandbox.world import World, bot_user

TOKEN = re.compile(r"(\d+):[A-Za-z0-9_-]+")
BOT_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")
MAX_UPLOAD = 50 * 1024 * 1024  # Telegram's limit for files bots upload

log = logging.getLogger(__name__)

UserRef = SimUser | int
ChatRef = SimChat | SimUser | int


class SandboxServer:
    """A local Telegram for one bot: Bot API over HTTP plus a simulation API for tests.

    The first well-formed token used claims the server (or pass ``token``); the bot's id is
    the token's number. Other tokens are answered 401 Unauthorized, as Telegram answers a
    wrong token.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        limits: Limits | None = None,
        token: str | None = None,
        bot_username: str = BOT_USERNAME,
    ) -> None:
        self.world = World()
        self.api = BotApi(self.world)
        self.webhook = WebhookDelivery(self.world)
        self.limits = limits or Limits()
        self.flood = FloodControl(self.limits)
        self.stats = Stats()
        self.faults = Faults()
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._token: str | None = None
        self._bot_username = bot_username
        self._query_ids = itertools.count(4_000_000_000_000_000_001)
        self._cursors: dict[int, int] = {}  # chat id -> seq of the last event wait_for gave
        self._in_flight = 0
        self._last_activity = time.monotonic()
        if token is not None:
            self._claim(token)

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_UPLOAD)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._requested_port)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self.webhook.start()

    async def stop(self) -> None:
        self.api.closed = True
        self.world.changed()  # long polls answer at once
        await self.webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the sandbox is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # --- HTTP ---------------------------------------------------------------------------

    def _claim(self, token: str) -> bool:
        """Accept the bot's token; False for a second, different one."""
        if self._token is None:
            match = TOKEN.fullmatch(token)
            if match is None:
                raise ValueError(f"not a bot token: {token!r}")
            self._token = token
            self.world.bot = bot_user(int(match.group(1)), self._bot_username)
        return token == self._token

    async def _handle_method(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        if not TOKEN.fullmatch(token):
            return _answer_error(ApiError(404, "Not Found"))
        if not self._claim(token):
            return _answer_error(ApiError(401, "Unauthorized"))
        handler = self.api.methods.get(method.lower())
        if handler is None:
            return _answer_error(ApiError(404, "Not Found: method not found"))
        self.stats.requests[method] += 1
        polling = method.lower() == "getupdates"
        if not polling:
            self._in_flight += 1
        try:
            fault = self.faults.take(method)
            if fault is not None and fault.kind == ANSWER:
                self.stats.errors[method, HTTPStatus(fault.status).phrase] += 1
                log.info("%s answered %d by a fault the test asked for", method, fault.status)
                return error_answer(fault.status)
            params = await _read_params(request)
            if fault is not None and not fault.processed:
                return self._hang_up(request, method)
            response = await self._call(method, handler, params)
            if fault is not None:  # carried out, and the answer is lost on the way
                return self._hang_up(request, method)
            return response
        finally:
            if not polling:
                self._in_flight -= 1
                self._last_activity = time.monotonic()

    async def _call(
        self, method: str, handler: Callable[[Params], Any], params: Params
    ) -> web.Response:
        """Carry out a method: flood control, the method itself, its answer."""
        try:
            chat = self.api.flood_chat(params) if method.lower() in FLOOD_COUNTED else None
            if chat is not None:
                self._check_flood(chat)
            result = handler(params)
            if inspect.isawaitable(result):
                result = await result
            if chat is not None:
                self.flood.record(chat.id, chat.is_group)
            return web.json_response({"ok": True, "result": result})
        except ApiError as error:
            self.stats.errors[method, error.description] += 1
            log.info("%s answered %d: %s", method, error.code, error.description)
            return _answer_error(error)

    def _hang_up(self, request: web.Request, method: str) -> web.Response:
        """Close the connection with no answer: the client sees it drop mid-request."""
        self.stats.dropped[method] += 1
        log.info("%s: connection dropped by a fault the test asked for", method)
        if request.transport is not None:
            request.transport.close()
        return web.Response()  # never reaches the client

    def _check_flood(self, chat: SimChat) -> None:
        wait = self.flood.retry_after(chat.id, chat.is_group)
        if wait:
            self.stats.too_many_requests += 1
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)

    async def _handle_file(self, request: web.Request) -> web.Response:
        token, path = request.match_info["token"], request.match_info["path"]
        if TOKEN.fullmatch(token) and self._claim(token):
            for stored in self.world.files.values():
                if stored.file_path == path:
                    return web.Response(body=stored.data, content_type="application/octet-stream")
        return _answer_error(ApiError(404, "Not Found"))

    # --- simulated people and chats -----------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
    ) -> SimUser:
        """A Telegram user who has started the bot: the bot can write to them from now on."""
        if user_id <= 0 or user_id in self.world.users:
            raise ValueError(f"user ids are positive and unique: {user_id}")
        user = SimUser(user_id, first_name, last_name, username, language_code)
        self.world.users[user_id] = user
        self.world.private_chat(user)
        return user

    def add_group(
        self, chat_id: int, title: str, *, type: str = "supergroup", bot_is_admin: bool = True
    ) -> SimChat:
        """A group with the bot in it. A bot that is no admin gets only what privacy mode lets
        through: commands, replies to it and mentions of it."""
        if chat_id >= 0 or chat_id in self.world.chats or type not in ("group", "supergroup"):
            raise ValueError("a group needs a new negative id and type group or supergroup")
        group = SimChat(chat_id, type, title=title, bot_is_admin=bot_is_admin)
        self.world.chats[chat_id] = group
        return group

    def add_member(self, group: SimChat | int, user: UserRef, *, admin: bool = False) -> None:
        chat = self._chat(group)
        if not chat.is_group:
            raise ValueError(f"chat {chat.id} is not a group")
        chat.members[self._user(user).id] = "administrator" if admin else "member"

    def block(self, user: UserRef) -> None:
        """The user blocks the bot: sends to them fail with 403, the bot gets my_chat_member."""
        sim = self._user(user)
        if not sim.blocked:
            sim.blocked = True
            self._my_chat_member(sim, "member", "kicked")

    def unblock(self, user: UserRef) -> None:
        sim = self._user(user)
        if sim.blocked:
            sim.blocked = False
            self._my_chat_member(sim, "kicked", "member")

    def deactivate(self, user: UserRef) -> None:
        """The user deletes their account: sends to them fail with 403 "user is deactivated"."""
        self._user(user).deactivated = True

    # --- Telegram having a bad moment ----------------------------------------------------

    def fail_requests(
        self,
        *,
        seconds: float | None = None,
        requests: int | None = None,
        methods: Iterable[str] | None = None,
        status: int = 500,
    ) -> Fault:
        """Answer requests with a server error (500 as the Bot API does; 502, 503 or 504 as
        Telegram's front end does, with an HTML page) for ``seconds`` or ``requests``, for
        every method or the ``methods`` named. Nothing of a spoilt request is carried out.
        """
        return self.faults.add(
            ANSWER, seconds=seconds, requests=requests, methods=methods, status=status
        )

    def drop_connections(
        self,
        *,
        seconds: float | None = None,
        requests: int | None = None,
        methods: Iterable[str] | None = None,
        processed: bool = False,
    ) -> Fault:
        """Close the connection of requests without answering them, after reading them whole;
        with ``processed`` the method is carried out first (the message is sent, its answer
        is lost), otherwise not. The client cannot tell the two apart, as with Telegram."""
        return self.faults.add(
            DROP, seconds=seconds, requests=requests, methods=methods, processed=processed
        )

    def heal(self) -> None:
        """End every fault now."""
        self.faults.clear()

    # --- what simulated users do --------------------------------------------------------

    def send_text(
        self,
        user: UserRef,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """The user writes text in their private chat (or in the group ``chat_id``).

        A leading /command gets its bot_command entity, as Telegram adds it.
        """
        content: dict[str, Any] = {"text": text}
        command = BOT_COMMAND.match(text)
        if command:
            length = utf16_len(command.group())
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._user_message(self._user(user), chat_id, content, reply_to)

    def share_contact(
        self,
        user: UserRef,
        phone_number: str,
        *,
        contact_user_id: int | EllipsisType | None = ...,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> dict[str, Any]:
        """The user shares a contact: by default their own (as the request_contact button
        does); ``contact_user_id=None`` is someone without a Telegram account."""
        sim = self._user(user)
        contact: dict[str, Any] = {
            "phone_number": phone_number,
            "first_name": first_name or sim.first_name,
        }
        if last_name:
            contact["last_name"] = last_name
        owner = sim.id if contact_user_id is ... else contact_user_id
        if owner is not None:
            contact["user_id"] = owner
        return self._user_message(sim, None, {"contact": contact}, None)

    def send_photo(
        self,
        user: UserRef,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to: int | None = None,
        width: int = 1280,
        height: int = 960,
    ) -> dict[str, Any]:
        """The user sends a photo (in a group ``chat_id``, as a reply to ``reply_to``);
        every size's file_id works with getFile and sendPhoto."""
        sizes = [(w, h, blank_png(w, h)) for w, h in photo_sizes(width, height)]
        content: dict[str, Any] = {"photo": self.world.add_photo(sizes)}
        if caption:
            content["caption"] = caption
        return self._user_message(self._user(user), chat_id, content, reply_to)

    def press_button(
        self,
        user: UserRef,
        message: SentMessage | dict[str, Any],
        data: str,
        *,
        must_exist: bool = True,
    ) -> str:
        """The user taps an inline button; returns the callback query id.

        The update carries the message as it is now, edits included. Tapping a button the
        message does not have is a mistake in the test unless ``must_exist=False`` (a forged
        callback, which a hostile client can send).
        """
        sim = self._user(user)
        if isinstance(message, SentMessage):
            key = (message.chat_id, message.message_id)
        else:
            key = (message["chat"]["id"], message["message_id"])
        current = self.world.messages.get(key)
        if current is None:
            raise ValueError(f"message {key[1]} in chat {key[0]} does not exist (deleted?)")
        chat = self.world.chats[key[0]]
        self._check_can_write(sim, chat)
        rows = current.get("reply_markup", {}).get("inline_keyboard", [])
        offered = [button.get("callback_data") for row in rows for button in row]
        if must_exist and data not in offered:
            raise ValueError(f"message {key[1]} has no button with data {data!r}: {offered}")
        query_id = str(next(self._query_ids))
        self.world.callback_queries[query_id] = time.monotonic()
        query = {
            "id": query_id,
            "from": sim.to_dict(),
            "message": json.loads(json.dumps(current)),  # a snapshot, as sent over the wire
            "chat_instance": str(7_000_000_000_000 + abs(chat.id)),
            "data": data,
        }
        self.world.push_update("callback_query", query)
        return query_id

    def _user_message(
        self, user: SimUser, chat_id: int | None, content: dict[str, Any], reply_to: int | None
    ) -> dict[str, Any]:
        chat = self.world.private_chat(user) if chat_id is None else self._chat(chat_id)
        self._check_can_write(user, chat)
        if reply_to is not None:
            target = self.world.messages.get((chat.id, reply_to))
            if target is None:
                raise ValueError(f"no message {reply_to} in chat {chat.id} to reply to")
            content["reply_to_message"] = {
                k: v for k, v in target.items() if k != "reply_to_message"
            }
        message = self.world.new_message(chat, user.to_dict(), content)
        if self._bot_sees(chat, message):
            self.world.push_update("message", message)
        return message

    def _check_can_write(self, user: SimUser, chat: SimChat) -> None:
        if user.deactivated:
            raise ValueError(f"user {user.id} is deactivated")
        if chat.is_group and user.id not in chat.members:
            raise ValueError(f"user {user.id} is not a member of {chat.id}; add_member first")
        if not chat.is_group and chat.id != user.id:
            raise ValueError(f"user {user.id} cannot write in the private chat {chat.id}")
        if not chat.is_group and user.blocked:
            raise ValueError(f"user {user.id} has blocked the bot; unblock first")

    def _bot_sees(self, chat: SimChat, message: dict[str, Any]) -> bool:
        """Privacy mode: in a group where it is no admin, a bot gets only messages for it."""
        if not chat.is_group or chat.bot_is_admin:
            return True
        text = message.get("text", "")
        replied = message.get("reply_to_message", {}).get("from", {})
        return (
            text.startswith("/")
            or f"@{self.world.bot['username']}" in text
            or replied.get("id") == self.world.bot["id"]
        )

    def _my_chat_member(self, user: SimUser, old: str, new: str) -> None:
        bot = self.world.bot
        self.world.push_update(
            "my_chat_member",
            {
                "chat": self.world.private_chat(user).to_dict(),
                "from": user.to_dict(),
                "date": int(time.time()),
                "old_chat_member": chat_member(bot, old),
                "new_chat_member": chat_member(bot, new),
            },
        )

    # --- what the bot did ---------------------------------------------------------------

    def sent(self, chat_id: ChatRef | None = None) -> list[SentMessage]:
        """The bot's messages in the order it sent them (edited and deleted ones included)."""
        wanted = None if chat_id is None else self._chat_id(chat_id)
        return [m for m in self.world.sent_index.values() if wanted in (None, m.chat_id)]

    def mark(self) -> int:
        """A point in the bot's activity; ``wait_for(after=mark)`` looks only at what follows."""
        return len(self.world.events)

    async def wait_for(
        self,
        chat_id: ChatRef,
        predicate: Callable[[SentMessage], bool] | None = None,
        *,
        # A default deadline, rather than asyncio.timeout, keeps a failing test from hanging.
        timeout: float = 5.0,  # noqa: ASYNC109
        after: int | SentMessage | None = None,
    ) -> SentMessage:
        """The next message the bot sends or edits in a chat that matches ``predicate``.

        "Next" means after the one the previous wait_for for this chat returned, so a reply
        that arrives before the test starts waiting is not missed; ``after`` (a ``mark()``
        or a message) starts elsewhere. Raises TimeoutError listing what the chat got.
        """
        wanted = self._chat_id(chat_id)
        if isinstance(after, SentMessage):
            start = after.seq
        else:
            start = self._cursors.get(wanted, 0) if after is None else after
        events = self.world.events

        def find() -> int | None:
            for index in range(start, len(events)):
                message = events[index]
                if message.chat_id == wanted and (predicate is None or predicate(message)):
                    return index + 1
            return None

        seq = await self.world.wait_until(find, timeout)
        if seq is None:
            got = [m.text for m in events[start:] if m.chat_id == wanted]
            raise TimeoutError(f"no matching message in chat {wanted} within {timeout}s; got {got}")
        self._cursors[wanted] = seq
        return events[seq - 1]

    async def wait_answer(
        self,
        query_id: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> CallbackAnswer:
        """The bot's answerCallbackQuery for a press_button."""
        answers = self.world.callback_answers
        answer = await self.world.wait_until(lambda: answers.get(query_id), timeout)
        if answer is None:
            raise TimeoutError(f"callback query {query_id} was not answered within {timeout}s")
        return answer

    async def wait_idle(
        self,
        *,
        quiet: float = 0.2,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until the bot has fetched every update and sent nothing for ``quiet`` seconds.

        A heuristic for "the bot has finished reacting", for asserting that it sent nothing.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            idle_for = time.monotonic() - self._last_activity
            if not self.world.updates and not self._in_flight and idle_for >= quiet:
                return
            if loop.time() >= deadline:
                raise TimeoutError(f"the bot did not go quiet within {timeout}s")
            await asyncio.sleep(max(quiet - idle_for, 0.01))

    @property
    def callback_answers(self) -> dict[str, CallbackAnswer]:
        return self.world.callback_answers

    @property
    def chat_actions(self) -> list[tuple[int, str]]:
        return self.world.chat_actions

    @property
    def commands(self) -> dict[str, list[tuple[str, str]]]:
        """setMyCommands for the default scope, by language code ("" for all languages)."""
        default = json.dumps({"type": "default"}, sort_keys=True)
        return {
            language: [(c["command"], c["description"]) for c in commands]
            for (scope, language), commands in self.world.commands.items()
            if scope == default
        }

    def commands_for(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[tuple[str, str]]:
        key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code)
        return [(c["command"], c["description"]) for c in self.world.commands.get(key, [])]

    # --- lookups ------------------------------------------------------------------------

    def _user(self, user: UserRef) -> SimUser:
        user_id = user.id if isinstance(user, SimUser) else user
        if user_id not in self.world.users:
            raise ValueError(f"unknown user {user_id}; add_user first")
        return self.world.users[user_id]

    def _chat(self, chat: ChatRef) -> SimChat:
        chat_id = self._chat_id(chat)
        if chat_id not in self.world.chats:
            raise ValueError(f"unknown chat {chat_id}")
        return self.world.chats[chat_id]

    @staticmethod
    def _chat_id(chat: ChatRef) -> int:
        return chat if isinstance(chat, int) else chat.id


def _answer_error(error: ApiError) -> web.Response:
    return web.json_response(error.to_json(), status=error.code)


async def _read_params(request: web.Request) -> Params:
    """Query string plus body, whether JSON, a form or multipart (which may carry files)."""
    values: dict[str, Any] = dict(request.query)
    files: dict[str, Upload] = {}
    if request.content_type == "application/json" and request.can_read_body:
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON encoded request") from None
        if not isinstance(body, dict):
            raise bad_request("can't parse JSON encoded request")
        values.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[name] = Upload(value.file.read(), value.filename, value.content_type)
            else:
                values[name] = value
    return Params(values, files)
