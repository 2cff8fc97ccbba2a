"""Segmentation benchmark: `carebot segment` over 1,000,000 customers and 10,000,000 orders.

Run from the repository root (the PostgreSQL part needs a server; DuckDB is the
``bench`` extra)::

    .venv/bin/python bench/bench_segment.py                       # full scale, all backends
    .venv/bin/python bench/bench_segment.py --customers 20000 --orders 200000 --no-record

The data are generated with numpy from a fixed seed and bulk-loaded once per scale into
``bench/data/generated/`` (SQLite file, CSV files, DuckDB file) and into a PostgreSQL
schema of their own; later runs reuse them (``--fresh`` rebuilds). Each timed step runs in
a child process, so its peak resident memory (ru_maxrss) is that step's alone.

What is timed is ``Segmentation.recompute`` exactly as the CLI and the nightly job run it
(aggregation of the orders in SQL, BG/NBD and Gamma-Gamma fits, CLV, NTILE scores, tiers
and changes with numpy, bulk write of customer_metrics and of the run's record), twice:
on a database without metrics (first run) and again with the metrics of the first run in
place (a nightly run, which also compares old and new tiers and segments). Data loaded by
an earlier version get the migrations since before the timing starts. The floor is the
same RFM + LTV + tier aggregation in DuckDB (bench/duckdb_floor.py) on the same rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = Path(__file__).with_name("RESULTS.md")
DATA_DIR = Path(__file__).with_name("data") / "generated"
AS_OF = date(2026, 11, 23)
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"

TARGET_SECONDS = 120.0
TARGET_FLOOR_FACTOR = 3.0
TARGET_PEAK_MB = 2048.0

REGIONS = (
    "Hà Nội",
    "TP. Hồ Chí Minh",
    "Đà Nẵng",
    "Hải Phòng",
    "Cần Thơ",
    "Bình Dương",
    "Đồng Nai",
    "Khánh Hoà",
    "Thừa Thiên Huế",
    "Quảng Ninh",
    "Nghệ An",
    "Lâm Đồng",
)
ORDER_STATUSES = ("delivered", "cancelled", "returned")
INQUIRY_STATUSES = ("open", "quoted", "converted", "lost")
STAMP = "2026-01-01 00:00:00.000000"

ORDER_COLUMNS = (
    "id",
    "code",
    "customer_id",
    "kind",
    "status",
    "placed_at",
    "amount",
    "margin",
    "discount",
    "created_at",
    "updated_at",
)
CUSTOMER_COLUMNS = (
    "id",
    "code",
    "kind",
    "name",
    "region",
    "language",
    "consent_telegram",
    "consent_email",
    "telegram_unreachable",
    "email_unreachable",
    "source",
    "created_at",
    "updated_at",
)


# --------------------------------------------------------------------------- data


def generate(customers: int, orders: int, seed: int) -> dict[str, np.ndarray]:
    """Customers and orders with a long-tailed value distribution, as shops see them.

    Each customer has a start and an end of activity within the three years before
    AS_OF and a lognormal propensity to buy, so a fifth of them bring most of the margin,
    some never buy (prospects), many have churned. About 8% of the rows are inquiries and
    6% of the orders were cancelled or returned.
    """
    rng = np.random.default_rng(seed)
    as_of = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 17, 0, tzinfo=UTC).timestamp()
    day = 86_400.0

    weight = rng.lognormal(0.0, 1.3, customers)
    start = as_of - rng.uniform(1.0, 1095.0, customers) * day
    end = np.minimum(start + rng.exponential(540.0, customers) * day, as_of - 60.0)
    organization = rng.random(customers) < 0.15
    region = rng.integers(0, len(REGIONS), customers)

    owner = rng.choice(customers, size=orders, p=weight / weight.sum()).astype(np.int64)
    placed = start[owner] + rng.random(orders) * (end[owner] - start[owner])
    placed = placed.astype(np.int64)
    order_by_time = np.argsort(placed, kind="stable")
    owner, placed = owner[order_by_time], placed[order_by_time]

    inquiry = rng.random(orders) < 0.08
    status = np.where(
        inquiry,
        rng.integers(0, len(INQUIRY_STATUSES), orders),
        rng.choice(len(ORDER_STATUSES), size=orders, p=[0.94, 0.04, 0.02]),
    )
    amount = rng.lognormal(np.log(900_000.0), 0.9, orders) * np.where(organization[owner], 5, 1)
    amount = (np.round(amount / 1000.0) * 1000.0).astype(np.int64)
    margin = np.round(amount * rng.uniform(0.08, 0.35, orders)).astype(np.int64)
    return {
        "customer_kind": organization.astype(np.int8),
        "customer_region": region.astype(np.int8),
        "order_customer": owner + 1,  # ids start at 1
        "order_placed": placed,
        "order_inquiry": inquiry.astype(np.int8),
        "order_status": status.astype(np.int8),
        "order_amount": amount,
        "order_margin": margin,
    }


def _customer_rows(data: dict[str, np.ndarray]) -> Any:
    kinds = ("individual", "organization")
    for i, (kind, region) in enumerate(
        zip(data["customer_kind"].tolist(), data["customer_region"].tolist(), strict=True),
        start=1,
    ):
        name = f"Công ty Khách {i}" if kind else f"Khách hàng {i}"
        yield (
            i,
            f"KH{i:07d}",
            kinds[kind],
            name,
            REGIONS[region],
            "vi",
            0,
            0,
            0,
            0,
            "import",
            STAMP,
            STAMP,
        )


def _order_rows(data: dict[str, np.ndarray]) -> Any:
    """(id, customer, kind, status, epoch, amount, margin); SQL builds code and times."""
    for i, (customer, inquiry, status, placed, amount, margin) in enumerate(
        zip(
            data["order_customer"].tolist(),
            data["order_inquiry"].tolist(),
            data["order_status"].tolist(),
            data["order_placed"].tolist(),
            data["order_amount"].tolist(),
            data["order_margin"].tolist(),
            strict=True,
        ),
        start=1,
    ):
        if inquiry:
            yield (i, customer, "inquiry", INQUIRY_STATUSES[status], placed, amount, margin)
        else:
            yield (i, customer, "order", ORDER_STATUSES[status], placed, amount, margin)


def _order_indexes(dialect_name: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of every secondary index on orders, from the models,
    so a load can drop them and build each once at the end."""
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.schema import CreateIndex

    from care.core.models import Order

    dialect = postgresql.dialect() if dialect_name == "postgresql" else sqlite.dialect()
    return [
        (str(index.name), str(CreateIndex(index).compile(dialect=dialect)))
        for index in sorted(Order.__table__.indexes, key=lambda i: str(i.name))
    ]


