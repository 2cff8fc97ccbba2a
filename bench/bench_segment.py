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
(aggregation in SQL, BG/NBD and Gamma-Gamma fits, CLV, NTILE scores, tiers, changes,
bulk write of customer_metrics), twice: on a database without metrics (first run) and
again with the metrics of the first run in place (a nightly run, which also compares old
and new tiers and segments). The floor is the same RFM + LTV + tier aggregation in DuckDB
(bench/duckdb_floor.py) on the same rows.
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
from datetime import UTC, date, datetime, timedelta
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
    "Hà Nội", "TP. Hồ Chí Minh", "Đà Nẵng", "Hải Phòng", "Cần Thơ", "Bình Dương",
    "Đồng Nai", "Khánh Hoà", "Thừa Thiên Huế", "Quảng Ninh", "Nghệ An", "Lâm Đồng",
)
ORDER_STATUSES = ("delivered", "cancelled", "returned")
INQUIRY_STATUSES = ("open", "quoted", "converted", "lost")
STAMP = "2026-01-01 00:00:00.000000"

ORDER_COLUMNS = (
    "id", "code", "customer_id", "kind", "status", "placed_at", "amount", "margin", "discount",
    "created_at", "updated_at",
)
CUSTOMER_COLUMNS = (
    "id", "code", "kind", "name", "region", "language", "consent_telegram", "consent_email",
    "telegram_unreachable", "email_unreachable", "source", "created_at", "updated_at",
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
        yield (i, f"KH{i:07d}", kinds[kind], name, REGIONS[region], "vi", 0, 0, 0, 0,
               "import", STAMP, STAMP)


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


async def _create_schema(url: str, **engine: Any) -> None:
    from care.db import Database

    db = Database(url, **engine)
    try:
        await db.upgrade()
    finally:
        await db.dispose()


async def load_sqlite(path: Path, data: dict[str, np.ndarray]) -> None:
    """Schema through the migrations, then rows with the sqlite3 module in big transactions.

    The secondary index on orders is dropped during the load and rebuilt after it, which
    is several times faster than maintaining it row by row.
    """
    path.unlink(missing_ok=True)
    await _create_schema(f"sqlite:///{path}")
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("DROP INDEX ix_orders_customer_placed")
    con.execute("DROP INDEX ix_orders_delivered_at")
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
        con.execute("CREATE INDEX ix_orders_customer_placed ON orders (customer_id, placed_at)")
        con.execute("CREATE INDEX ix_orders_delivered_at ON orders (delivered_at)")
    con.execute("ANALYZE")
    con.close()
