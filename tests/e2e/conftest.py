"""End to end: the real Application, built by the composition root, long polling the sandbox
Bot API server over HTTP on 127.0.0.1, and the people who talk to it. The database, settings
and clock come from tests/conftest.py."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest

from bot.app import build_application, care_programme
from bot.runner import running
from bot.sandbox import Limits, SandboxServer, SentMessage
from bot.sandbox.people import Person
from care.core.db import Database
from care.core.models import Staff
from care.core.settings import Settings
from care.services import Services, build_services
from tests.builders import Clock


class Harness:
    """The bot running against the sandbox, and the people who talk to it."""

    def __init__(
        self,
        sandbox: SandboxServer,
        services: Services,
        settings: Settings,
        *,
        programme: bool = False,
    ) -> None:
        self.sandbox = sandbox
        self.services = services
        self.settings = settings
        self.programme = programme  # the care programme runs beside the bot, as in `carebot run`
        self.staff_chat: int = settings.staff_chat_id  # type: ignore[assignment]
        self._ids = itertools.count(5_000_001)
        self._stack: AsyncExitStack | None = None
        self.application: Any = None

    async def start(self) -> None:
        """Build a fresh Application on the same database and start it polling."""
        hooks = care_programme(self.services) if self.programme else {}
        self.application = build_application(self.settings, self.services, **hooks)
        self._stack = AsyncExitStack()
        await self._stack.enter_async_context(
            running(self.application, self.services, poll_timeout=1)
        )

    async def stop(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None

    async def restart(self) -> None:
        """Stop the bot as a deploy or a crash-free restart would, and start a new one."""
        await self.stop()
        await self.start()

    def customer(
        self, first_name: str = "Lan", *, language: str | None = "vi", user_id: int | None = None
    ) -> Person:
        """A Telegram user who has opened a chat with the bot."""
        user = self.sandbox.add_user(user_id or next(self._ids), first_name, language_code=language)
        return Person(self.sandbox, user)

    async def staff_member(
        self, first_name: str = "Minh", *, role: str = "agent", registered: bool = True
    ) -> Person:
        """A member of the staff chat; registered as staff in the database unless told not."""
        person = self.customer(first_name)
        self.sandbox.add_member(self.staff_chat, person.user)
        if registered:
            async with self.services.db.uow() as uow:
                uow.session.add(Staff(telegram_user_id=person.id, name=first_name, role=role))
                await uow.commit()
        return person

    async def next_staff_message(self, *, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109
        return await self.sandbox.wait_for(self.staff_chat, timeout=timeout)


@pytest.fixture
async def bot(settings: Settings, database: Database, clock: Clock) -> AsyncIterator[Harness]:
    """The real Application, long polling the sandbox over HTTP on 127.0.0.1.

    The sandbox keeps Telegram's flood limits, so a bot that would be throttled in
    production is throttled here too.
    """
    async with _harness(settings, database, clock) as harness:
        yield harness


@pytest.fixture
async def programme_bot(settings: Settings, database: Database) -> AsyncIterator[Harness]:
    """The bot with its care programme (scheduler, outbox dispatcher, web server on a
    free port) as `carebot run` runs them, against the sandbox with Telegram's limits.

    On the real clock and without quiet hours, so that a command run in another process
    (which knows no test clock) agrees with the bot on what is due.
    """
    settings = settings.model_copy(
        update={"web_port": 0, "quiet_hours_start": "00:00", "quiet_hours_end": "00:00"}
    )
    async with _harness(settings, database, None, programme=True) as harness:
        yield harness


@asynccontextmanager
async def _harness(
    settings: Settings, database: Database, clock: Clock | None, *, programme: bool = False
) -> AsyncIterator[Harness]:
    async with SandboxServer(limits=Limits()) as sandbox:
        settings = settings.model_copy(
            update={
                "telegram_base_url": sandbox.base_url,
                "telegram_base_file_url": sandbox.base_file_url,
            }
        )
        sandbox.add_group(settings.staff_chat_id, "Nhóm chăm sóc khách hàng")
        if clock is None:
            services = build_services(settings, database=database)
        else:
            services = build_services(settings, database=database, clock=clock)
        harness = Harness(sandbox, services, settings, programme=programme)
        await harness.start()
        try:
            yield harness
        finally:
            await harness.stop()