async def _create_schema(url: str, **engine: Any) -> None:
    from care.core.db import Database

    db = Database(url, **engine)
    try:
        await db.upgrade()
    finally:
        await db.dispose()


def load_sqlite(path: Path, data: dict[str, np.ndarray]) -> None:
    """Schema through the migrations, then rows with the sqlite3 module in big transactions.

    The secondary indexes on orders are dropped during the load and rebuilt after it,
    which is several times faster than maintaining them row by row.
    """
    path.unlink(missing_ok=True)
    asyncio.run(_create_schema(f"sqlite:///{path}"))
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    indexes = _order_indexes("sqlite")
    for name, _ in indexes:
        con.execute(f"DROP INDEX {name}")
    with con:
        con.executemany(
            f"INSERT INTO customers ({', '.join(CUSTOMER_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(CUSTOMER_COLUMNS))})",
            _customer_rows(data),
        )
    with con:
        con.executemany(
            "INSERT INTO orders (id, code, customer_id, kind, status, placed_at, amount, margin,"
            " discount, created_at, updated_at) VALUES (?1, 'DH' || printf('%09d', ?1), ?2, ?3,"
            " ?4, strftime('%Y-%m-%d %H:%M:%S.000000', ?5, 'unixepoch'), ?6, ?7, 0,"
            f" '{STAMP}', '{STAMP}')",
            _order_rows(data),
        )
    with con:
        for _, create in indexes:
            con.execute(create)
    con.execute("ANALYZE")
    con.close()


