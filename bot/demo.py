"""The terminal chat of `carebot demo`: you are a demo customer, and you see the staff chat.

The bot is the real Application talking to the sandbox over HTTP on 127.0.0.1. What you
type is sent as the customer; inline buttons appear as numbered choices you can type.
A few lines starting with ``!`` do what a Telegram client does with a tap:

    !contact          share your phone number (the request-contact button)
    !photo [caption]  send a photo
    !staff TEXT       the staff member writes in the staff chat
    !reply TEXT       the staff member replies to the latest ticket card
    !staffpress N     the staff member presses button N in the staff chat
    !quit             leave
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from bot.sandbox import SandboxServer, SentMessage
from bot.sandbox.people import Person

HELP = __doc__.split("\n\n", 2)[2] if __doc__ else ""


@dataclass
class DemoChat:
    """Plays lines as the customer and prints what the bot says to them and to the staff."""

    sandbox: SandboxServer
    customer: Person
    staff: Person
    staff_chat: int
    phone: str
    write: Callable[[str], None] = print
    _cursor: int = 0

    async def play(self, line: str) -> bool:
        """Act out one line; False when the person asked to leave."""
        line = line.strip()
        if not line:
            return True
        command, _, rest = line.partition(" ")
        if command == "!quit":
            return False
        if command == "!help":
            self.write(HELP)
            return True
        if command == "!contact":
            self.sandbox.share_contact(self.customer.user, self.phone)
        elif command == "!photo":
            self.sandbox.send_photo(self.customer.user, caption=rest or None)
        elif command == "!staff":
            self.sandbox.send_text(self.staff.user, rest, chat_id=self.staff_chat)
        elif command == "!reply":
            card = self._latest_staff_card()
            if card is None:
                self.write("(there is no ticket card in the staff chat yet)")
                return True
            self.sandbox.send_text(
                self.staff.user, rest, chat_id=self.staff_chat, reply_to=card.message_id
            )
        elif command == "!staffpress" and rest.strip().isdigit():
            self._press(self.staff, int(rest), chat=self.staff_chat)
        elif line.isdigit() and self._last_with_buttons(self.customer.id):
            self._press(self.customer, int(line), chat=self.customer.id)
        else:
            self.sandbox.send_text(self.customer.user, line)
        await self.settle()
        return True

    def _press(self, person: Person, number: int, *, chat: int) -> None:
        message = self._last_with_buttons(chat)
        buttons = message.buttons if message else []
        if not 1 <= number <= len(buttons):
            self.write(f"(no choice {number} here)")
            return
        assert message is not None
        self.sandbox.press_button(person.user, message, buttons[number - 1][1] or "")

    def _last_with_buttons(self, chat: int) -> SentMessage | None:
        for message in reversed(self.sandbox.sent(chat)):
            if message.buttons and not message.deleted:
                return message
        return None

    def _latest_staff_card(self) -> SentMessage | None:
        for message in reversed(self.sandbox.sent(self.staff_chat)):
            if any((data or "").startswith("ticket:") for _, data in message.buttons):
                return message
        return None

    async def settle(self, quiet: float = 0.5, first: float = 5.0) -> None:
        """Wait for the bot's answer and until it goes quiet, then print what it sent."""
        events = self.sandbox.world.events
        try:
            await self.sandbox.world.wait_until(
                lambda: True if len(events) > self._cursor else None, first
            )
            await self.sandbox.wait_idle(quiet=quiet, timeout=20)
        except TimeoutError:
            self.write("(the bot is still busy…)")
        for message in events[self._cursor :]:
            self._show(message)
        self._cursor = len(events)

    def _show(self, message: SentMessage) -> None:
        if message.chat_id == self.customer.id:
            who = "🤖 Bot"
        elif message.chat_id == self.staff_chat:
            who = "👥 Staff chat"
        else:
            return
        edited = " (edited)" if message.edited else ""
        body = message.text or ""
        if message.photo:
            body = f"[photo] {body}".strip()
        if message.document:
            body = f"[file {message.document.get('file_name', '')}] {body}".strip()
        self.write(f"\n{who}{edited}:\n{body}")
        for number, (label, _data) in enumerate(message.buttons, start=1):
            self.write(f"  [{number}] {label}")
        for label in message.keyboard:
            hint = " (type !contact)" if "📱" in label or "phone" in label.lower() else ""
            self.write(f"  ⌨ {label}{hint}")


async def read_lines(prompt: str = "> ") -> str | None:
    """One line from the terminal without blocking the bot; None at end of input."""
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None
