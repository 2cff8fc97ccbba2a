"""Conversations during a campaign: customers' reply latency while the bot sends 10,000
Telegram messages, with one Telegram budget for both.

Run from the repository root (each way takes about seven minutes at 10,000)::

    .venv/bin/python bench/bench_budget.py --way scheduled      # started by the bot's scheduler
    .venv/bin/python bench/bench_budget.py --way shell          # `carebot campaign send` in a shell
    .venv/bin/python bench/bench_budget.py --way both           # one after the other
    .venv/bin/python bench/bench_budget.py --customers 1000 --way shell --no-record

Three processes, as in production: the bot is a real `carebot run` (polling, scheduler,
outbox dispatcher); Telegram is the sandbox Bot API server in a process of its own with
Telegram's limits on (30 messages a second, about one a second per chat), which also
plays ten customers who each ask an FAQ question (from the demo FAQ), wait for the answer
and ask again 3-4 seconds later (under the bot's flood limit of 20 a minute); this
process seeds the database, starts the campaign and collects the figures.

For each way, on a fresh database and a fresh bot:

1. baseline: the customers chat for ``--baseline`` seconds with no campaign;
2. the campaign to ``--customers`` customers starts: ``scheduled``, by the bot's own
   scheduler (the campaign is given a start time, and the scheduler's minute scan starts
   it); ``shell``, by `carebot campaign send` run as a second process while the bot runs
   (it queues the rows and leaves the sending to the bot, which holds the dispatcher lock);
3. the customers keep chatting until the last campaign message is out.

Measured, at the sandbox: reply latency (from the customer's message to the bot's first
answer in that chat) at p50/p95/max, in the baseline, while the campaign is being queued
(from its start to its first message: planning runs in the process that starts it) and
while it is being sent (from its first to its last message; target p95 ≤ 1 s); the 429
answers over the whole run (target 0); the campaign's rate between its first and last
message. The clock runs on real time with quiet hours switched off for the run, so a
night run sends too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml  # noqa: E402
from bench_campaign import TEMPLATE, machine, postgres_schema  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bot.sandbox import Limits, SandboxServer  # noqa: E402
from bot.sandbox.people import Person  # noqa: E402
from care.core.models import CampaignStatus, Customer  # noqa: E402
from care.core.settings import Settings  # noqa: E402
from care.outreach.campaigns import CampaignSpec  # noqa: E402
from care.services import Services, build_services  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS.md")
TOKEN = "123456:bench-budget"
DEMO_FAQ = ROOT / "care" / "io" / "demo_faq.yaml"
CAREBOT = Path(sys.executable).with_name("carebot")
FIRST_CHAT = 100_000
FIRST_ASKER = 9_000_000
ASKERS = 10
THINK_SECONDS = (3.0, 4.0)
TARGET_P95 = 1.0


# --- the sandbox process: Telegram, and the customers who chat ---------------------------


def faq_questions() -> list[str]:
    """The demo FAQ's Vietnamese questions and their alternates, as customers type them."""
    questions = []
    for entry in yaml.safe_load(DEMO_FAQ.read_text(encoding="utf-8")):
        if entry.get("language") == "vi":
            questions.append(entry["question"])
            questions.extend(entry.get("alternates") or [])
    return questions


async def chatting(
    sandbox: SandboxServer,
    person: Person,
    questions: list[str],
    exchanges: list[dict[str, Any]],
    stop: asyncio.Event,
    seed: int,
) -> None:
    """Ask, wait for the answer, think, ask again, until ``stop``."""
    rng = random.Random(seed)
    await asyncio.sleep(rng.uniform(0, THINK_SECONDS[1]))  # not all at the same instant
    first = True  # a customer's first message also registers them: not counted
    while not stop.is_set():
        asked_wall, asked = time.time(), time.monotonic()
        seconds: float | None = None
        with contextlib.suppress(TimeoutError):
            await person.says(rng.choice(questions), timeout=30)
            seconds = time.monotonic() - asked
        if not first:
            exchanges.append({"at": asked_wall, "seconds": seconds})
        first = False
        with_stop = asyncio.ensure_future(stop.wait())
        await asyncio.wait([with_stop], timeout=rng.uniform(*THINK_SECONDS))
        with_stop.cancel()


