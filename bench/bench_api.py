"""API benchmark: orders upserted a second through PUT-less batches (POST /api/v1/orders,
1,000 orders a request), against a bare SQL insert of the same rows, in the same run.

Run from the repository root::

    .venv/bin/python bench/bench_api.py                              # SQLite, 20 batches
    .venv/bin/python bench/bench_api.py --database postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/bench_api.py --batches 5 --no-record

The web app of `carebot run` is served by uvicorn on loopback and called over HTTP by an
aiohttp client, one request at a time, as a sales system pushing its day would. Each
order has one line naming a catalogue product; a third are delivered (long ago: no
thank-you is due), the rest confirmed. The API validates each item with the import's
checks, writes orders and lines, queues what the care programme needs and re-classifies
the customers (in the background, coalesced: the figure "until settled" waits for it).

Baseline: the same orders and lines (other codes) inserted with SQLAlchemy Core
``insert().values`` executemany, one transaction per 1,000, in the same database: the
floor of any upsert. Target: the API at least 50% of the bare insert's rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from care.core.db import create_engine  # noqa: E402
from care.core.models import Customer, Order, OrderLine, Product  # noqa: E402
from care.core.settings import Settings  # noqa: E402
from care.services import build_services  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS.md")
BATCH = 1_000
CUSTOMERS = 5_000
PRODUCTS = 50
TARGET = 0.5


def machine(load: float) -> str:
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
        f"Python {platform.python_version()}; load average at the start {load:.1f}, at the end "
        f"{os.getloadavg()[0]:.1f} (a shared machine: other work slows both figures)"
    )


def orders_json(batch: int, rng: random.Random) -> list[dict[str, Any]]:
    """One batch of orders as a sales system sends them."""
    items = []
    for n in range(BATCH):
        placed = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(500_000))
        delivered = n % 3 == 0
        amount = rng.randrange(100, 5_000) * 1_000
        items.append(
            {
                "code": f"API-{batch:04d}-{n:04d}",
                "customer_code": f"KH{rng.randrange(CUSTOMERS):06d}",
                "kind": "order",
                "status": "delivered" if delivered else "confirmed",
                "placed_at": placed.isoformat(),
                "delivered_at": (placed + timedelta(days=2)).isoformat() if delivered else None,
                "amount": amount,
                "margin": amount // 5,
                "lines": [
                    {
                        "product": f"SP{rng.randrange(PRODUCTS):03d}",
                        "quantity": 1,
                        "amount": amount,
                    }
                ],
            }
        )
    return items


async def prepare(services: Any) -> None:
    """The shop before the run: customers and the catalogue."""
    now = services.clock()
    async with services.db.uow() as uow:
        await uow.session.execute(
            insert(Customer),
            [
                {
                    "code": f"KH{n:06d}",
                    "kind": "individual",
                    "name": f"Khách {n}",
                    "phone": f"+8490{n:07d}",
                    "language": "vi",
                    "consent_telegram": False,
                    "consent_email": False,
                    "source": "import",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(CUSTOMERS)
            ],
        )
        await uow.session.execute(
            insert(Product),
            [
                {
                    "code": f"SP{n:03d}",
                    "name": f"Sản phẩm {n}",
                    "category": f"Nhóm {n % 5}",
                    "price": 100_000,
                    "active": True,
                    "featured": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(PRODUCTS)
            ],
        )
        await uow.commit()


async def bare_insert(services: Any, batches: list[list[dict[str, Any]]]) -> float:
    """The same rows with other codes, by Core executemany on one connection: seconds."""
    async with services.db.uow() as uow:
        customers = dict((await uow.session.execute(select(Customer.code, Customer.id))).all())
        products = dict((await uow.session.execute(select(Product.code, Product.id))).all())
    now = services.clock()
    started = time.perf_counter()
    for batch in batches:
        rows = [
            {
                "code": "B" + item["code"],
                "customer_id": customers[item["customer_code"]],
                "kind": item["kind"],
                "status": item["status"],
                "placed_at": datetime.fromisoformat(item["placed_at"]),
                "delivered_at": datetime.fromisoformat(item["delivered_at"])
                if item["delivered_at"]
                else None,
                "amount": item["amount"],
                "margin": item["margin"],
                "discount": 0,
                "payment_terms": None,
                "created_at": now,
                "updated_at": now,
            }
            for item in batch
        ]
        async with services.db.engine.begin() as conn:  # Core, no ORM: the floor
            await conn.execute(insert(Order.__table__), rows)
            ids = dict(
                (
                    await conn.execute(
                        select(Order.__table__.c.code, Order.__table__.c.id).where(
                            Order.__table__.c.code.in_([r["code"] for r in rows])
                        )
                    )
                ).all()
            )
            lines = [
                {
                    "order_id": ids["B" + item["code"]],
                    "product_id": products[line["product"]],
                    "product_name": line["product"],
                    "quantity": line["quantity"],
                    "unit_price": line["amount"],
                    "discount": 0,
                    "amount": line["amount"],
                }
                for item in batch
                for line in item["lines"]
            ]
            await conn.execute(insert(OrderLine.__table__), lines)
    return time.perf_counter() - started


CLIENT = """
import asyncio, json, sys, time
import aiohttp

