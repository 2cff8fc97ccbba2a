"""Import benchmark: `carebot import customers` of a 200,000-row CSV file, time and memory.

Run from the repository root::

    .venv/bin/python bench/bench_import.py                       # 200,000 rows (~2 minutes)
    .venv/bin/python bench/bench_import.py --rows 20000 --no-record

The file is generated here (valid customers, Vietnamese names and regions, every required
and optional column). The command runs the way a shop runs it (the installed `carebot`
script) in a fresh process on a fresh SQLite file: the first run creates every customer,
the second updates every one (the export-edit-reimport case). Wall time and peak RSS come
from the kernel's accounting of that child alone (``os.wait4``).

Baseline, measured in the same run: a fresh Python process that only reads the same file
with the csv module, the floor of any import that looks at every row. Target: peak RSS
under 300 MB (it was 925 MB, and 52 s, when the whole file was held in memory).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).with_name("RESULTS.md")
TARGET_RSS_MB = 300.0
BEFORE = "52 s, 925 MB peak RSS (the whole file and every row's values held at once)"

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
MIDDLE = ["Văn", "Thị", "Minh", "Ngọc", "Hữu", "Thanh", "Quốc", "Thu"]
GIVEN = ["An", "Bình", "Châu", "Dũng", "Hà", "Lan", "Mai", "Nam", "Phúc", "Trang", "Vy"]
REGIONS = ["Hà Nội", "TP. Hồ Chí Minh", "Đà Nẵng", "Hải Phòng", "Cần Thơ", "Huế"]
HEADER = [
    "code",
    "kind",
    "name",
    "phone",
    "email",
    "birthday",
    "region",
    "language",
    "contact_person",
    "address",
    "occupation",
    "size",
    "marketing_consent",
]
BASELINE = (
    "import csv, sys\n"
    "with open(sys.argv[1], encoding='utf-8-sig', newline='') as f:\n"
    "    for _ in csv.reader(f):\n"
    "        pass\n"
)


def write_customers(path: Path, rows: int, seed: int = 20261202) -> None:
    """``rows`` valid customers; a tenth are organisations, with a contact person."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            company = n % 10 == 0
            name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            writer.writerow(
                [
                    f"KH{n:07d}",
                    "organization" if company else "individual",
                    f"Công ty TNHH {rng.choice(GIVEN)} {n}" if company else name,
                    f"09{n:08d}",
                    f"khach{n}@example.com" if n % 3 else "",
                    f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    rng.choice(REGIONS),
                    "en" if n % 20 == 0 else "vi",
                    name if company else "",
                    f"{rng.randint(1, 300)} Đường Lê Lợi, {rng.choice(REGIONS)}",
                    "Kinh doanh" if company else "",
                    str(rng.randint(1, 50)) if company else str(rng.randint(1, 6)),
                    "có" if n % 2 else "không",
                ]
            )


def measure(argv: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one process, from spawn to exit."""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    out, err = process.communicate()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{out.decode()}{err.decode()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # KB on Linux


def carebot_script() -> str:
    script = Path(sys.executable).with_name("carebot")
    if not script.exists():
        raise SystemExit(f"{script} is missing: install the project first (pip install -e .)")
    return str(script)


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
        f"figure, the baseline as much as the import; peak RSS does not depend on it)"
    )


def main(rows: int, record: bool) -> None:
    load_at_start = os.getloadavg()[0]
    carebot = carebot_script()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        path = work / "customers.csv"
        write_customers(path, rows)
        size_mb = path.stat().st_size / (1024 * 1024)
        print(f"{rows:,} rows, {size_mb:.1f} MB")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAREBOT_")}
        env["CAREBOT_DATABASE_URL"] = f"sqlite:///{work / 'bench.db'}"
        # The schema first, so the import's figures are the import's alone.
        measure([carebot, "staff", "list"], env, work)
        figures = [
            (
                "`python` reading the file with the csv module (baseline)",
                measure([sys.executable, "-c", BASELINE, str(path)], env, work),
            ),
            (
                "`carebot import customers`, every row new",
                measure([carebot, "import", "customers", str(path)], env, work),
            ),
            (
                "`carebot import customers`, the same file again (every row updated)",
                measure([carebot, "import", "customers", str(path)], env, work),
            ),
        ]
    base_wall = figures[0][1][0]
    worst_rss = max(rss for _, (_, _, rss) in figures[1:])
    verdict = "met" if worst_rss < TARGET_RSS_MB else "MISSED"
    for label, (wall, cpu, rss) in figures:
        print(
            f"  {label}: {wall:.2f} s wall ({wall / base_wall:.0f}x baseline), "
            f"{cpu:.2f} s CPU, {rss:.0f} MB peak RSS"
        )
    print(
        f"peak RSS {worst_rss:.0f} MB (target < {TARGET_RSS_MB:.0f} MB): {verdict}; "
        f"before: {BEFORE}"
    )
    if record:
        append(rows, size_mb, figures, worst_rss, verdict, load_at_start)


def append(
    rows: int,
    size_mb: float,
    figures: list[tuple[str, tuple[float, float, float]]],
    worst_rss: float,
    verdict: str,
    load_at_start: float,
) -> None:
    base_wall = figures[0][1][0]
    lines = [
        "",
        f"## Customer import ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"`.venv/bin/python bench/bench_import.py --rows {rows}`",
        "",
        f"Machine: {machine(load_at_start)}",
        "",
        f"File: {rows:,} customers, every column, {size_mb:.1f} MB of CSV; SQLite in a "
        "temporary directory. Each line a fresh process; wall time from spawn to exit, CPU "
        "time (user + system) and peak RSS of that child.",
        "",
        "| command | wall | CPU | peak RSS | vs baseline wall |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, (wall, cpu, rss) in figures:
        lines.append(
            f"| {label} | {wall:.1f} s | {cpu:.1f} s | {rss:.0f} MB | {wall / base_wall:.0f}x |"
        )
    lines += [
        "",
        f"Target: peak RSS < {TARGET_RSS_MB:.0f} MB: {worst_rss:.0f} MB, {verdict}. "
        f"Before: {BEFORE}.",
    ]
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    print(f"appended to {RESULTS}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    arguments = parser.parse_args()
    main(arguments.rows, not arguments.no_record)
