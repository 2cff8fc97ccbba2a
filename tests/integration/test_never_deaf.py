"""The bot keeps answering while heavy work runs in its process.

The nightly segmentation, a campaign start and an import run in the same process and on
the same event loop as the bot. Each test runs one of them at a size where, done on the
loop, it would hold the loop for most of its run, and watches the loop meanwhile with a
task that sleeps 10 ms at a time: the worst lateness of that task must stay a small part
of the run. The bounds are relative to the run's own duration, so a slow, shared machine
(which stretches both) does not make them flaky.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from care.core.models import Customer, Order
from care.core.workers import worker
from care.io.imports import import_customers
from care.outreach.campaigns import CampaignSpec
from care.services import Services

TICK = 0.010


class LoopWatch:
    """The worst lateness of a task sleeping ``TICK`` seconds at a time, while the block runs."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.seconds = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(TICK)
            self.worst = max(self.worst, loop.time() - before - TICK)

    async def __aenter__(self) -> LoopWatch:
        self._task = asyncio.create_task(self._watch())
        await asyncio.sleep(0)
        self._started = time.perf_counter()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.seconds = time.perf_counter() - self._started
        assert self._task is not None
        self._task.cancel()


async def seed_buyers(services: Services, customers: int, orders: int) -> None:
    """Customers with a long-tailed history of delivered orders over two years."""
    rng = np.random.default_rng(11)
    now = services.clock()
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    owner = rng.choice(customers, size=orders, p=(w := rng.lognormal(0, 1.2, customers)) / w.sum())
    days = rng.uniform(1, 730, orders)
    amount = (rng.lognormal(13.5, 0.8, orders) // 1000 * 1000).astype(int)
    async with services.db.uow() as uow:
        await uow.session.execute(
            insert(Customer),
            [
                {
                    "code": f"KH{n:06d}",
                    "kind": "organization" if n % 7 == 0 else "individual",
                    "name": f"Khách hàng {n}",
                    "language": "vi",
                    "source": "import",
                    "consent_telegram": False,
                    "consent_email": False,
                    "telegram_unreachable": False,
                    "email_unreachable": False,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
                for n in range(customers)
            ],
        )
        for start in range(0, orders, 5000):
            await uow.session.execute(
                insert(Order),
                [
                    {
                        "code": f"DH{i:07d}",
                        "customer_id": int(owner[i]) + 1,
                        "kind": "order",
                        "status": "delivered",
                        "placed_at": now - timedelta(days=float(days[i])),
                        "amount": int(amount[i]),
                        "margin": int(amount[i]) // 5,
                        "discount": 0,
                        "created_at": stamp,
                        "updated_at": stamp,
                    }
                    for i in range(start, min(start + 5000, orders))
                ],
            )
        await uow.commit()


async def test_the_loop_keeps_turning_while_segmentation_runs(services: Services) -> None:
    await seed_buyers(services, customers=20_000, orders=120_000)

    async with LoopWatch() as watch:
        summary = await services.segmentation.recompute()

    assert summary.buyers > 10_000
    assert watch.worst < watch.seconds / 5, (watch.worst, watch.seconds)
    # Fitting and scoring used the worker's processor time, not this process's.
    computing = ("fitting BG/NBD and Gamma-Gamma", "predicting CLV", "scoring RFM and tiers")
    wall = sum(summary.step_seconds[step] for step in computing)
    cpu_here = sum(summary.step_cpu_seconds[step] for step in computing)
    assert cpu_here < wall / 2, (cpu_here, wall)


async def test_the_loop_keeps_turning_while_a_campaign_is_planned(services: Services) -> None:
    now = services.clock()
    async with services.db.uow() as uow:
        await uow.session.execute(
            insert(Customer),
            [
                {
                    "code": f"KH{n:06d}",
                    "kind": "individual",
                    "name": f"Khách hàng {n}",
                    "email": f"khach{n}@example.com",
                    "language": "vi" if n % 3 else "en",
                    "source": "import",
                    "consent_telegram": False,
                    "consent_email": True,
                    "telegram_unreachable": False,
                    "email_unreachable": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(3000)
            ],
        )
        await uow.commit()
    campaigns = services.care.campaigns
    await campaigns.create(
        CampaignSpec.parse(
            {
                "name": "Tết",
                "channel": "email_only",
                "template": {
                    "vi": "Chào {{ name }}! Ưu đãi: <b>{{ offer }}</b>.",
                    "en": "Hello {{ name }}! Offer: <b>{{ offer }}</b>.",
                },
                "offers": {"default": "giảm 15%"},
                "holdout": 0,  # every member is planned and queued
            }
        )
    )

    async with LoopWatch() as watch:
        queued = await campaigns.start("Tết")

    assert queued == 3000
    assert watch.worst < watch.seconds / 5, (watch.worst, watch.seconds)


async def test_the_loop_keeps_turning_while_a_big_file_is_imported(
    services: Services, tmp_path: Path
) -> None:
    path = tmp_path / "khach.csv"
    lines = ["code,kind,name,phone,email,birthday,region,language"]
    lines += [
        f"KH{n:06d},individual,Khách hàng {n},09{n:08d},khach{n}@example.com,"
        f"1990-05-{n % 28 + 1:02d},Hà Nội,vi"
        for n in range(20_000)
    ]
    path.write_text("\n".join(lines), encoding="utf-8")

    async with LoopWatch() as watch:
        report = await import_customers(services.db, path)

    assert report.created == 20_000
    assert watch.worst < watch.seconds / 4, (watch.worst, watch.seconds)


async def test_a_worker_is_another_process_running_below_the_bot() -> None:
    async with worker() as work:
        pid = await work(os.getpid)
        niceness = await work(os.nice, 0)

    assert pid != os.getpid()
    assert niceness > os.nice(0)
