"""Never deaf: how fast customers get answers while heavy work runs inside the bot's process.

Run from the repository root::

    .venv/bin/python bench/bench_deaf.py                 # 1,000,000 customers (data once: ~5 min)
    .venv/bin/python bench/bench_deaf.py --customers 20000 --orders 200000 --no-record
    .venv/bin/python bench/bench_deaf.py --only campaign     # the campaign part alone

The bot runs in a process of its own exactly as ``carebot run`` runs it (the services,
the Application with the care programme, ``bot.runner.running``: the scheduler and its
jobs in the bot's event loop), long polling the sandbox Bot API server, which runs in this
process together with 20 customers. Each customer asks an FAQ question once a second (the
20 spread evenly over the second, so 20 questions a second reach the bot; ``--interval``
sets another pace) and the latency
of a reply is the time from the question entering the sandbox to the bot's sendMessage
arriving there. The customers do not wait for an answer before asking again, so a bot that
stops answering gets the questions piling up, as it would in life.

Two parts, each with its own idle figure measured in the same run, just before:

- segmentation: the scheduler's nightly job (``segmentation``, calling
  ``services.segmentation.recompute``) over the data of bench/bench_segment.py
  (1,000,000 customers and 10,000,000 orders by default, on SQLite, generated once into
  ``bench/data/generated/``);
- campaign: the scheduler's ``campaigns`` scan starting a campaign scheduled for now to
  10,000 customers by e-mail (the audience, the rules, rendering and MIME building, the
  insert of the outbox rows), on a SQLite database of its own.

Targets: p99 of the replies to questions asked while the job runs at most 2x the idle p99,
and under 500 ms. The bot's flood guard is set to 600 messages a minute for the run (20 a
minute by default would silence customers asking once a second). The bot process also
measures its own event loop's lag (a task sleeping 10 ms), reported beside the latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import signal
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS.md")
DATA_DIR = Path(__file__).with_name("data") / "generated"
DEMO_FAQ = ROOT / "care" / "io" / "demo_faq.yaml"
TOKEN = "123456:bench-deaf"
CUSTOMERS = 20
FIRST_USER = 700_001
FLOOD_PER_MINUTE = 600
PROBE_SECONDS = 0.010
TARGET_FACTOR = 2.0
TARGET_MS = 500.0
CAMPAIGN = "Bench deaf"
TEMPLATE = {
    "vi": "Chào {{ name }}! 🎁 Ưu đãi dành riêng cho hạng {{ tier }}: <b>{{ offer }}</b>.\n"
    "Áp dụng đến hết tháng tại {{ shop_name }}. Gõ /stop để ngừng nhận tin khuyến mãi.",
    "en": "Hello {{ name }}! 🎁 An offer for our {{ tier }} customers: <b>{{ offer }}</b>.\n"
    "Valid all month at {{ shop_name }}. Send /stop to stop promotions.",
}


# --------------------------------------------------------------------------- the bot process


def bot_settings(database: Path, base_url: str, outbox: Path) -> Any:
    from care.core.settings import Settings

    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite:///{database}",
        telegram_token=TOKEN,
        telegram_base_url=base_url,
        staff_chat_id=None,
        outbox_dir=outbox,
        flood_messages_per_minute=FLOOD_PER_MINUTE,
        web_port=0,
    )


def say(**event: Any) -> None:
    print(json.dumps(event), flush=True)


async def serve_bot(database: Path, base_url: str, outbox: Path) -> None:
    """What ``carebot run`` does, plus a control line on stdin and job events on stdout."""
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED

    from bot.app import build_application, care_programme
    from bot.runner import running, settle_heap
    from care.services import build_services

    class Report(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            say(log=record.getMessage(), t=time.monotonic())

    scheduler_log = logging.getLogger("carebot.scheduler")
    scheduler_log.setLevel(logging.INFO)
    scheduler_log.addHandler(Report())
    scheduler_log.propagate = False
    settings = bot_settings(database, base_url, outbox)
    services = build_services(settings)
    application = build_application(settings, services, **care_programme(services))
    lags: list[tuple[float, float]] = []
    probe = asyncio.create_task(loop_lag_probe(lags))
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR2, _print_tasks)
    async with running(application, services, poll_timeout=10):
        settle_heap()
        scheduler = application.bot_data["care_scheduler"].scheduler
        names = {EVENT_JOB_SUBMITTED: "start", EVENT_JOB_EXECUTED: "end", EVENT_JOB_ERROR: "error"}

        def on_job(event: Any) -> None:
            say(
                job=event.job_id,
                event=names[event.code],
                t=time.monotonic(),
                error=repr(getattr(event, "exception", None) or ""),
            )

        scheduler.add_listener(on_job, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        say(ready=True, t=time.monotonic())
        while True:
            line = (await asyncio.to_thread(sys.stdin.readline)).strip()
            if line in ("", "stop"):
                break
            now = datetime.now(scheduler.timezone)
            if line == "segment":
                scheduler.modify_job("segmentation", next_run_time=now)
            elif line == "campaign":
                await services.care.campaigns.schedule(CAMPAIGN, datetime.now(UTC))
                scheduler.modify_job("campaigns", next_run_time=now)
            say(command=line, t=time.monotonic())
    probe.cancel()
    say(lags=lags)


def _print_tasks() -> None:
    """kill -USR2 shows what every task of the bot is waiting on."""
    for task in asyncio.all_tasks():
        task.print_stack(file=sys.stderr)


async def loop_lag_probe(lags: list[tuple[float, float]]) -> None:
    """How late the event loop wakes a task that sleeps ``PROBE_SECONDS``: (time, lag)."""
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(PROBE_SECONDS)
        lag = loop.time() - before - PROBE_SECONDS
        if lag > 0.002:
            lags.append((round(time.monotonic(), 4), round(lag, 4)))


# --------------------------------------------------------------------------- data


def faq_questions() -> list[tuple[str, str]]:
    """(question, words its answer starts with) of the demo FAQ's Vietnamese entries."""
    entries = yaml.safe_load(DEMO_FAQ.read_text(encoding="utf-8"))
    return [
        (entry["question"], " ".join(entry["answer"].split()[:6]))
        for entry in entries
        if entry["language"] == "vi"
    ]


