"""`carebot --help` and the light commands start without loading the heavy libraries.

Each probe runs the real `carebot` entry point in a fresh Python process and reports, after
every command line, which of the heavy libraries that process has imported so far.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import CarebotCommands

HEAVY = ("numpy", "scipy", "matplotlib", "telegram", "aiohttp")

PROBE = """
import json, sys
from bot.cli import main

heavy, lines, out_path, report = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], []
for argv in lines:
    sys.argv = ["carebot", *argv]
    try:
        main()
        code = 0
    except SystemExit as stop:
        code = stop.code or 0
    report.append({"argv": argv, "code": code, "heavy": [m for m in heavy if m in sys.modules]})
with open(out_path, "w") as out:
    json.dump(report, out)
"""


def probe(tmp_path: Path, *command_lines: list[str]) -> list[dict]:
    """Run the command lines one after the other in one fresh process, on a fresh SQLite."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")}
    env["CAREBOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'fresh.db'}"
    result_file = tmp_path / "probe.json"
    subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            json.dumps(HEAVY),
            json.dumps(command_lines),
            str(result_file),
        ],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return json.loads(result_file.read_text())


def test_help_and_the_light_commands_load_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    areas = [entry.name for entry in CarebotCommands.lazy_commands]
    lines = [
        ["--help"],
        ["staff", "list"],
        ["staff", "add", "5001", "--name", "Minh"],
        ["db", "upgrade"],
        *([area, "--help"] for area in areas),
    ]
    report = probe(tmp_path, *lines)

    assert [step["code"] for step in report] == [0] * len(lines)
    assert [(step["argv"], step["heavy"]) for step in report] == [(line, []) for line in lines]


def test_adding_an_faq_entry_loads_only_the_faq_index(tmp_path: Path) -> None:
    """`faq add` rebuilds the FAQ index (numpy arrays) to mark the questions it now answers."""
    (step,) = probe(tmp_path, ["faq", "add", "--question", "Giờ mở cửa?", "--answer", "8h-21h"])

    assert step["code"] == 0
    assert step["heavy"] == ["numpy"]


@pytest.mark.parametrize("entry", CarebotCommands.lazy_commands, ids=lambda e: e.name)
def test_the_root_lists_each_area_with_the_help_the_area_gives_itself(entry) -> None:
    group = CarebotCommands(name="carebot")
    listed = group.commands[entry.name].help

    command = group.load(entry.name)
    first_paragraph = inspect.cleandoc(command.help or "").split("\n\n")[0].replace("\n", " ")

    assert listed == entry.help == first_paragraph
    assert command.name == entry.name


def test_a_mistyped_area_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")}
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "staf", "list"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert "No such command 'staf'" in done.stderr and "'staff'" in done.stderr
