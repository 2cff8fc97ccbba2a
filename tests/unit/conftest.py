"""The unit layer: pure functions of care/ and bot/, no database, no Telegram, no network.

Settings here name no real database, and every unit test runs with database connections
and network connections refused, so a test that needs either fails loudly and belongs in
tests/integration. tests/unit/test_layer.py checks that collecting this layer imports no
Telegram library, no database driver and no SMTP library.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from care.core.settings import Settings
from tests.builders import make_settings

MOVE_IT = "a unit test may not {what}: the test belongs in tests/integration"


class LayerViolation(RuntimeError):
    """A unit test reached for what only integration and end-to-end tests may use."""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a pure function: the SQLite file they name is never opened."""
    return make_settings(tmp_path)


@pytest.fixture(autouse=True)
def no_database_no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse, for the length of each unit test, to open a database connection or a socket."""

    def refuse_database(*args: Any, **kwargs: Any) -> None:
        raise LayerViolation(MOVE_IT.format(what="open a database connection"))

    def refuse_network(*args: Any, **kwargs: Any) -> None:
        raise LayerViolation(MOVE_IT.format(what="connect to a server"))

    # do_connect runs before every new DBAPI connection of every engine, sync or async.
    event.listen(Engine, "do_connect", refuse_database)
    monkeypatch.setattr(socket.socket, "connect", refuse_network)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse_network)
    try:
        yield
    finally:
        event.remove(Engine, "do_connect", refuse_database)