async def add_faq(database: Path) -> None:
    from care.core.settings import Settings
    from care.services import build_services

    settings = Settings(_env_file=None, database_url=f"sqlite:///{database}")  # type: ignore[call-arg]
    services = build_services(settings)
    await services.start()
    try:
        report = await services.faq.import_file(DEMO_FAQ)
        assert not report.errors, report.errors
    finally:
        await services.close()


def segment_database(customers: int, orders: int, seed: int) -> Path:
    """bench_segment's data in SQLite (generated once per scale), with the demo FAQ."""
    from bench_segment import generate, load_sqlite

    folder = DATA_DIR / f"deaf-{customers}-{orders}-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "carebot.db"
    marker = folder / "complete"
    if not marker.exists():
        started = time.perf_counter()
        data = generate(customers, orders, seed)
        load_sqlite(database, data)
        del data
        asyncio.run(add_faq(database))
        marker.write_text("ok\n")
        print(f"data generated and loaded in {time.perf_counter() - started:.0f} s", flush=True)
    return database


async def campaign_database(database: Path, count: int) -> None:
    """``count`` customers reachable by e-mail only, the demo FAQ, and a draft campaign."""
    from sqlalchemy import insert

    from care.core.models import Customer
    from care.core.settings import Settings
    from care.outreach.campaigns import CampaignSpec
    from care.services import build_services

    settings = Settings(_env_file=None, database_url=f"sqlite:///{database}")  # type: ignore[call-arg]
    services = build_services(settings)
    await services.start()
    try:
        now = datetime.now(UTC)
        rows = [
            {
                "code": f"KH{n:06d}",
                "kind": "individual",
                "name": f"Khách hàng {n}",
                "email": f"khach{n}@example.com",
                "language": "vi" if n % 5 else "en",
                "consent_telegram": False,
                "consent_email": True,
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
        await services.care.campaigns.create(
            CampaignSpec.parse(
                {
                    "name": CAMPAIGN,
                    "channel": "email_only",
                    "template": TEMPLATE,
                    "subject": {
                        "vi": "Ưu đãi từ {{ shop_name }}",
                        "en": "An offer from {{ shop_name }}",
                    },
                    "offers": {"default": "giảm 15% cho đơn từ 500.000 ₫"},
                    "holdout": 0,  # every member: the benchmark measures sending
                }
            )
        )
    finally:
        await services.close()


# --------------------------------------------------------------------------- one part


class BotProcess:
    """The bot's process: send it a command line, read its job events."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: list[dict[str, Any]] = []
        self.changed = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, database: Path, base_url: str, outbox: Path) -> BotProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--bot",
            str(database),
            base_url,
            str(outbox),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
            limit=64 * 1024 * 1024,
        )
        return cls(process)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            with contextlib.suppress(ValueError):
                self.events.append(json.loads(line))
                self.changed.set()

    async def wait(self, check: Any, seconds: float) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            for event in self.events:
                if check(event):
                    return event
            if self.process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bot process did not report in time: {self.events[-5:]}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), 1.0)

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((line + "\n").encode())

    async def stop(self) -> list[tuple[float, float]]:
        self.send("stop")
        lags = await self.wait(lambda e: "lags" in e, 120)
        await self.process.wait()
        await self.reader
        return [tuple(pair) for pair in lags["lags"]]


class Customers:
    """Twenty customers asking once a second each, spread over the second."""

    def __init__(self, sandbox: Any, questions: list[tuple[str, str]], interval: float) -> None:
        self.sandbox = sandbox
        self.interval = interval
        self.questions = questions
        self.users = [sandbox.add_user(FIRST_USER + i, f"Khách {i}") for i in range(CUSTOMERS)]
        self.asked: dict[int, list[tuple[float, str]]] = {u.id: [] for u in self.users}
        self.seen: dict[int, int] = {u.id: 0 for u in self.users}
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def warm_up(self) -> None:
        """One question each, every answer awaited (the FAQ index, connections, caches)."""
        for n, user in enumerate(self.users):
            question, expected = self.questions[n % len(self.questions)]
            self.sandbox.send_text(user, question)
            reply = await self.sandbox.wait_for(user.id, timeout=120)
            assert expected in " ".join(reply.text.split()), (question, reply.text)
        for user in self.users:
            self.seen[user.id] = len(self.sandbox.sent(user.id))

    def start(self) -> None:
        begin = time.monotonic() + 0.5
        self._tasks = [
            asyncio.create_task(self._ask(user, n, begin + n * self.interval / CUSTOMERS))
            for n, user in enumerate(self.users)
        ]

    async def _ask(self, user: Any, n: int, at: float) -> None:
        k = n
        while not self._stop.is_set():
            await asyncio.sleep(max(at - time.monotonic(), 0))
            question, expected = self.questions[k % len(self.questions)]
            self.asked[user.id].append((time.monotonic(), expected))
            self.sandbox.send_text(user, question)
            k += 1
            at += self.interval

    async def stop(self, grace: float = 120.0) -> None:
        """Stop asking, then wait (at most ``grace`` s) for the answers still owed."""
        self._stop.set()
        await asyncio.gather(*self._tasks)
        await self.sandbox.world.wait_until(
            lambda: (
                all(
                    len(self.sandbox.sent(u.id)) - self.seen[u.id] >= len(self.asked[u.id])
                    for u in self.users
                )
                or None
            ),
            grace,
        )

    def samples(self) -> tuple[list[tuple[float, float]], int, int]:
        """(asked at, latency s) of every answered question; unanswered and wrong answers."""
        out: list[tuple[float, float]] = []
        unanswered = wrong = 0
        for user in self.users:
            replies = self.sandbox.sent(user.id)[self.seen[user.id] :]
            for index, (asked, expected) in enumerate(self.asked[user.id]):
                if index >= len(replies):
                    unanswered += 1
                    continue
                if expected not in " ".join(replies[index].text.split()):
                    wrong += 1
                out.append((asked, replies[index].time - asked))
        return out, unanswered, wrong


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def figures(latencies: list[float]) -> dict[str, Any]:
    ms = [1000 * v for v in latencies]
    return {
        "n": len(ms),
        "p50": percentile(ms, 0.50),
        "p99": percentile(ms, 0.99),
        "max": max(ms) if ms else float("nan"),
    }


async def run_part(
    kind: str, database: Path, idle_seconds: float, job_timeout: float, interval: float
) -> dict[str, Any]:
    """One bot process on ``database``: an idle window, then the job, customers throughout."""
    from bot.sandbox import SandboxServer

    job = {"segment": "segmentation", "campaign": "campaigns"}[kind]
    with tempfile.TemporaryDirectory() as outbox:
        async with SandboxServer(token=TOKEN) as sandbox:
            customers = Customers(sandbox, faq_questions(), interval)
            bot = await BotProcess.start(database, sandbox.base_url, Path(outbox))
            try:
                ready = await bot.wait(lambda e: e.get("ready"), 300)
                await customers.warm_up()
                # The scans every start runs once in its first 25 s are over by then.
                await asyncio.sleep(max(ready["t"] + 25 - time.monotonic(), 0))
                customers.start()
                await asyncio.sleep(idle_seconds)
                commanded = time.monotonic()
                bot.send(kind)
                started = await bot.wait(
                    lambda e: (
                        e.get("job") == job and e.get("event") == "start" and e["t"] >= commanded
                    ),
                    120,
                )
                ended = await bot.wait(
                    lambda e: (
                        e.get("job") == job
                        and e.get("event") in ("end", "error")
                        and e["t"] >= started["t"]
                    ),
                    job_timeout,
                )
                if ended["event"] == "error":
                    raise RuntimeError(f"the {job} job failed: {ended['error']}")
                await asyncio.sleep(3)
                await customers.stop()
            finally:
                lags = await bot.stop()
            too_many = sandbox.stats.too_many_requests
    samples, unanswered, wrong = customers.samples()
    load_start = min(at for at, _ in samples)
    idle = [lat for at, lat in samples if at < commanded]
    busy = [lat for at, lat in samples if started["t"] <= at <= ended["t"]]
    result = {
        "kind": kind,
        "job_seconds": ended["t"] - started["t"],
        "idle": figures(idle),
        "busy": figures(busy),
        "unanswered": unanswered,
        "wrong": wrong,
        "too_many_requests": too_many,
        "idle_lag_ms": 1000
        * max((lag for t, lag in lags if load_start <= t < commanded), default=0.0),
        "busy_lag_ms": 1000
        * max((lag for t, lag in lags if started["t"] <= t <= ended["t"]), default=0.0),
    }
    print(describe(result), flush=True)
    for event in bot.events:
        if "log" in event and "segmentation as of" in event["log"]:
            print(event["log"], flush=True)
    result["raw"] = {
        "samples": samples,
        "lags": lags,
        "events": bot.events[:-1],
        "commanded": commanded,
        "started": started,
        "ended": ended,
    }
    return result


def describe(r: dict[str, Any]) -> str:
    i, b = r["idle"], r["busy"]
    return (
        f"{r['kind']}: job {r['job_seconds']:.1f} s; idle p50/p99/max "
        f"{i['p50']:.0f}/{i['p99']:.0f}/{i['max']:.0f} ms (n={i['n']}), during the job "
        f"{b['p50']:.0f}/{b['p99']:.0f}/{b['max']:.0f} ms (n={b['n']}); loop lag max idle "
        f"{r['idle_lag_ms']:.0f} ms, during {r['busy_lag_ms']:.0f} ms; unanswered "
        f"{r['unanswered']}, wrong {r['wrong']}, 429 answered {r['too_many_requests']}"
    )


# --------------------------------------------------------------------------- report


def machine(load_at_start: float) -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import telegram

    return (
        f"{platform.platform()}; {model or platform.machine()}; {os.cpu_count()} CPUs; "
        f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; "
        f"python-telegram-bot {telegram.__version__}; load average at the start "
        f"{load_at_start:.1f}, at the end {os.getloadavg()[0]:.1f} (the machine is shared: "
        "other work on it slows every figure)"
    )


def verdict(r: dict[str, Any]) -> str:
    idle, busy = r["idle"]["p99"], r["busy"]["p99"]
    ok = busy <= TARGET_FACTOR * idle and busy < TARGET_MS
    return (
        f"≤ {TARGET_FACTOR:.0f}x idle ({TARGET_FACTOR * idle:.0f} ms) and < {TARGET_MS:.0f} ms: "
        f"{'met' if ok else 'MISSED'}"
    )


def append(args: argparse.Namespace, results: list[dict[str, Any]], load: float) -> None:
    command = "`.venv/bin/python bench/bench_deaf.py"
    if (args.customers, args.orders) != (1_000_000, 10_000_000):
        command += f" --customers {args.customers} --orders {args.orders}"
    if args.interval != 1.0:
        command += f" --interval {args.interval:g}"
    if args.only:
        command += f" --only {args.only}"
    lines = [
        "",
        f"## Never deaf: replies while heavy work runs ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        command + "`",
        "",
        f"Machine: {machine(load)}",
        "",
        f"Load: {CUSTOMERS} customers each asking an FAQ question every {args.interval:g} s "
        f"through the sandbox ({CUSTOMERS / args.interval:g} questions a second), the bot as "
        "`carebot run` runs it (SQLite) in a process of its own, flood guard at "
        f"{FLOOD_PER_MINUTE}/min. Latency: question into the sandbox to the answer's "
        "sendMessage at the sandbox. Idle: the same run, the 30 s before the job.",
        "",
        "| part | job | idle p50 / p99 / max | during the job p50 / p99 / max | loop lag max "
        "idle / during | target (p99) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        i, b = r["idle"], r["busy"]
        what = (
            f"nightly segmentation, {args.customers:,} customers / {args.orders:,} orders"
            if r["kind"] == "segment"
            else f"campaign planning, {args.campaign:,} e-mails"
        )
        lines.append(
            f"| {what} | {r['job_seconds']:.1f} s | {i['p50']:.0f} / {i['p99']:.0f} / "
            f"{i['max']:.0f} ms ({i['n']}) | {b['p50']:.0f} / {b['p99']:.0f} / {b['max']:.0f} ms "
            f"({b['n']}) | {r['idle_lag_ms']:.0f} / {r['busy_lag_ms']:.0f} ms | {verdict(r)} |"
        )
    lost = ", ".join(
        f"{r['kind']}: {r['unanswered']} unanswered, {r['wrong']} wrong, "
        f"{r['too_many_requests']} × 429"
        for r in results
    )
    lines += ["", f"Answers: {lost}.", ""]
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines))
    print(f"appended to {RESULTS}")


def main(args: argparse.Namespace) -> None:
    load = os.getloadavg()[0]
    results = []
    if args.only in (None, "segment"):
        database = segment_database(args.customers, args.orders, args.seed)
        part = run_part("segment", database, args.idle, args.job_timeout, args.interval)
        results.append(asyncio.run(part))
    if args.only in (None, "campaign"):
        with tempfile.TemporaryDirectory() as folder:
            database = Path(folder) / "campaign.db"
            asyncio.run(campaign_database(database, args.campaign))
            part = run_part("campaign", database, args.idle, args.job_timeout, args.interval)
            results.append(asyncio.run(part))
    if args.dump:
        args.dump.write_text(json.dumps({r["kind"]: r.pop("raw") for r in results}))
    for r in results:
        print(f"{r['kind']}: p99 {r['busy']['p99']:.0f} ms against {verdict(r)}")
    if not args.no_record:
        append(args, results, load)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--bot"]:
        import faulthandler

        faulthandler.register(signal.SIGUSR1)  # kill -USR1 shows where the bot is

        logging.basicConfig(level=logging.WARNING)
        asyncio.run(serve_bot(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--campaign", type=int, default=10_000, help="e-mails of the campaign")
    parser.add_argument("--only", choices=("segment", "campaign"))
    parser.add_argument("--idle", type=float, default=30.0, help="seconds measured idle")
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between one customer's questions"
    )
    parser.add_argument("--job-timeout", type=float, default=480.0)
    parser.add_argument(
        "--dump", type=Path, help="write every latency, loop lag and job event to this JSON file"
    )
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    main(parser.parse_args())
