"""The unit layer stays light: collecting it imports no Telegram library, no database driver
and no SMTP library, and a unit test that reaches for a database or a server is stopped.

SQLAlchemy imports a database driver (aiosqlite, asyncpg) only when an engine is created, so
"no driver imported" means "no engine made" while the unit tests were imported.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine

ROOT = Path(__file__).resolve().parents[2]
UNIT = Path(__file__).resolve().parent

FORBIDDEN = {
    "telegram": "python-telegram-bot",
    "bot.app": "the bot's Application",
    "scheduler": "the scheduler and its delivery channels",
    "aiosqlite": "the SQLite driver (imported when an engine is created)",
    "asyncpg": "the PostgreSQL driver (imported when an engine is created)",
    "aiosmtplib": "the SMTP client",
    "aiosmtpd": "the SMTP server",
}

# Collect in a fresh interpreter, then report every module that collecting imported.
PROBE = """
import json, sys
import pytest
code = pytest.main(["--collect-only", "-q", "-n", "0", "-p", "no:cacheprovider", *sys.argv[1:]])
print("MODULES " + json.dumps(sorted(sys.modules)))
sys.exit(int(code))
"""


def collect(*paths: str) -> tuple[str, set[str]]:
    """Collect ``paths`` in a fresh interpreter: pytest's output, and the modules imported."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    output, _, modules = done.stdout.rpartition("MODULES ")
    return output, set(json.loads(modules))


def imported(modules: set[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_collecting_the_unit_layer_imports_no_telegram_no_database_driver_no_smtp() -> None:
    output, modules = collect("tests/unit")

    collected = int(re.search(r"(\d+) tests? collected", output)[1])  # type: ignore[index]
    assert collected > 200, output
    test_modules = {f"tests.unit.{path.stem}" for path in UNIT.glob("test_*.py")}
    assert test_modules <= modules, test_modules - modules  # every unit test module was imported
    found = {name: why for name, why in FORBIDDEN.items() if imported(modules, name)}
    assert found == {}, f"collecting tests/unit imported {found}"


def test_the_probe_sees_what_collecting_the_end_to_end_layer_imports() -> None:
    _, modules = collect("tests/e2e")
    assert imported(modules, "telegram")
    assert imported(modules, "bot.app")


def test_creating_an_engine_imports_its_driver() -> None:
    code = (
        "import sys\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        "assert 'aiosqlite' not in sys.modules\n"
        "create_async_engine('sqlite+aiosqlite://')\n"
        "print('aiosqlite' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "True"


def test_a_unit_test_cannot_open_a_database() -> None:
    engine = create_engine("sqlite://")
    with pytest.raises(RuntimeError, match="belongs in tests/integration"):
        engine.connect()
    engine.dispose()


def test_a_unit_test_cannot_connect_to_a_server() -> None:
    with socket.socket() as server, socket.socket() as client:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with pytest.raises(RuntimeError, match="belongs in tests/integration"):
            client.connect(server.getsockname())