async def run_sandbox(count: int) -> None:
    """The sandbox with Telegram's limits; prints its URL, then "polling" once the bot
    polls; the customers chat from then until SIGTERM; then the figures as JSON."""
    async with SandboxServer(token=TOKEN, limits=Limits()) as sandbox:
        for n in range(count):
            sandbox.add_user(FIRST_CHAT + n, f"K{n}")
        people = [
            Person(sandbox, sandbox.add_user(FIRST_ASKER + n, f"Hỏi {n}")) for n in range(ASKERS)
        ]
        refused = watch_refusals(sandbox)
        print("ready", sandbox.base_url, flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        while not sandbox.stats.requests["getUpdates"] and not stop.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        print("polling", flush=True)
        exchanges: list[dict[str, Any]] = []
        questions = faq_questions()
        askers = [
            asyncio.create_task(chatting(sandbox, person, questions, exchanges, stop, n))
            for n, person in enumerate(people)
        ]
        await stop.wait()
        await asyncio.gather(*askers)
        wall = time.time() - time.monotonic()  # to put the sandbox's clock on the wall's
        campaign = [m.time + wall for m in sandbox.sent() if m.chat_id < FIRST_ASKER]
        print(
            json.dumps(
                {
                    "busiest_second": busiest_second([m.time for m in sandbox.sent()]),
                    "refused": [(at + wall, kind, seconds) for at, kind, seconds in refused],
                    "exchanges": exchanges,
                    "campaign_times": [campaign[0], campaign[-1]] if campaign else [],
                    "campaign_received": len(campaign),
                    "too_many_requests": sandbox.stats.too_many_requests,
                }
            ),
            flush=True,
        )


def watch_refusals(sandbox: SandboxServer) -> list[tuple[float, str, int]]:
    """A list that fills with each 429 the sandbox answers: when, to which kind of chat
    (a chatting customer's or a campaign's), and the wait it asked for."""
    refused: list[tuple[float, str, int]] = []
    check = sandbox.flood.retry_after

    def retry_after(chat_id: int, is_group: bool) -> int:
        seconds = check(chat_id, is_group)
        if seconds:
            kind = "customer" if chat_id >= FIRST_ASKER else "campaign"
            refused.append((time.monotonic(), kind, seconds))
        return seconds

    sandbox.flood.retry_after = retry_after  # type: ignore[method-assign]
    return refused


def busiest_second(times: list[float]) -> int:
    """The most messages the sandbox took in any one second (Telegram allows 30)."""
    times = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


# --- this process: the database, the bot, the campaign ------------------------------------


async def seed(services: Services, count: int) -> None:
    now = services.clock()
    rows = [
        {
            "code": f"KH{n:06d}",
            "kind": "individual",
            "name": f"Khách hàng {n}",
            "telegram_user_id": FIRST_CHAT + n,
            "language": "vi" if n % 5 else "en",
            "consent_telegram": True,
            "consent_email": False,
            "telegram_unreachable": False,
            "email_unreachable": False,
            "source": "import",
            "created_at": now,
            "updated_at": now,
        }
        for n in range(count)
    ]
    async with services.db.uow() as uow:
        for start in range(0, count, 2000):
            await uow.session.execute(insert(Customer), rows[start : start + 2000])
        await uow.commit()
    report = await services.faq.import_file(DEMO_FAQ)
    assert not report.errors, report.errors


async def create_campaign(services: Services, name: str, at: datetime | None) -> None:
    await services.care.campaigns.create(
        CampaignSpec.parse(
            {
                "name": name,
                "channel": "telegram_only",
                "template": TEMPLATE,
                "offers": {"default": "giảm 15% cho đơn từ 500.000 ₫"},
                "holdout": 0,  # every member: the benchmark measures sending
                "schedule": at,
            }
        )
    )


def environment(settings: Settings, base_url: str, folder: Path) -> dict[str, str]:
    """What `carebot run` and `carebot campaign send` read: this run's database, the
    sandbox, no quiet hours; nothing from the developer's own CAREBOT_ settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CAREBOT_")}
    env.update(
        {
            "CAREBOT_DATABASE_URL": settings.database_url,
            "CAREBOT_TELEGRAM_TOKEN": TOKEN,
            "CAREBOT_TELEGRAM_BASE_URL": base_url,
            "CAREBOT_OUTBOX_DIR": str(folder / "outbox"),
            "CAREBOT_WEB_PORT": "0",
            "CAREBOT_QUIET_HOURS_START": "00:00",
            "CAREBOT_QUIET_HOURS_END": "00:00",
        }
    )
    if settings.database_schema:
        env["CAREBOT_DATABASE_SCHEMA"] = settings.database_schema
    return env


async def one_way(
    way: str, count: int, baseline: float, folder: Path, settings: Settings
) -> dict[str, Any]:
    services = build_services(settings)
    await services.start()
    try:
        await seed(services, count)
        name = f"Bench {way}"
        sandbox = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--sandbox",
            str(count),
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        assert sandbox.stdout is not None
        base_url = (await sandbox.stdout.readline()).decode().split()[-1]
        env = environment(settings, base_url, folder)
        if way == "scheduled":  # the minute scan after the baseline starts it
            await create_campaign(services, name, datetime.now(UTC) + timedelta(seconds=baseline))
        else:
            await create_campaign(services, name, None)
        bot = await asyncio.create_subprocess_exec(
            str(CAREBOT),
            "run",
            cwd=folder,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=open(folder / f"bot-{way}.log", "wb"),  # noqa: ASYNC230, SIM115
        )
        shell_seconds = None
        try:
            await asyncio.wait_for(sandbox.stdout.readline(), 60)  # "polling"
            print(f"{way}: the bot is up; baseline {baseline:.0f} s …", flush=True)
            await asyncio.sleep(baseline)
            if way == "shell":
                started = time.perf_counter()
                shell = await asyncio.create_subprocess_exec(
                    str(CAREBOT),
                    "campaign",
                    "send",
                    name,
                    cwd=folder,
                    env={**env, "COLUMNS": "120"},
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                )
                output, _ = await shell.communicate()
                shell_seconds = time.perf_counter() - started
                text = output.decode()
                assert shell.returncode == 0, text
                assert "the running bot sends them" in text, text
                print(f"shell: {text.strip().splitlines()[0]} … done in {shell_seconds:.0f} s")
            campaign = await wait_done(services, name, timeout=count / 10 + 300)
        finally:
            bot.send_signal(signal.SIGTERM)
            await bot.wait()
            sandbox.send_signal(signal.SIGTERM)
            stats = json.loads((await sandbox.stdout.read()).decode().strip().splitlines()[-1])
            await sandbox.wait()
    finally:
        await services.close()
    assert campaign.started_at is not None
    return figures(way, stats, campaign.started_at.timestamp(), count, baseline, shell_seconds)


async def wait_done(services: Services, name: str, *, timeout: float) -> Any:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while True:
        campaign = await services.care.campaigns.get(name)
        if campaign.status == CampaignStatus.DONE:
            return campaign
        if time.monotonic() > deadline:
            raise TimeoutError(f"the campaign is still {campaign.status} after {timeout:.0f} s")
        await asyncio.sleep(1)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


def window(exchanges: list[dict[str, Any]], start: float, end: float) -> dict[str, Any]:
    inside = [e for e in exchanges if start <= e["at"] < end]
    answered = [e["seconds"] for e in inside if e["seconds"] is not None]
    return {
        "asked": len(inside),
        "unanswered": len(inside) - len(answered),
        "p50": percentile(answered, 0.50),
        "p95": percentile(answered, 0.95),
        "max": max(answered, default=0.0),
        "seconds": end - start,
    }


def figures(
    way: str,
    stats: dict[str, Any],
    started_at: float,
    count: int,
    baseline: float,
    shell_seconds: float | None,
) -> dict[str, Any]:
    exchanges = stats["exchanges"]
    first, last = stats["campaign_times"]
    phases = {
        "baseline": (0.0, started_at),
        "queueing": (started_at, first),
        "sending": (first, last),
    }
    return {
        "way": way,
        "baseline": window(exchanges, min(e["at"] for e in exchanges), started_at),
        "queueing": window(exchanges, started_at, first),
        "sending": window(exchanges, first, last),
        "too_many_requests": stats["too_many_requests"],
        "refused": [
            {
                "kind": kind,
                "seconds": seconds,
                "when": next((label for label, (a, b) in phases.items() if a <= at < b), "after"),
            }
            for at, kind, seconds in stats["refused"]
        ],
        "busiest_second": stats["busiest_second"],
        "received": stats["campaign_received"],
        "count": count,
        "rate": (stats["campaign_received"] - 1) / (last - first) if last > first else 0.0,
        "shell_seconds": shell_seconds,
        "baseline_seconds": baseline,
    }


def _refusals(result: dict[str, Any]) -> str:
    refused = result["refused"]
    if not refused:
        return ""
    return (
        " ("
        + ", ".join(
            f"{r['kind']} chat while {r['when']}, retry after {r['seconds']} s" for r in refused
        )
        + ")"
    )


def report(result: dict[str, Any]) -> None:
    def line(label: str, w: dict[str, Any]) -> str:
        return (
            f"  {label:<9} p50 {w['p50'] * 1000:5.0f} ms, p95 {w['p95'] * 1000:5.0f} ms, "
            f"max {w['max'] * 1000:5.0f} ms ({w['asked']} questions in {w['seconds']:.0f} s"
            f", unanswered {w['unanswered']})"
        )

    print(
        f"{result['way']}: {result['received']:,} of {result['count']:,} campaign messages "
        f"at {result['rate']:.2f}/s; 429 answered: {result['too_many_requests']}"
        f"{_refusals(result)}; busiest second at the sandbox: {result['busiest_second']}"
    )
    for label in ("baseline", "queueing", "sending"):
        print(line(label, result[label]))


async def main(
    count: int, ways: list[str], baseline: float, record: bool, postgresql: str | None
) -> None:
    load_at_start = os.getloadavg()[0]
    results = []
    for way in ways:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            schema = f"bench_budget_{os.getpid()}_{way}"
            database: dict[str, Any] = {"database_url": f"sqlite:///{folder / 'bench.db'}"}
            if postgresql:
                await postgres_schema(postgresql, schema, create=True)
                database = {"database_url": postgresql, "database_schema": schema}
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                telegram_token=TOKEN,
                outbox_dir=folder / "outbox",
                **database,
            )
            try:
                result = await one_way(way, count, baseline, folder, settings)
            finally:
                if postgresql:
                    await postgres_schema(postgresql, schema, create=False)
            report(result)
            results.append(result)
    if record:
        append(results, count, baseline, postgresql, load_at_start, settings)


def append(
    results: list[dict[str, Any]],
    count: int,
    baseline: float,
    postgresql: str | None,
    load_at_start: float,
    settings: Settings,
) -> None:
    def cell(w: dict[str, Any]) -> str:
        return (
            f"{w['p50'] * 1000:.0f} / {w['p95'] * 1000:.0f} / {w['max'] * 1000:.0f} ms "
            f"({w['asked']} asked, {w['unanswered']} not answered within 30 s)"
        )

    dialect = "PostgreSQL" if postgresql else "SQLite"
    ways = ",".join(r["way"] for r in results)
    lines = [
        "",
        f"## Conversations during a {count:,}-message Telegram campaign, one budget, {dialect} "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        f"`.venv/bin/python bench/bench_budget.py --customers {count} --way {ways}"
        + (f" --postgresql {postgresql}`" if postgresql else "`"),
        "",
        f"Machine: {machine(load_at_start)}",
        "",
        f"Load: {ASKERS} customers each asking a demo-FAQ question, waiting for the answer and "
        f"asking again {THINK_SECONDS[0]:.0f}-{THINK_SECONDS[1]:.0f} s later; the bot is "
        f"`carebot run` (one process), the sandbox Telegram another with Telegram's limits "
        f"on; the budget paces at {settings.telegram_messages_per_second}/s. Baseline: the "
        f"same customers for {baseline:.0f} s before the campaign, same run. Latency: "
        "p50 / p95 / max from the customer's message to the bot's answer, at the sandbox.",
        "",
        "| way | baseline (no campaign) | while queueing | while sending | p95 while sending "
        "| 429 | campaign rate |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        sending = r["sending"]
        met = "met" if sending["p95"] <= TARGET_P95 and not sending["unanswered"] else "MISSED"
        no_429 = "met" if r["too_many_requests"] == 0 else "MISSED"
        lines.append(
            f"| {r['way']} | {cell(r['baseline'])} | {cell(r['queueing'])} "
            f"({r['queueing']['seconds']:.1f} s) | {cell(sending)} "
            f"({sending['seconds']:.0f} s) | ≤ {TARGET_P95:.0f} s: {met} | "
            f"{r['too_many_requests']}{_refusals(r)} (target 0: {no_429}); busiest second "
            f"{r['busiest_second']} of 30 | {r['rate']:.2f}/s "
            f"({r['received']:,} of {r['count']:,}) |"
        )
    lines += [
        "",
        '"While queueing" is from the campaign\'s start to its first message: the '
        "scheduled way plans the 10,000 messages on the bot's own event loop (campaign "
        "planning off the loop is separate work); the shell way plans them in the shell's "
        "process, then the bot's dispatcher finds them on its next look at the outbox "
        "(within 5 s). The machine is shared: other work on it slows every figure.",
        "",
    ]
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines))
    print(f"appended to {RESULTS}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--sandbox"]:
        asyncio.run(run_sandbox(int(sys.argv[2])))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000, help="the campaign's size")
    parser.add_argument("--way", choices=["scheduled", "shell", "both"], default="both")
    parser.add_argument(
        "--baseline", type=float, default=40.0, help="seconds of chatting with no campaign, first"
    )
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument(
        "--postgresql",
        metavar="URL",
        help="run on this PostgreSQL database (in a schema of its own) instead of SQLite",
    )
    arguments = parser.parse_args()
    ways = ["scheduled", "shell"] if arguments.way == "both" else [arguments.way]
    asyncio.run(
        main(
            arguments.customers,
            ways,
            arguments.baseline,
            not arguments.no_record,
            arguments.postgresql,
        )
    )
