"""The Bot API methods the sandbox implements, with Telegram's checks and error answers.

Each method takes the call's ``Params`` and returns the ``result`` of the answer or raises
``ApiError``. Only getUpdates waits; everything else completes at once, which keeps the
flood-control check and the send it guards free of races.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from bot.sandbox.html_check import (
    EntityParseError,
    FormattedText,
    parse_html,
    strip_text,
    utf16_len,
)
from bot.sandbox.images import image_size, photo_sizes
from bot.sandbox.model import (
    ApiError,
    CallbackAnswer,
    Revision,
    SentMessage,
    SimChat,
    bad_request,
    forbidden,
)
from bot.sandbox.params import Params
from bot.sandbox.world import World

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64  # bytes
MAX_BUTTONS = 100
BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
COMMAND = re.compile(r"[a-z0-9_]{1,32}")
LANGUAGE = re.compile(r"(|[a-z]{2})")
SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")

# Methods that put a message into a chat; only these count against the flood limits.
FLOOD_COUNTED = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "editmessagetext",
        "editmessagecaption",
        "editmessagereplymarkup",
    }
)
BAD_BUTTON = "can't parse inline keyboard button: "
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


class BotApi:
    """Bot API methods over the sandbox's World; ``methods`` maps lower-case names to them."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.closed = False  # set when the server stops, to release long polls
        self._poll_generation = 0
        named: dict[str, Callable[[Params], Any]] = {
            "getMe": self.get_me,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "logOut": lambda p: True,
            "close": lambda p: True,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setChatMenuButton": self._keeper("setChatMenuButton"),
            "setMyDescription": self._keeper("setMyDescription"),
            "setMyShortDescription": self._keeper("setMyShortDescription"),
            "setMyName": self._keeper("setMyName"),
            "sendMessage": self.send_message,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "sendChatAction": self.send_chat_action,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.answer_callback_query,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getFile": self.get_file,
        }
        # Telegram matches method names without regard to case.
        self.methods = {name.lower(): method for name, method in named.items()}

    def flood_chat(self, params: Params) -> SimChat | None:
        """The chat a counted call writes to, if it exists (flood control needs it first)."""
        try:
            return self.world.chats.get(int(params.text("chat_id") or ""))
        except ValueError:
            return None

    # --- the bot and its updates --------------------------------------------------------

    def get_me(self, p: Params) -> dict[str, Any]:
        return {
            **self.world.bot,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def get_updates(self, p: Params) -> list[dict[str, Any]]:
        world = self.world
        self._check_no_webhook()
        offset = p.integer("offset", 0) or 0
        limit = min(max(p.integer("limit", 100) or 100, 1), 100)
        timeout = max(p.integer("timeout", 0) or 0, 0)
        allowed = p.json("allowed_updates", "allowed updates")
        if allowed is not None:
            world.allowed_updates = list(allowed)
        if offset > 0:  # confirms every update before it
            world.updates = [u for u in world.updates if u["update_id"] >= offset]
        elif offset < 0:  # keeps only the last -offset updates
            world.updates = world.updates[offset:]

        # A newer getUpdates ends an older one with a conflict, as Telegram does.
        self._poll_generation += 1
        generation = self._poll_generation
        world.changed()

        def ready() -> bool:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            self._check_no_webhook()
            return bool(world.updates) or self.closed

        await world.wait_until(ready, timeout)
        return world.updates[:limit]

    def _check_no_webhook(self) -> None:
        if self.world.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )

    def set_webhook(self, p: Params) -> bool:
        """Telegram's checks on the URL and the secret token; the sandbox then delivers
        updates there (bot.sandbox.webhook). Telegram insists on HTTPS; the sandbox also
        takes plain HTTP on loopback, where the bot under test listens."""
        url = p.text("url", "") or ""
        secret = p.text("secret_token", "") or ""
        if url:
            parts = urlsplit(url)
            loopback = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
            if parts.scheme != "https" and not loopback:
                raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if secret and not SECRET_TOKEN.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        self.world.webhook_url = url
        self.world.webhook_secret = secret
        self.world.webhook_last_error = None
        allowed = p.json("allowed_updates", "allowed updates")
        if allowed is not None:
            self.world.allowed_updates = list(allowed)
        if p.flag("drop_pending_updates"):
            self.world.updates.clear()
        self.world.changed()
        return True

    def delete_webhook(self, p: Params) -> bool:
        self.world.webhook_url = ""
        self.world.webhook_secret = ""
        if p.flag("drop_pending_updates"):
            self.world.updates.clear()
        return True

    def get_webhook_info(self, p: Params) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.world.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.updates),
        }
        if self.world.allowed_updates:
            info["allowed_updates"] = self.world.allowed_updates
        if self.world.webhook_last_error is not None:
            info["last_error_date"], info["last_error_message"] = self.world.webhook_last_error
        return info

    # --- commands and settings ----------------------------------------------------------

    def set_my_commands(self, p: Params) -> bool:
        commands = p.json("commands", "bot commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse bot commands JSON object")
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        kept = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name, description = command.get("command"), command.get("description")
            if not isinstance(name, str) or not COMMAND.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            kept.append({"command": name, "description": description})
        self.world.commands[self._commands_key(p)] = kept
        return True

    def get_my_commands(self, p: Params) -> list[dict[str, str]]:
        return self.world.commands.get(self._commands_key(p), [])

    def delete_my_commands(self, p: Params) -> bool:
        self.world.commands.pop(self._commands_key(p), None)
        return True

    def _commands_key(self, p: Params) -> tuple[str, str]:
        scope = p.json("scope", "bot command scope") or {"type": "default"}
        language = p.text("language_code", "") or ""
        if not LANGUAGE.fullmatch(language):
            raise bad_request("invalid language code specified")
        return json.dumps(scope, sort_keys=True), language

    def _keeper(self, method: str) -> Callable[[Params], bool]:
        """A method for settings the sandbox has no use for: accepted and kept for tests."""

        def keep(p: Params) -> bool:
            self.world.settings[method] = dict(p.values)
            return True

        return keep

    # --- sending ------------------------------------------------------------------------

    def send_message(self, p: Params) -> dict[str, Any]:
        chat = self._writable_chat(p)
        formatted = self._format(p, "text", "entities", MAX_TEXT, "message is too long")
        if not formatted.text:
            raise bad_request("message text is empty")
        content: dict[str, Any] = {"text": formatted.text}
        if formatted.entities:
            content["entities"] = formatted.entities
        return self._send(chat, p, content, formatted, p.text("text", "") or "")

    def send_photo(self, p: Params) -> dict[str, Any]:
        chat = self._writable_chat(p)
        formatted = self._caption(p)
        photo = self._photo(p)
        content = {"photo": photo, **self._caption_content(formatted)}
        return self._send(chat, p, content, formatted, p.text("caption", "") or "", photo=photo)

    def send_document(self, p: Params) -> dict[str, Any]:
        chat = self._writable_chat(p)
        formatted = self._caption(p)
        document = self._document(p)
        content = {"document": document, **self._caption_content(formatted)}
        raw = p.text("caption", "") or ""
        return self._send(chat, p, content, formatted, raw, document=document)

    def send_chat_action(self, p: Params) -> bool:
        chat = self._writable_chat(p)
        action = p.text("action", "") or ""
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.world.chat_actions.append((chat.id, action))
        return True

    def _send(
        self,
        chat: SimChat,
        p: Params,
        content: dict[str, Any],
        formatted: FormattedText,
        raw_text: str,
        *,
        photo: list[dict] | None = None,
        document: dict | None = None,
    ) -> dict[str, Any]:
        markup = self._reply_markup(p)
        p.json("link_preview_options", "link preview options")  # checked, then ignored
        reply_to = self._reply_target(chat, p)
        if markup and "inline_keyboard" in markup:
            content["reply_markup"] = markup  # Telegram returns inline keyboards only
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        if p.flag("protect_content"):
            content["has_protected_content"] = True
        message = self.world.new_message(chat, self.world.bot, content)
        sent = SentMessage(
            chat_id=chat.id,
            message_id=message["message_id"],
            text=formatted.text,
            raw_text=raw_text,
            parse_mode=p.text("parse_mode"),
            entities=formatted.entities,
            reply_markup=markup,
            photo=photo,
            document=document,
            reply_to_message_id=reply_to["message_id"] if reply_to else None,
            disable_notification=p.flag("disable_notification"),
            protect_content=p.flag("protect_content"),
        )
        self.world.record_event(sent)
        return message

    def _writable_chat(self, p: Params) -> SimChat:
        chat = self._chat(p)
        if chat.user is not None:
            if chat.user.deactivated:
                raise forbidden("user is deactivated")
            if chat.user.blocked:
                raise forbidden("bot was blocked by the user")
        return chat

    def _chat(self, p: Params) -> SimChat:
        raw = p.text("chat_id")
        if not raw:
            raise bad_request("chat_id is empty")
        try:
            chat = self.world.chats.get(int(raw))
        except ValueError:
            chat = None  # an @username: the sandbox has no public chats
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _format(
        self, p: Params, field: str, entities_field: str, limit: int, too_long: str
    ) -> FormattedText:
        """Parse text or caption as Telegram does, measuring it after entity parsing."""
        raw = p.text(field, "") or ""
        parse_mode = p.text("parse_mode") or ""
        if parse_mode.lower() == "html":
            try:
                formatted = parse_html(raw)
            except EntityParseError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        elif parse_mode:
            raise bad_request(f"unsupported parse_mode {parse_mode!r}: the sandbox knows HTML")
        else:
            formatted = FormattedText(raw, p.json(entities_field, "message entities") or [])
        formatted = strip_text(formatted)
        if utf16_len(formatted.text) > limit:
            raise bad_request(too_long)
        return formatted

    def _caption(self, p: Params) -> FormattedText:
        too_long = "message caption is too long"
        return self._format(p, "caption", "caption_entities", MAX_CAPTION, too_long)

    @staticmethod
    def _caption_content(formatted: FormattedText) -> dict[str, Any]:
        content: dict[str, Any] = {}
        if formatted.text:
            content["caption"] = formatted.text
        if formatted.entities:
            content["caption_entities"] = formatted.entities
        return content

    def _reply_target(self, chat: SimChat, p: Params) -> dict[str, Any] | None:
        parameters = p.json("reply_parameters", "reply parameters") or {}
        if not isinstance(parameters, dict):
            raise bad_request("can't parse reply parameters JSON object")
        message_id = parameters.get("message_id") or p.integer("reply_to_message_id")
        if not message_id:
            return None
        target = self.world.messages.get((chat.id, int(message_id)))
        if target is None:
            if parameters.get("allow_sending_without_reply") or p.flag(
                "allow_sending_without_reply"
            ):
                return None
            raise bad_request("message to be replied not found")
        return {k: v for k, v in target.items() if k != "reply_to_message"}

    # --- reply markup -------------------------------------------------------------------

    def _reply_markup(self, p: Params, *, inline_only: bool = False) -> dict | None:
        markup = p.json("reply_markup", "reply keyboard markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            self._check_inline_keyboard(markup["inline_keyboard"])
        elif inline_only:
            raise bad_request("can't parse inline keyboard markup JSON object")
        elif "keyboard" in markup:
            self._check_keyboard(markup["keyboard"])
        elif markup.get("remove_keyboard") is not True and markup.get("force_reply") is not True:
            raise bad_request("can't parse reply keyboard markup JSON object")
        return markup

    @staticmethod
    def _check_inline_keyboard(rows: Any) -> None:
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "inline_keyboard" must be an Array of Arrays')
        if sum(len(row) for row in rows) > MAX_BUTTONS:
            raise bad_request("REPLY_MARKUP_TOO_LONG")
        for button in (button for row in rows for button in row):
            if not isinstance(button, dict):
                raise bad_request(f"{BAD_BUTTON}InlineKeyboardButton must be an Object")
            if not isinstance(button.get("text"), str):
                raise bad_request(f'{BAD_BUTTON}Field "text" must be of type String')
            # Telegram treats an empty callback_data or url as absent.
            actions = [a for a in BUTTON_ACTIONS if button.get(a) not in (None, "")]
            if not actions:
                raise bad_request(f"{BAD_BUTTON}Text buttons are unallowed in the inline keyboard")
            if len(actions) > 1:
                raise bad_request(f"{BAD_BUTTON}exactly one action field must be used: {actions}")
            data = button.get("callback_data")
            if data is not None and (
                not isinstance(data, str) or len(data.encode()) > MAX_CALLBACK_DATA
            ):
                raise bad_request("BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not re.match(r"(https?|tg)://\S+$", str(url)):
                raise bad_request("BUTTON_URL_INVALID")

    @staticmethod
    def _check_keyboard(rows: Any) -> None:
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "keyboard" must be an Array of Arrays')
        for button in (button for row in rows for button in row):
            text = button if isinstance(button, str) else (button or {}).get("text")
            if not isinstance(text, str) or not text:
                raise bad_request('can\'t parse keyboard button: field "text" must be a String')

    # --- files --------------------------------------------------------------------------

    def _photo(self, p: Params) -> list[dict]:
        upload = self._upload(p, "photo")
        if upload is not None:
            size = image_size(upload.data)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            return self.world.add_photo([(w, h, upload.data) for w, h in photo_sizes(*size)])
        reference = p.text("photo")
        if not reference:
            raise bad_request("there is no photo in the request")
        if reference in self.world.photo_sets:
            return self.world.photo_sets[reference]
        if reference in self.world.files:
            raise bad_request("type of file mismatch")
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _document(self, p: Params) -> dict[str, Any]:
        upload = self._upload(p, "document")
        if upload is not None:
            if not upload.data:
                raise bad_request("file must be non-empty")
            stored = self.world.add_file(
                "document", upload.data, file_name=upload.file_name, mime_type=upload.mime_type
            )
        else:
            reference = p.text("document")
            if not reference:
                raise bad_request("there is no document in the request")
            stored = self.world.files.get(reference)
            if stored is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            if stored.kind != "document":
                raise bad_request("type of file mismatch")
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    @staticmethod
    def _upload(p: Params, field: str) -> Any:
        """The uploaded file for a field: a part of that name or one named by attach://."""
        if field in p.files:
            return p.files[field]
        reference = p.text(field) or ""
        if reference.startswith("attach://"):
            name = reference.removeprefix("attach://")
            if name not in p.files:
                raise bad_request(f"file {name!r} not found in the request")
            return p.files[name]
        return None

    def get_file(self, p: Params) -> dict[str, Any]:
        stored = self.world.files.get(p.text("file_id") or "")
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    # --- editing and deleting -----------------------------------------------------------

    def edit_message_text(self, p: Params) -> dict[str, Any]:
        message, sent = self._own_message(p)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        formatted = self._format(p, "text", "entities", MAX_TEXT, "message is too long")
        if not formatted.text:
            raise bad_request("message text is empty")
        content = {"text": formatted.text, "entities": formatted.entities}
        raw = p.text("text", "") or ""
        return self._edit(message, sent, p, content, formatted, raw, p.text("parse_mode"))

    def edit_message_caption(self, p: Params) -> dict[str, Any]:
        message, sent = self._own_message(p)
        if "text" in message:
            raise bad_request("there is no caption in the message to edit")
        formatted = self._caption(p)
        content = {"caption": formatted.text, "caption_entities": formatted.entities}
        raw = p.text("caption", "") or ""
        return self._edit(message, sent, p, content, formatted, raw, p.text("parse_mode"))

    def edit_message_reply_markup(self, p: Params) -> dict[str, Any]:
        message, sent = self._own_message(p)
        formatted = FormattedText(sent.text, sent.entities)
        return self._edit(message, sent, p, {}, formatted, sent.raw_text, sent.parse_mode)

    def _edit(
        self,
        message: dict[str, Any],
        sent: SentMessage,
        p: Params,
        content: dict[str, Any],
        formatted: FormattedText,
        raw_text: str,
        parse_mode: str | None,
    ) -> dict[str, Any]:
        """Apply an edit. Like Telegram, an edit without reply_markup removes the keyboard."""
        markup = self._reply_markup(p, inline_only=True)
        content["reply_markup"] = markup
        if all(message.get(key) == (value or None) for key, value in content.items()):
            raise bad_request(NOT_MODIFIED)
        sent.history.append(
            Revision(sent.text, sent.raw_text, sent.entities, sent.reply_markup, sent.time)
        )
        for key, value in content.items():
            if value:
                message[key] = value
            else:
                message.pop(key, None)
        message["edit_date"] = int(time.time())
        sent.text, sent.raw_text, sent.entities = formatted.text, raw_text, formatted.entities
        sent.parse_mode = parse_mode
        sent.reply_markup, sent.edited, sent.time = markup, True, time.monotonic()
        self.world.record_event(sent)
        return message

    def _own_message(self, p: Params) -> tuple[dict[str, Any], SentMessage]:
        if p.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._chat(p)
        key = (chat.id, p.required_integer("message_id", "message identifier is not specified"))
        message = self.world.messages.get(key)
        if message is None:
            raise bad_request("message to edit not found")
        sent = self.world.sent_index.get(key)
        if sent is None:
            raise bad_request("message can't be edited")
        return message, sent

    def delete_message(self, p: Params) -> bool:
        chat = self._chat(p)
        key = (chat.id, p.required_integer("message_id", "message identifier is not specified"))
        if key not in self.world.messages:
            raise bad_request("message to delete not found")
        sent = self.world.sent_index.get(key)
        if sent is None and chat.is_group and not chat.bot_is_admin:
            raise bad_request("message can't be deleted")
        del self.world.messages[key]
        if sent is not None:
            sent.deleted = True
        self.world.changed()
        return True

    # --- callback queries and chats -----------------------------------------------------

    def answer_callback_query(self, p: Params) -> bool:
        query_id = p.text("callback_query_id") or ""
        text = p.text("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        if self.world.callback_queries.pop(query_id, None) is None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self.world.callback_answers[query_id] = CallbackAnswer(
            query_id=query_id,
            text=text,
            show_alert=p.flag("show_alert"),
            url=p.text("url"),
            cache_time=p.integer("cache_time", 0) or 0,
        )
        self.world.changed()
        return True

    def get_chat(self, p: Params) -> dict[str, Any]:
        chat = self._chat(p)
        return {
            **chat.to_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def get_chat_member(self, p: Params) -> dict[str, Any]:
        chat = self._chat(p)
        user_id = p.required_integer("user_id", "user_id is empty")
        if user_id == self.world.bot["id"]:
            admin = chat.is_group and chat.bot_is_admin
            return chat_member(self.world.bot, "administrator" if admin else "member")
        user = self.world.users.get(user_id)
        if user is None or (not chat.is_group and user_id != chat.id):
            raise bad_request("user not found")
        status = chat.members.get(user_id, "left") if chat.is_group else "member"
        return chat_member(user.to_dict(), status)


def chat_member(user: dict[str, Any], status: str) -> dict[str, Any]:
    """A ChatMember object as Telegram sends it for a member, an administrator or a leaver."""
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "administrator":
        rights = (
            "can_manage_chat can_delete_messages can_manage_video_chats can_restrict_members "
            "can_promote_members can_change_info can_invite_users can_post_stories "
            "can_edit_stories can_delete_stories can_pin_messages"
        )
        member.update({right: True for right in rights.split()})
        member.update({"can_be_edited": False, "is_anonymous": False})
    if status == "kicked":
        member["until_date"] = 0
    return member
