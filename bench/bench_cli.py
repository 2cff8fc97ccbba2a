"""CLI start-up benchmark: wall time and memory of `carebot --help` and `carebot staff list`.

Run from the repository root::

    .venv/bin/python bench/bench_cli.py                  # 9 rounds (~1 minute)
    .venv/bin/python bench/bench_cli.py --rounds 3 --no-record

Each figure is a fresh process started the way a shop starts it (the installed `carebot`
script) and timed from spawn to exit; its peak RSS comes from the kernel's accounting of
that child alone (``os.wait4``). The baseline, measured in the same run, is the floor every
Typer command pays: ``python -c "import typer, rich"``. Target: `carebot --help` at most 4x
the baseline's wall time.

`staff list` runs on a fresh SQLite file each round (so it creates the schema through the
migrations) and again on the database it just created (the everyday case). For reference,
the run also times importing what every command imported before areas loaded lazily (the
bot, the models, the charts, the scheduler).

The rounds interleave the commands, and the medians count, so that a pause of the shared
machine does not land on one command only.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).with_name("RESULTS.md")
TARGET_RATIO = 4.0
EVERYTHING = "import bot.app, care.faq, care.analytics, scheduler.setup"


def measure(argv: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one process, from spawn to exit."""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {process.stderr.read().decode()}")
    process.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # KB on Linux


def carebot_script() -> str:
    script = Path(sys.executable).with_name("carebot")
    if not script.exists():
        raise SystemExit(f"{script} is missing: install the project first (pip install -e .)")
    return str(script)


def run(rounds: int) -> dict[str, list[tuple[float, float, float]]]:
    carebot = carebot_script()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")}
    figures: dict[str, list[tuple[float, float, float]]] = {
        "baseline": [],
        "help": [],
        "staff_fresh": [],
        "staff_again": [],
        "everything": [],
    }
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for n in range(rounds):
            db_env = {**env, "CAREBOT_DATABASE_URL": f"sqlite:///{work / f'fresh{n}.db'}"}
            figures["baseline"].append(
                measure([sys.executable, "-c", "import typer, rich"], env, work)
            )
            figures["help"].append(measure([carebot, "--help"], env, work))
            figures["staff_fresh"].append(measure([carebot, "staff", "list"], db_env, work))
            figures["staff_again"].append(measure([carebot, "staff", "list"], db_env, work))
            figures["everything"].append(measure([sys.executable, "-c", EVERYTHING], env, ROOT))
            print(
                f"round {n + 1}/{rounds}: "
                + ", ".join(f"{name} {runs[-1][0]:.2f} s" for name, runs in figures.items())
            )
    return figures


def medians(runs: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """Median wall seconds, CPU seconds and peak RSS (MB)."""
    return tuple(statistics.median(r[i] for r in runs) for i in range(3))  # type: ignore[return-value]


def machine(load_at_start: float) -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.platform()}; {model or platform.machine()}; {os.cpu_count()} CPUs; "
        f"Python {platform.python_version()}; load average at the start {load_at_start:.1f}, "
        f"at the end {os.getloadavg()[0]:.1f} (the machine is shared: other work slows every "
        f"figure, the baseline as much as the commands)"
    )


def main(rounds: int, record: bool) -> None:
    load_at_start = os.getloadavg()[0]
    figures = run(rounds)
    base_wall, base_cpu, base_rss = medians(figures["baseline"])
    help_wall, help_cpu, help_rss = medians(figures["help"])
    ratio = help_wall / base_wall
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"

    def versus(name: str) -> str:
        wall, cpu, _ = medians(figures[name])
        return f"{wall / base_wall:.1f}x wall, {cpu / base_cpu:.1f}x CPU"

    rows = [
        ('`python -c "import typer, rich"` (baseline)', figures["baseline"], ""),
        (
            "`carebot --help`",
            figures["help"],
            f"≤ {TARGET_RATIO:.0f}x baseline wall: {ratio:.1f}x, {verdict} "
            f"({help_cpu / base_cpu:.1f}x CPU)",
        ),
        (
            "`carebot staff list`, fresh SQLite file (runs the migrations)",
            figures["staff_fresh"],
            versus("staff_fresh"),
        ),
        ("`carebot staff list`, same file again", figures["staff_again"], versus("staff_again")),
        (
            f"reference: importing what every command imported before (`{EVERYTHING}`)",
            figures["everything"],
            versus("everything"),
        ),
    ]
    print(f"\nmedians of {rounds} rounds:")
    for label, runs, note in rows:
        wall, cpu, rss = medians(runs)
        print(f"  {label}: {wall:.3f} s wall, {cpu:.3f} s CPU, {rss:.0f} MB  {note}")
    print(
        f"--help / baseline = {ratio:.2f} (target ≤ {TARGET_RATIO:.0f}): {verdict}; "
        f"RSS {help_rss:.0f} MB vs {base_rss:.0f} MB"
    )
    if record:
        append(rounds, rows, load_at_start)


def append(rounds: int, rows: list, load_at_start: float) -> None:
    lines = [
        "",
        f"## CLI start-up ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"`.venv/bin/python bench/bench_cli.py --rounds {rounds}`",
        "",
        f"Machine: {machine(load_at_start)}",
        "",
        f"Each command a fresh process (the installed `carebot` script); median of {rounds} "
        "interleaved rounds: wall time from spawn to exit, CPU time (user + system) and peak "
        "RSS of that child. CPU time suffers less than wall time from the shared machine.",
        "",
        "| command | wall | CPU | peak RSS | wall of each run, s | target / vs baseline |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]
    for label, runs, note in rows:
        wall, cpu, rss = medians(runs)
        spread = ", ".join(f"{r[0]:.2f}" for r in runs)
        lines.append(f"| {label} | {wall:.3f} s | {cpu:.3f} s | {rss:.0f} MB | {spread} | {note} |")
    lines.append("")
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines))
    print(f"appended to {RESULTS}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    arguments = parser.parse_args()
    main(arguments.rounds, not arguments.no_record)
