"""What every CLI command shares: settings, services, and one-line errors.

A command's services are built as it uses them (see ``care.services``), so a light command
stays light; what a command needs beyond them it imports inside its own function.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console

from care.core.settings import MissingSetting, Settings
from care.services import Services, open_services

if TYPE_CHECKING:
    from care.customers import CustomerMatch

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)


def load_settings() -> Settings:
    """Settings from the environment and .env, or a one-line error."""
    try:
        settings = Settings()
    except Exception as exc:  # pydantic's message names the variable
        fail(f"configuration error: {exc}")
    if settings.faq_synonyms_file is not None:
        from care.faq import Lexicon, LexiconError

        try:
            Lexicon.load(settings.faq_synonyms_file)
        except LexiconError as exc:
            fail(f"CAREBOT_FAQ_SYNONYMS_FILE: {exc}")
    return settings


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one line in red and stop, instead of a traceback."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def run(coro_fn: Callable[[Services], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run an async command body with started services; known failures become one line."""

    async def body() -> T:
        async with services_for(settings or load_settings()) as services:
            return await coro_fn(services)

    try:
        return asyncio.run(body())
    except MissingSetting as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        sys.exit(130)


@asynccontextmanager
async def services_for(settings: Settings) -> AsyncIterator[Services]:
    """Started services without warming: a one-shot command builds only what it touches."""
    async with open_services(settings, warm=False) as services:
        yield services


async def one_customer(services: Services, query: str) -> CustomerMatch | str:
    """The one customer a query names, or a message listing the candidates."""
    matches = await services.customer_cards.find(query)
    if not matches:
        return f"no customer matches {query!r}"
    if len(matches) > 1:
        names = "; ".join(f"{m.code} {m.name}" for m in matches)
        return f"{len(matches)} customers match {query!r}, use the code: {names}"
    return matches[0]
