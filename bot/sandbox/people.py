"""Simulated people talking to the bot through the sandbox: for e2e tests and the demo.

A ``Person`` says things and presses buttons the way a Telegram user does, and reads what
the bot answered: ``reply = await lan.says("/start")``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.sandbox.model import CallbackAnswer, SentMessage, SimUser
from bot.sandbox.server import SandboxServer


def find_button(message: SentMessage, wanted: str) -> str:
    """The callback data of the button whose data or label is ``wanted`` (or whose label
    contains it), so tests can press what a person sees."""
    buttons = message.buttons
    for text, data in buttons:
        if data == wanted or text == wanted:
            return data or ""
    for text, data in buttons:
        if wanted.lower() in text.lower():
            return data or ""
    raise LookupError(f"no button {wanted!r} in message {message.message_id}: {buttons}")


@dataclass
class Person:
    """One Telegram user, in their private chat with the bot and in groups they belong to."""

    sandbox: SandboxServer
    user: SimUser

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def messages(self) -> list[SentMessage]:
        """Every message the bot sent to this person's private chat."""
        return self.sandbox.sent(self.id)

    def last_with_buttons(self, chat_id: int | None = None) -> SentMessage:
        for message in reversed(self.sandbox.sent(chat_id or self.id)):
            if message.buttons and not message.deleted:
                return message
        raise LookupError("the bot has sent no message with buttons")

    async def says(self, text: str, *, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109
        """Write in the private chat and return the bot's next message there."""
        mark = self.sandbox.mark()
        self.sandbox.send_text(self.user, text)
        return await self.sandbox.wait_for(self.id, after=mark, timeout=timeout)

    async def sends(self, text: str) -> None:
        """Write without waiting for an answer."""
        self.sandbox.send_text(self.user, text)

    async def next_message(
        self,
        chat_id: int | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> SentMessage:
        """The bot's next message (or edit) in the private chat, or in ``chat_id``."""
        return await self.sandbox.wait_for(chat_id or self.id, timeout=timeout)

    async def shares_contact(
        self,
        phone: str,
        *,
        own: bool = True,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> SentMessage:
        """Share a phone contact: one's own (the request-contact button) or someone else's."""
        mark = self.sandbox.mark()
        owner = self.id if own else self.id + 777_000
        self.sandbox.share_contact(self.user, phone, contact_user_id=owner)
        return await self.sandbox.wait_for(self.id, after=mark, timeout=timeout)

    async def sends_photo(
        self,
        caption: str | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> SentMessage:
        mark = self.sandbox.mark()
        self.sandbox.send_photo(self.user, caption=caption)
        return await self.sandbox.wait_for(self.id, after=mark, timeout=timeout)

    async def presses(
        self,
        button: str,
        message: SentMessage | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> SentMessage:
        """Press a button (by label or data) of ``message`` or of the bot's last message
        with buttons, and return the bot's next message or edit in that chat."""
        message = message or self.last_with_buttons()
        mark = self.sandbox.mark()
        self.sandbox.press_button(self.user, message, find_button(message, button))
        return await self.sandbox.wait_for(message.chat_id, after=mark, timeout=timeout)

    async def taps(
        self,
        button: str,
        message: SentMessage | None = None,
        *,
        forged: bool = False,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> CallbackAnswer:
        """Press a button and return only how the bot answered the press (the little
        notice Telegram shows), for presses that should change nothing."""
        message = message or self.last_with_buttons()
        data = button if forged else find_button(message, button)
        query_id = self.sandbox.press_button(self.user, message, data, must_exist=not forged)
        return await self.sandbox.wait_answer(query_id, timeout=timeout)

    async def says_in(self, chat_id: int, text: str, *, reply_to: int | None = None) -> None:
        """Write in a group (the staff chat), optionally as a Telegram reply."""
        self.sandbox.send_text(self.user, text, chat_id=chat_id, reply_to=reply_to)

    async def sends_photo_in(
        self, chat_id: int, caption: str | None = None, *, reply_to: int | None = None
    ) -> None:
        """Send a photo in a group (the staff chat), optionally as a Telegram reply."""
        self.sandbox.send_photo(self.user, caption=caption, chat_id=chat_id, reply_to=reply_to)
