"""Console benchmark: customer search and the dashboard over 100,000 customers.

Run from the repository root (PostgreSQL when a server answers at the URL given)::

    .venv/bin/python bench/bench_console.py                        # SQLite and PostgreSQL
    .venv/bin/python bench/bench_console.py --customers 20000 --no-record

100,000 customers with Vietnamese names, phones, e-mails, regions and tiers, 2,000
tickets, 5,000 answered surveys and 20,000 outbox rows are generated from a fixed seed and
bulk-inserted into a fresh database. What is timed is the whole request as a browser makes
it, through the console's ASGI app in this process (httpx's ASGI transport, as the route
tests use): the session and its staff member looked up, the care service, the page
rendered. Search mixes what staff type: a phone in several formats, a name without
diacritics, a customer code, an e-mail address, and a filter by tier.

Targets: search p95 < 150 ms, dashboard p95 < 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from care.core.db import Database, create_engine  # noqa: E402
from care.core.models import (  # noqa: E402
    Complaint,
    Customer,
    CustomerMetrics,
    OutboxMessage,
    Survey,
)
from care.core.settings import Settings, async_database_url  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS.md")
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_SEARCH_MS = 150.0
TARGET_DASHBOARD_MS = 300.0
MANAGER = 777_001
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ")
MIDDLE = ("Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh", "Đức", "Thu", "Quang", "Hoài")
GIVEN = (
    "Lan", "Bình", "Hùng", "Mai", "Tuấn", "Hương", "Dũng", "Linh", "Nam", "Hạnh", "Phương",
    "Sơn", "Trang", "Khoa", "Yến", "Quân", "Thảo", "Long", "Vy", "Đạt", "Nhung", "Hải",
)  # fmt: skip
REGIONS = ("Hà Nội", "TP. Hồ Chí Minh", "Đà Nẵng", "Hải Phòng", "Cần Thơ", "Huế")
TIERS = ("diamond", "gold", "silver", "member")
FOLDED_FAMILY = ("tran", "le", "pham")
FOLDED_GIVEN = ("hung", "mai", "son")


def rows(count: int, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    customers, metrics = [], []
    for i in range(1, count + 1):
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        customers.append(
            {
                "id": i,
                "code": f"KH{i:06d}",
                "kind": "individual" if rng.random() < 0.9 else "organization",
                "name": name,
                "phone": f"+849{i:08d}",
                "email": f"khach{i}@example.com",
                "region": rng.choice(REGIONS),
                "language": "vi",
                "consent_telegram": rng.random() < 0.6,
                "consent_email": rng.random() < 0.5,
                "telegram_unreachable": False,
                "email_unreachable": False,
                "source": "import",
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
        metrics.append(
            {
                "customer_id": i,
                "as_of": date(2026, 11, 23),
                "frequency": rng.randint(1, 20),
                "monetary": rng.randint(1, 500) * 100_000,
                "tier": rng.choices(TIERS, (1, 4, 15, 80))[0],
                "segment": rng.choice(("champions", "loyal", "at_risk", "hibernating")),
                "historical_ltv": rng.randint(1, 500) * 100_000,
                "computed_at": NOW,
            }
        )
    complaints = [
        {
            "id": i,
            "code": f"KN-{i:06d}",
            "customer_id": rng.randint(1, count),
            "category": "delivery",
            "severity": "medium",
            "status": rng.choice(("open", "claimed", "resolved", "resolved", "resolved")),
            "tier": "member",
            "first_response_due": NOW + timedelta(hours=rng.randint(-10, 10)),
            "resolution_due": NOW + timedelta(hours=rng.randint(-10, 40)),
            "created_at": NOW - timedelta(days=rng.randint(0, 150)),
            "updated_at": NOW,
        }
        for i in range(1, 2_001)
    ]
    surveys = [
        {
            "customer_id": rng.randint(1, count),
            "trigger": "delivery",
            "status": "answered",
            "csat": rng.randint(1, 5),
            "nps": rng.randint(0, 10),
            "created_at": NOW - timedelta(days=rng.randint(0, 170)),
            "answered_at": NOW - timedelta(days=rng.randint(0, 170)),
        }
        for _ in range(5_000)
    ]
    outbox = [
        {
            "idempotency_key": f"bench:{i}",
            "customer_id": rng.randint(1, count),
            "category": "marketing",
            "channel": "telegram",
            "recipient": "1",
            "template": "campaign",
            "body": "Ưu đãi",
            "status": rng.choice(("sent", "sent", "sent", "pending", "failed", "skipped")),
            "attempts": 0,
            "next_attempt_at": NOW,
            "created_at": NOW,
        }
        for i in range(20_000)
    ]
    return {
        "customers": customers,
        "metrics": metrics,
        "complaints": complaints,
        "surveys": surveys,
        "outbox": outbox,
    }


async def load(db: Database, data: dict[str, list[dict[str, Any]]]) -> None:
    tables = (
        (Customer, "customers"),
        (CustomerMetrics, "metrics"),
        (Complaint, "complaints"),
        (Survey, "surveys"),
        (OutboxMessage, "outbox"),
    )
    for model, key in tables:
        batch = data[key]
        valid = {c.key for c in model.__table__.columns}
        cleaned = [{k: v for k, v in row.items() if k in valid} for row in batch]
        for start in range(0, len(cleaned), 5_000):
            async with db.uow() as uow:
                await uow.session.execute(insert(model), cleaned[start : start + 5_000])
                await uow.commit()
    if db.dialect == "postgresql":
        async with db.uow() as uow:
            await uow.session.execute(text("ANALYZE"))
            await uow.commit()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def measure(settings: Settings, count: int) -> dict[str, Any]:
    from bot.app import build_application
    from care.services import build_services
    from web.app import create_app

    services = build_services(settings, clock=lambda: NOW)
    await services.start()
    try:
        started = time.perf_counter()
        await load(services.db, rows(count))
        load_seconds = time.perf_counter() - started
        await services.staff.add(MANAGER, "Bench", "manager")
        app = create_app(services, build_application(settings, services))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            link = await services.console.login_link(MANAGER)
            assert link is not None
            token = link.split("token=")[1]
            response = await client.post("/console/login", data={"token": token})
            assert response.status_code == 303, response.text
            rng = random.Random(11)
            queries: list[dict[str, str]] = []
            for _ in range(10):
                i = rng.randint(1, count)
                queries += [
                    {"q": f"09{i:08d}"},
                    {"q": f"+84 9{i:08d}"[:7] + " " + f"{i:08d}"[2:]},
                    {"q": f"KH{i:06d}"},
                    {"q": f"khach{i}@example.com"},
                    {"q": "nguyen thi lan"},
                    {"q": f"{rng.choice(FOLDED_FAMILY)} {rng.choice(FOLDED_GIVEN)}"},
                    {"tier": "diamond"},
                ]
            for warm in queries[:5]:
                await client.get("/console/customers", params=warm)
            search = []
            for params in queries:
                t0 = time.perf_counter()
                page = await client.get("/console/customers", params=params)
                search.append((time.perf_counter() - t0) * 1000)
                assert page.status_code == 200
            await client.get("/console/")
            dashboard = []
            for _ in range(30):
                t0 = time.perf_counter()
                page = await client.get("/console/")
                dashboard.append((time.perf_counter() - t0) * 1000)
                assert page.status_code == 200
    finally:
        await services.close()
    return {
        "load_seconds": load_seconds,
        "search": search,
        "dashboard": dashboard,
    }


def describe(name: str, figures: dict[str, Any]) -> list[str]:
    s, d = figures["search"], figures["dashboard"]
    s95, d95 = percentile(s, 0.95), percentile(d, 0.95)
    return [
        f"| {name}: customer search ({len(s)} requests) | p50 {statistics.median(s):.0f} ms, "
        f"p95 {s95:.0f} ms, max {max(s):.0f} ms | p95 < {TARGET_SEARCH_MS:.0f} ms: "
        f"{'met' if s95 < TARGET_SEARCH_MS else 'MISSED'} |",
        f"| {name}: dashboard ({len(d)} requests) | p50 {statistics.median(d):.0f} ms, "
        f"p95 {d95:.0f} ms, max {max(d):.0f} ms | p95 < {TARGET_DASHBOARD_MS:.0f} ms: "
        f"{'met' if d95 < TARGET_DASHBOARD_MS else 'MISSED'} |",
    ]


async def main(count: int, record: bool, postgresql: str | None) -> None:
    logging.basicConfig(level=logging.WARNING)
    load_at_start = os.getloadavg()[0]
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=async_database_url(f"sqlite:///{Path(folder) / 'bench.db'}"),
            telegram_token="1:bench",  # type: ignore[arg-type]  # noqa: S106 - a fake token
            staff_chat_id=-1,
            outbox_dir=Path(folder) / "outbox",
        )
        figures = await measure(settings, count)
        print(f"SQLite: loaded in {figures['load_seconds']:.1f} s")
        lines += describe("SQLite", figures)
        print("\n".join(lines))
    if postgresql:
        schema = f"bench_console_{uuid.uuid4().hex[:8]}"
        admin = create_engine(postgresql)
        try:
            async with admin.begin() as conn:
                await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        except Exception as exc:  # no server: say so and record SQLite alone
            print(f"PostgreSQL not reachable ({type(exc).__name__}); skipped")
            postgresql = None
        if postgresql:
            try:
                settings = Settings(
                    _env_file=None,  # type: ignore[call-arg]
                    database_url=async_database_url(postgresql),
                    database_schema=schema,
                    telegram_token="1:bench",  # type: ignore[arg-type]  # noqa: S106 - a fake token
                    staff_chat_id=-1,
                )
                figures = await measure(settings, count)
                pg = describe("PostgreSQL", figures)
                print("\n".join(pg))
                lines += pg
            finally:
                async with admin.begin() as conn:
                    await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
    if record:
        append(count, lines, load_at_start)


def append(count: int, lines: list[str], load_at_start: float) -> None:
    import sqlite3

    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = [
        "",
        f"## Console: search and dashboard over {count:,} customers ({stamp})",
        "",
        f"`.venv/bin/python bench/bench_console.py --customers {count}`",
        "",
        f"Machine: {platform.platform()}; {os.cpu_count()} CPUs; Python "
        f"{platform.python_version()}; SQLite {sqlite3.sqlite_version}; SQLAlchemy "
        f"{sqlalchemy.__version__}; load average at the start {load_at_start:.1f}, at the end "
        f"{os.getloadavg()[0]:.1f} (other work on the machine slows every figure)",
        "",
        "Whole requests through the console's ASGI app (session lookup, service, rendering).",
        "",
        "| figure | result | target |",
        "| --- | --- | --- |",
        *lines,
        "",
    ]
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write("\n".join(section))
    print(f"appended to {RESULTS}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument("--postgresql", default=PG_URL, help="'' to skip PostgreSQL")
    args = parser.parse_args()
    asyncio.run(main(args.customers, not args.no_record, args.postgresql or None))