async def main(url, key, paths):
    headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
    bodies = [open(path, "rb").read() for path in paths]
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()
        for body in bodies:
            async with http.post(url, data=body, headers=headers) as response:
                answer = await response.text()
                if response.status != 200:
                    sys.exit("the API refused a batch: %s %s" % (response.status, answer[:500]))
        print(json.dumps(time.perf_counter() - started))

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
"""


async def through_api(
    services: Any, batches: list[list[dict[str, Any]]], folder: Path
) -> tuple[float, float]:
    """Seconds for every batch to be answered, and until re-classification settled.

    The client is another process, as the shop's sales system is: the server's process
    does only what `carebot run` does."""
    from bot.app import build_application
    from web.app import create_app
    from web.server import WebServer

    key = (await services.api_keys.create("bench", "orders:write,read")).key
    app = create_app(services, build_application(services.settings, services))
    server = await WebServer.start(app, "127.0.0.1", 0)
    paths = []
    for n, batch in enumerate(batches):
        path = folder / f"batch{n}.json"
        path.write_text(json.dumps({"items": batch}), encoding="utf-8")
        paths.append(str(path))
    try:
        client = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CLIENT,
            f"{server.url}/api/v1/orders",
            key,
            *paths,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await client.communicate()
        if client.returncode != 0:
            raise SystemExit("the client failed")
        answered = float(json.loads(out))
        done = time.perf_counter()
        await services.ingest.settled()
        settled = answered + time.perf_counter() - done
    finally:
        await server.stop()
    return answered, settled


async def run(database: str | None, batches_wanted: int) -> dict[str, Any]:
    rng = random.Random(20261202)
    batches = [orders_json(n, rng) for n in range(batches_wanted)]
    with tempfile.TemporaryDirectory() as folder:
        schema = None
        admin = None
        if database:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(Settings(_env_file=None, database_url=database).database_url)  # type: ignore[call-arg]
            async with admin.begin() as conn:
                await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=database or f"sqlite:///{Path(folder) / 'bench.db'}",
            database_schema=schema,
            outbox_dir=Path(folder) / "outbox",
            api_requests_per_minute=100_000,
            telegram_token="123456:BENCH-token",  # noqa: S106 - the app is built, never connected
        )
        services = build_services(settings)
        try:
            await services.start(warm=False)
            await prepare(services)
            await services.segmentation.recompute()
            bare = await bare_insert(services, batches)
            answered, settled = await through_api(services, batches, Path(folder))
            dialect = services.db.dialect
        finally:
            await services.close()
            if admin is not None:
                async with admin.begin() as conn:
                    await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                await admin.dispose()
    orders = batches_wanted * BATCH
    return {
        "dialect": dialect,
        "orders": orders,
        "bare": orders / bare,
        "api": orders / answered,
        "api_settled": orders / settled,
        "bare_s": bare,
        "api_s": answered,
        "settled_s": settled,
    }


def report(results: dict[str, Any], command: str, load: float) -> str:
    share = results["api"] / results["bare"]
    verdict = "met" if share >= TARGET else "MISSED"
    return "\n".join(
        [
            f"## API order upserts, {results['dialect']} ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
            "",
            f"`{command}`",
            "",
            f"Machine: {machine(load)}",
            "",
            f"{results['orders']:,} orders in batches of {BATCH:,} (one line each; a third "
            f"delivered), {CUSTOMERS:,} customers, {PRODUCTS} products.",
            "",
            "| figure | result | target |",
            "| --- | --- | --- |",
            f"| bare SQL insert (Core executemany, orders + lines) | {results['bare']:,.0f} "
            f"orders/s ({results['bare_s']:.1f} s) | |",
            f"| POST /api/v1/orders over HTTP, answered | {results['api']:,.0f} orders/s "
            f"({results['api_s']:.1f} s) | |",
            f"| the same, until re-classification settled | {results['api_settled']:,.0f} "
            f"orders/s ({results['settled_s']:.1f} s) | |",
            f"| API / bare insert | {share:.0%} | ≥ {TARGET:.0%}: {verdict} |",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--batches", type=int, default=20, help="batches of 1,000 orders")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    results = asyncio.run(run(args.database, args.batches))
    command = ".venv/bin/python bench/bench_api.py" + "".join(
        [f" --database {args.database}" if args.database else "", f" --batches {args.batches}"]
    )
    section = report(results, command, load)
    print(section)
    if not args.no_record:
        with RESULTS.open("a", encoding="utf-8") as handle:
            handle.write("\n" + section)
        print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