def write_csv(folder: Path, data: dict[str, np.ndarray]) -> None:
    """customers.csv and orders.csv (no header) with DuckDB, for PostgreSQL's COPY and DuckDB."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    customers = {  # noqa: F841 (read by DuckDB's replacement scan)
        "id": np.arange(1, data["customer_kind"].size + 1),
        "org": data["customer_kind"],
        "region": data["customer_region"],
    }
    orders = {  # noqa: F841
        "id": np.arange(1, data["order_customer"].size + 1),
        "customer_id": data["order_customer"],
        "inquiry": data["order_inquiry"],
        "status": data["order_status"],
        "placed": data["order_placed"],
        "amount": data["order_amount"],
        "margin": data["order_margin"],
    }
    regions = "[" + ", ".join(f"'{r}'" for r in REGIONS) + "]"
    con.execute(
        f"""COPY (SELECT id, 'KH' || lpad(CAST(id AS VARCHAR), 7, '0'),
                   CASE WHEN org = 1 THEN 'organization' ELSE 'individual' END,
                   CASE WHEN org = 1 THEN 'Công ty Khách ' ELSE 'Khách hàng ' END || id,
                   {regions}[region + 1], 'vi', false, false, false, false, 'import',
                   TIMESTAMPTZ '{STAMP}+00', TIMESTAMPTZ '{STAMP}+00'
                 FROM customers ORDER BY id)
           TO '{folder / "customers.csv"}' (HEADER false)"""
    )
    order_statuses = "[" + ", ".join(f"'{s}'" for s in ORDER_STATUSES) + "]"
    inquiry_statuses = "[" + ", ".join(f"'{s}'" for s in INQUIRY_STATUSES) + "]"
    con.execute(
        f"""COPY (SELECT id, 'DH' || lpad(CAST(id AS VARCHAR), 9, '0'), customer_id,
                   CASE WHEN inquiry = 1 THEN 'inquiry' ELSE 'order' END,
                   CASE WHEN inquiry = 1 THEN {inquiry_statuses}[status + 1]
                        ELSE {order_statuses}[status + 1] END,
                   to_timestamp(placed), amount, margin, 0,
                   TIMESTAMPTZ '{STAMP}+00', TIMESTAMPTZ '{STAMP}+00'
                 FROM orders ORDER BY id)
           TO '{folder / "orders.csv"}' (HEADER false)"""
    )
    con.close()


async def load_postgres(url: str, schema: str, folder: Path) -> None:
    """A schema of its own, the migrations, then COPY of the CSV files (indexes after)."""
    import asyncpg

    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    admin = await asyncpg.connect(plain)
    try:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await admin.close()
    await _create_schema(url, connect_args={"server_settings": {"search_path": schema}})
    con = await asyncpg.connect(plain, server_settings={"search_path": schema})
    try:
        indexes = _order_indexes("postgresql")
        for name, _ in indexes:
            await con.execute(f"DROP INDEX {name}")
        await con.copy_to_table(
            "customers",
            source=folder / "customers.csv",
            columns=list(CUSTOMER_COLUMNS),
            format="csv",
            schema_name=schema,
        )
        await con.copy_to_table(
            "orders",
            source=folder / "orders.csv",
            columns=list(ORDER_COLUMNS),
            format="csv",
            schema_name=schema,
        )
        for _, create in indexes:
            await con.execute(create)
        await con.execute("VACUUM ANALYZE customers")
        await con.execute("VACUUM ANALYZE orders")
        await con.execute(f"COMMENT ON SCHEMA \"{schema}\" IS 'loaded'")
    finally:
        await con.close()


async def postgres_loaded(url: str, schema: str) -> bool:
    import asyncpg

    try:
        con = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    except (OSError, asyncpg.PostgresError):
        return False
    try:
        note = await con.fetchval(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1",
            schema,
        )
        return note == "loaded"
    finally:
        await con.close()


def load_duckdb(path: Path, folder: Path) -> None:
    import duckdb

    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"""CREATE TABLE customers AS SELECT column00 AS id, column01 AS code, column02 AS kind,
                   column04 AS region, NULL::TIMESTAMPTZ AS erased_at
            FROM read_csv('{folder / "customers.csv"}', header = false)"""
    )
    con.execute(
        f"""CREATE TABLE orders AS SELECT column02 AS customer_id, column03 AS kind,
                   column04 AS status, CAST(column05 AS TIMESTAMPTZ) AS placed_at,
                   column06 AS amount, column07 AS margin
            FROM read_csv('{folder / "orders.csv"}', header = false)"""
    )
    con.close()


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Generate and load the data unless this scale is already there."""
    folder = DATA_DIR / f"segment-{args.customers}-{args.orders}-{args.seed}"
    folder.mkdir(parents=True, exist_ok=True)
    sqlite_path = folder / "carebot.db"
    duck_path = folder / "floor.duckdb"
    schema = f"bench_segment_{args.customers}_{args.orders}_{args.seed}"
    marker = folder / "complete"
    if args.fresh or not marker.exists():
        marker.unlink(missing_ok=True)
        started = time.perf_counter()
        data = generate(args.customers, args.orders, args.seed)
        print(f"generated in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        load_sqlite(sqlite_path, data)
        print(f"SQLite loaded in {time.perf_counter() - started:.1f} s", flush=True)
        write_csv(folder, data)
        del data
        load_duckdb(duck_path, folder)
        marker.write_text("ok\n")
    if "postgresql" in args.backends and (
        args.fresh or not asyncio.run(postgres_loaded(args.pg_url, schema))
    ):
        started = time.perf_counter()
        asyncio.run(load_postgres(args.pg_url, schema, folder))
        print(f"PostgreSQL loaded in {time.perf_counter() - started:.1f} s", flush=True)
    return {"folder": folder, "sqlite": sqlite_path, "duckdb": duck_path, "schema": schema}


def clean(args: argparse.Namespace) -> None:
    import shutil

    import asyncpg

    folder = DATA_DIR / f"segment-{args.customers}-{args.orders}-{args.seed}"
    shutil.rmtree(folder, ignore_errors=True)
    schema = f"bench_segment_{args.customers}_{args.orders}_{args.seed}"

    async def drop() -> None:
        con = await asyncpg.connect(args.pg_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await con.close()

    try:
        asyncio.run(drop())
    except OSError as exc:
        print(f"PostgreSQL not reachable, schema {schema} left as it is: {exc}")
    print(f"removed {folder} and schema {schema}")


# --------------------------------------------------------------------------- timed steps


def _rusage() -> dict[str, float]:
    """Peak resident memory and CPU time of this process so far.

    The peak is VmHWM from /proc/self/status where there is one: ru_maxrss survives
    exec on Linux, so a child would report its parent's peak (the generated arrays).
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_kb = float(usage.ru_maxrss)
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak_kb = float(line.split()[1])
    except OSError:
        pass
    return {"peak_mb": peak_kb / 1024.0, "cpu_seconds": usage.ru_utime + usage.ru_stime}


async def _recompute(url: str, schema: str | None, clear: bool) -> dict[str, Any]:
    from sqlalchemy import text

    from care.analytics.segmentation import Segmentation
    from care.core.db import Database
    from care.core.settings import Settings

    engine: dict[str, Any] = {}
    if schema:
        engine["connect_args"] = {"server_settings": {"search_path": schema}}
    db = Database(url, **engine)
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    try:
        # Data loaded by an earlier version of the schema gets the migrations since,
        # as every carebot command applies them (an index build, once, outside the timing).
        await db.upgrade()
        if clear:
            async with db.uow() as uow:
                await uow.session.execute(text("DELETE FROM classification_changes"))
                await uow.session.execute(text("DELETE FROM customer_metrics"))
                await uow.session.execute(text("DELETE FROM segmentation_runs"))
                await uow.commit()
        segmentation = Segmentation(db, settings)
        before = _rusage()
        started = time.perf_counter()
        summary = await segmentation.recompute(as_of=AS_OF)
        seconds = time.perf_counter() - started
        after = _rusage()
        started = time.perf_counter()
        await segmentation.kind_segment_counts()
        kind_seconds = time.perf_counter() - started
        async with db.uow() as uow:
            total_ltv = (
                await uow.session.execute(text("SELECT SUM(historical_ltv) FROM customer_metrics"))
            ).scalar_one()
    finally:
        await db.dispose()
    fit = summary.fit
    return {
        "seconds": seconds,
        "cpu_seconds": after["cpu_seconds"] - before["cpu_seconds"],
        "peak_mb": after["peak_mb"],
        "steps": summary.step_seconds,
        "step_cpu": summary.step_cpu_seconds,
        "kind_segments_seconds": kind_seconds,
        "buyers": summary.buyers,
        "tiers": summary.tiers,
        "total_ltv": int(total_ltv),
        "changes": summary.tier_changes + summary.segment_changes,
        "bgnbd": None
        if fit.bgnbd is None
        else [fit.bgnbd.r, fit.bgnbd.alpha, fit.bgnbd.a, fit.bgnbd.b, fit.bgnbd.log_likelihood],
        "gamma_gamma": None
        if fit.gamma_gamma is None
        else [fit.gamma_gamma.p, fit.gamma_gamma.q, fit.gamma_gamma.gamma],
    }


def child(argv: list[str]) -> int:
    """One timed step in this (fresh) process; prints its figures as JSON."""
    kind = argv[0]
    if kind == "recompute":
        url, schema, clear = argv[1], argv[2] or None, argv[3] == "clear"
        result = asyncio.run(_recompute(url, schema, clear))
    elif kind == "duckdb":
        from duckdb_floor import run_floor

        before = _rusage()
        result = run_floor(Path(argv[1]), AS_OF)
        after = _rusage()
        result.update(
            peak_mb=after["peak_mb"], cpu_seconds=after["cpu_seconds"] - before["cpu_seconds"]
        )
    else:
        raise SystemExit(f"unknown step {kind}")
    print("RESULT " + json.dumps(result))
    return 0


def _spawn(*argv: str) -> dict[str, Any]:
    process = subprocess.run(
        [sys.executable, __file__, "--child", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    for line in process.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"step {argv[0]} failed:\n{process.stdout}\n{process.stderr}")


# --------------------------------------------------------------------------- report


def _machine() -> str:
    model = "unknown model"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"; {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    sqlite_version = sqlite3.sqlite_version
    return (
        f"{platform.platform()}; {model}; {os.cpu_count()} CPUs{memory};"
        f" Python {platform.python_version()}; SQLite {sqlite_version}"
    )


def _load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--backends",
        default="sqlite,postgresql,duckdb",
        help="comma-separated: sqlite, postgresql, duckdb",
    )
    parser.add_argument("--pg-url", default=os.environ.get("CAREBOT_BENCH_PG_URL", PG_URL))
    parser.add_argument("--fresh", action="store_true", help="regenerate and reload the data")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument(
        "--clean",
        action="store_true",
        help="delete this scale's generated files and PostgreSQL schema, then stop",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if args.clean:
        clean(args)
        return 0

    paths = prepare(args)
    results: dict[str, Any] = {}
    load_before = _load()
    if "duckdb" in args.backends:
        results["duckdb"] = _spawn("duckdb", str(paths["duckdb"]))
        print(f"duckdb: {results['duckdb']['seconds']:.1f} s", flush=True)
    for backend in ("sqlite", "postgresql"):
        if backend not in args.backends:
            continue
        if backend == "sqlite":
            url, schema = f"sqlite:///{paths['sqlite']}", ""
        else:
            url, schema = args.pg_url, paths["schema"]
        for run, mode in (("first", "clear"), ("nightly", "keep")):
            key = f"{backend} {run}"
            results[key] = _spawn("recompute", url, schema, mode)
            print(f"{key}: {results[key]['seconds']:.1f} s", flush=True)
    lines = report(args, results, load_before)
    print("\n".join(lines))
    if not args.no_record:
        with RESULTS.open("a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        print(f"\nappended to {RESULTS}")
    return 0


def report(args: argparse.Namespace, results: dict[str, Any], load: str) -> list[str]:
    floor = results.get("duckdb", {}).get("seconds")
    lines = [
        "",
        f"## Segmentation recompute ({datetime.now():%Y-%m-%d %H:%M})",
        "",
        f"`.venv/bin/python bench/bench_segment.py --customers {args.customers}"
        f" --orders {args.orders}`",
        "",
        f"Machine: {_machine()}. Load average when starting: {load} (the machine is shared:",
        "wall time includes waiting for the CPU; CPU time is what the step itself used).",
        "",
        f"Data: {args.customers:,} customers, {args.orders:,} order rows (about 8% inquiries,"
        " 6% of orders cancelled or returned), generated with numpy, seed"
        f" {args.seed}; as of {AS_OF:%d/%m/%Y}.",
        "",
        "| step | wall s | CPU s | peak RSS MB | vs DuckDB | targets |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for key, r in results.items():
        ratio = f"{r['seconds'] / floor:.1f}x" if floor and key != "duckdb" else ""
        if key == "duckdb":
            target = "floor"
        else:
            ok_time = r["seconds"] <= TARGET_SECONDS
            ok_floor = floor is None or r["seconds"] <= TARGET_FLOOR_FACTOR * floor
            ok_mem = r["peak_mb"] <= TARGET_PEAK_MB
            target = ", ".join(
                [
                    f"<{TARGET_SECONDS:.0f} s {'met' if ok_time else 'MISSED'}",
                    f"<{TARGET_FLOOR_FACTOR:.0f}x DuckDB {'met' if ok_floor else 'MISSED'}",
                    f"<{TARGET_PEAK_MB / 1024:.0f} GB {'met' if ok_mem else 'MISSED'}",
                ]
            )
        lines.append(
            f"| {key} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} | {r['peak_mb']:.0f} |"
            f" {ratio} | {target} |"
        )
    lines.append("")
    for key, r in results.items():
        if key == "duckdb" or "steps" not in r:
            continue
        steps = ", ".join(
            f"{name} {sec:.1f} ({r['step_cpu'].get(name, 0):.1f})"
            for name, sec in r["steps"].items()
        )
        lines.append(
            f"- {key}, wall (CPU of this process) per step in s: {steps};"
            f" per-kind segments from stored metrics {r['kind_segments_seconds']:.1f} s;"
            f" changes recorded {r['changes']:,}"
        )
    for key, r in results.items():
        if r.get("bgnbd"):
            rr, alpha, a, b, ll = r["bgnbd"]
            p, q, gamma = r["gamma_gamma"] or (float("nan"),) * 3
            lines.append(
                f"- fits ({key}): BG/NBD r={rr:.3f} alpha={alpha:.3f} a={a:.3f} b={b:.3f}"
                f" (weeks, LL {ll:,.0f}); Gamma-Gamma p={p:.3f} q={q:.3f} gamma={gamma:,.0f}"
            )
            break
    checks = {k: (r.get("buyers"), r.get("total_ltv")) for k, r in results.items()}
    lines.append(f"- same result everywhere (buyers, total LTV): {checks}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
