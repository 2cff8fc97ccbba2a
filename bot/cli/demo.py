"""`carebot demo`: the whole system on this machine with nothing configured.

A demo SQLite database is created and seeded, the sandbox Bot API server starts on
127.0.0.1, and the real bot and scheduler run against it. You chat as a demo customer in
the terminal; e-mails land as .eml files in the demo's outbox folder.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.common import console

if TYPE_CHECKING:
    from care.services import Services

DEMO_TOKEN = "1000001:DEMO-carebot"  # noqa: S105 - the demo sandbox's token, not a credential
DEMO_USER_ID = 100_001
DEMO_STAFF_ID = 200_001
STAFF_CHAT_ID = -100_777
DEMO_PHONE = "+84901234567"


def demo(
    script: Path | None = typer.Option(
        None, "--script", exists=True, dir_okay=False, help="Play the lines of FILE, then exit."
    ),
    language: str = typer.Option("vi", help="The demo customer's Telegram language (vi, en)."),
    directory: Path = typer.Option(
        Path("carebot-demo"), "--dir", help="Where the demo database and outbox live."
    ),
) -> None:
    """Chat with the bot as a demo customer, in the terminal, with nothing configured."""
    lines = script.read_text(encoding="utf-8").splitlines() if script else None
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    asyncio.run(_demo(lines, language, directory))


async def _demo(lines: list[str] | None, language: str, directory: Path) -> None:
    from bot.app import build_application, care_programme
    from bot.demo import HELP, DemoChat, read_lines
    from bot.runner import running
    from bot.sandbox import Limits, SandboxServer
    from bot.sandbox.people import Person
    from care.core.settings import Settings
    from care.io import DEMO_SYNONYMS
    from care.services import build_services

    async with SandboxServer(limits=Limits()) as sandbox:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=f"sqlite+aiosqlite:///{directory / 'demo.db'}",
            telegram_token=DEMO_TOKEN,  # type: ignore[arg-type]
            telegram_base_url=sandbox.base_url,
            telegram_base_file_url=sandbox.base_file_url,
            staff_chat_id=STAFF_CHAT_ID,
            outbox_dir=directory / "outbox",
            web_port=0,  # the console and the unsubscribe page on any free port, printed below
            shop_name="Điện máy Sao Mai",
            faq_synonyms_file=DEMO_SYNONYMS,
        )
        services = build_services(settings)
        await _prepare(services)

        customer = Person(sandbox, sandbox.add_user(DEMO_USER_ID, "Lan", language_code=language))
        staff = Person(sandbox, sandbox.add_user(DEMO_STAFF_ID, "Minh", language_code="vi"))
        sandbox.add_group(STAFF_CHAT_ID, "CareBot – nhóm chăm sóc khách hàng")
        sandbox.add_member(STAFF_CHAT_ID, staff.user)

        application = build_application(settings, services, **care_programme(services))
        chat = DemoChat(sandbox, customer, staff, STAFF_CHAT_ID, DEMO_PHONE, write=_print)
        async with running(application, services, poll_timeout=1):
            await _show_console(application, services)
            await chat.settle(quiet=0.2, first=0)
            if lines is not None:
                for line in lines:
                    _print(f"\n> {line}")
                    if not await chat.play(line):
                        break
            else:
                console.print(
                    "[bold]CareBot demo[/bold]: you are Lan, a customer. "
                    "Type a message, a number to press a button, !help for more."
                )
                _print(HELP)
                while (line := await read_lines()) is not None:
                    if not await chat.play(line):
                        break
        console.print(f"\n[dim]Demo data in {directory}/ (e-mails in {directory}/outbox)[/dim]")


async def _prepare(services: Services) -> None:
    """Schema, demo data and the demo staff member (registering again is harmless)."""
    await services.start()
    await services.seed_demo()
    await services.staff.add(DEMO_STAFF_ID, "Minh", "manager")


async def _show_console(application: Any, services: Services) -> None:
    """The web console's address and a one-time sign-in link for the demo manager."""
    web = application.bot_data.get("care_web")
    if web is None:
        return
    services.settings.public_base_url = web.url  # links point at this server
    link = await services.console.login_link(DEMO_STAFF_ID)
    console.print(f"[bold]Web console[/bold]: {web.url}/console/", highlight=False)
    console.print(
        f"Sign in as Minh (manager), once, within 15 minutes: {link}",
        highlight=False,
        soft_wrap=True,
    )


def _print(text: str) -> None:
    console.print(text, highlight=False, markup=False, soft_wrap=True)
