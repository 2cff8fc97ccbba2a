"""A command group that imports a sub-command's module only when that command is used.

`carebot --help` lists every area of the CLI, but importing the areas would import what
they use: the bot (python-telegram-bot, aiohttp), the models (numpy, scipy), the charts
(matplotlib). So the root knows each area by name, module and one line of help, shows the
list from that alone, and imports an area's module when the command line names it, to run
it or to show its own help.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """An area of the CLI, known by name without importing it.

    ``target`` is ``"module:attribute"``: a ``typer.Typer`` (a group of commands) or a
    command function. ``help`` is what the root's listing shows; it must be the first
    paragraph of the target's own help (a test keeps the two equal).
    """

    name: str
    target: str
    help: str


class LazyGroup(TyperGroup):
    """A Typer group whose sub-commands are ``LazyCommand``s, listed without importing.

    Subclasses name their commands in ``lazy_commands``. Until a command is resolved from
    the command line it is a placeholder carrying only its name and help: that is all
    listing, suggestions and shell completion need.
    """

    lazy_commands: ClassVar[tuple[LazyCommand, ...]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._unloaded = {entry.name: entry for entry in self.lazy_commands}
        for entry in self.lazy_commands:
            self.commands[entry.name] = TyperCommand(
                name=entry.name, help=entry.help, rich_markup_mode=self.rich_markup_mode
            )

    def resolve_command(
        self, ctx: typer.Context, args: list[str]
    ) -> tuple[str | None, Any, list[str]]:
        if args and args[0] in self._unloaded:
            self.load(args[0])
        return super().resolve_command(ctx, args)

    def load(self, name: str) -> Any:
        """Import the command's module and put the real command in place of the placeholder."""
        entry = self._unloaded.pop(name, None)
        if entry is not None:
            module_name, _, attribute = entry.target.partition(":")
            target = getattr(importlib.import_module(module_name), attribute)
            self.commands[name] = _click_command(target, name)
        return self.commands[name]


def _click_command(target: Any, name: str) -> Any:
    """The Click command Typer builds for a sub-app or a command function, named ``name``."""
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command
