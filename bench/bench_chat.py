"""Chat benchmark: the bot's CPU time per customer message, beside a bare echo bot.

Run from the repository root::

    .venv/bin/python bench/bench_chat.py                       # 20 customers x 25 messages
    .venv/bin/python bench/bench_chat.py --customers 5 --messages 10 --rounds 1 --no-record
    .venv/bin/python bench/bench_chat.py --profile chat.html   # also profile the last CareBot run

N customers each write M messages to the bot (FAQ questions as customers type them, with
and without diacritics, some vague, some the FAQ cannot answer; every fifth message is
/orders) and wait for each answer. Two bots take the same load, one after the other, in
turn, ``--rounds`` times each:

- CareBot: the real Application of bot/app.py with its services, as the e2e tests run it
  (the scheduler and web page of ``carebot run`` stay off: they are not message handling),
  on a SQLite database in a temporary directory (or PostgreSQL with ``--postgresql``), the
  demo FAQ imported and every customer linked, with three orders each;
- a bare python-telegram-bot echo bot with the same ``AIORateLimiter(max_retries=3)`` and
  the same long polling, which answers every text with the text itself.

How the CPU time is measured: the sandbox Bot API server and the customers who talk to it
run in a process of their own, as Telegram and its users would, so nothing of theirs is
counted. The bot runs alone in this process; its CPU time is ``time.process_time()``
(every thread of the process: the event loop and the database driver's threads) from the
moment the customers start until every answer has arrived and one more second has passed,
so the bot's state handed to its persistence each second is counted too. Divided by the
messages answered, that is the CPU per message. The best run of each bot counts, so that
a pause of the shared machine does not decide the ratio.

The customers keep to Telegram's limits (each reads the answer and writes again a second
later; the sandbox enforces the limits and counts any 429), so both bots see the same
paced load. That is faster than CareBot's flood control lets one person write for long
(20 a minute), so the bench raises it: every message must be answered here.
Target: CareBot at most twice the echo bot's CPU per message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy  # noqa: E402
import telegram  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import AIORateLimiter, Application, ContextTypes, MessageHandler, filters  # noqa: E402

from bot.app import build_application  # noqa: E402
from bot.runner import running  # noqa: E402
from bot.sandbox import Limits, SandboxServer  # noqa: E402
from care.core.models import Customer, Order  # noqa: E402
from care.core.settings import Settings  # noqa: E402
from care.services import Services, build_services  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS.md")
DEMO_FAQ = ROOT / "care" / "io" / "demo_faq.yaml"
TOKEN = "123456:bench-token"
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 10:00 in Ho Chi Minh City
FIRST_USER = 700_000
TARGET_RATIO = 2.0
SETTLE_SECONDS = 1.1  # one persistence interval after the last answer
PACE_SECONDS = 1.05  # Telegram lets a chat take about one message a second
FLOOD_LIMIT = 120  # messages a minute a customer may write here (the default is 20)

# What customers type: answered, answered despite missing diacritics or typos, vague
# ("did you mean"), and questions the FAQ has no answer for (kept as unmet demand).
QUESTIONS = {
    "vi": (
        "Cửa hàng mở cửa lúc mấy giờ?",
        "cua hang mo cua luc may gio",
        "phi giao hang bao nhieu",
        "Sản phẩm được bảo hành bao lâu?",
        "có mua trả góp được không",
        "giao hàng",
        "Có những hình thức thanh toán nào?",
        "Con mèo của tôi tên là gì?",
    ),
    "en": (
        "What are your opening hours?",
        "how long does delivery take",
        "how long is the warranty",
        "Can I get a VAT invoice?",
        "delivery",
        "Which payment methods do you accept?",
        "What is the name of my cat?",
    ),
}
ORDERS_EVERY = 5  # every fifth message is /orders


# --- the customers, in the sandbox's process --------------------------------------------------


def language_of(n: int) -> str:
    return "en" if n % 4 == 3 else "vi"


async def run_sandbox(customers: int, messages: int) -> None:
    """The sandbox and the customers: wait for "go" on stdin, talk, print the outcome."""
    async with SandboxServer(token=TOKEN, limits=Limits()) as sandbox:
        users = [
            sandbox.add_user(FIRST_USER + n, f"Khách {n}", language_code=language_of(n))
            for n in range(customers)
        ]
        print("ready", sandbox.base_url, sandbox.base_file_url, flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.readline)  # "go"
        started = time.perf_counter()
        latencies: list[float] = []
        failures: list[str] = []

        async def customer(n: int) -> None:
            user = users[n]
            rng = random.Random(n)
            await asyncio.sleep(rng.random() * PACE_SECONDS)  # not all at the same instant
            questions = QUESTIONS[language_of(n)]
            for i in range(messages):
                text = "/orders" if i % ORDERS_EVERY == ORDERS_EVERY - 1 else rng.choice(questions)
                sent_at = time.perf_counter()
                mark = sandbox.mark()
                sandbox.send_text(user, text)
                try:
                    await sandbox.wait_for(user.id, after=mark, timeout=30)
                except TimeoutError:
                    failures.append(f"{user.id}: no answer to {text!r}")
                    return
                latencies.append(time.perf_counter() - sent_at)
                await asyncio.sleep(PACE_SECONDS)  # reads the answer, then asks again

        await asyncio.gather(*(customer(n) for n in range(customers)))
        wall = time.perf_counter() - started
        latencies.sort()
        print(
            "done",
            json.dumps(
                {
                    "answered": len(latencies),
                    "failures": failures[:5],
                    "wall": wall,
                    "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
                    "p95_ms": 1000 * latencies[int(len(latencies) * 0.95)] if latencies else None,
                    "too_many_requests": sandbox.stats.too_many_requests,
                    "requests": dict(sandbox.stats.requests),
                }
            ),
            flush=True,
        )
        await loop.run_in_executor(None, sys.stdin.readline)  # "stop"


class SandboxProcess:
    """The sandbox and its customers in a child process, spoken to through stdin/stdout."""

    def __init__(self, customers: int, messages: int) -> None:
        self.customers = customers
        self.messages = messages
        self.process: asyncio.subprocess.Process | None = None
        self.base_url = ""
        self.base_file_url = ""

    async def __aenter__(self) -> SandboxProcess:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--sandbox",
            str(self.customers),
            str(self.messages),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        _, self.base_url, self.base_file_url = (await self._line()).split()
        return self

    async def _line(self) -> str:
        assert self.process is not None and self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox process ended")
        return line.decode().strip()

    async def talk(self) -> dict[str, Any]:
        """Let the customers talk; the outcome once every answer has arrived."""
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        await self.process.stdin.drain()
        line = await self._line()
        return dict(json.loads(line.split(" ", 1)[1]))

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(b"stop\n")
        await self.process.stdin.drain()
        await self.process.wait()


# --- the two bots ---------------------------------------------------------------------------


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    await message.chat.send_message(message.text)


async def echo_run(sandbox: SandboxProcess) -> dict[str, Any]:
    application = (
        Application.builder()
        .token(TOKEN)
        .base_url(sandbox.base_url)
        .base_file_url(sandbox.base_file_url)
        .rate_limiter(AIORateLimiter(max_retries=3))
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(
            poll_interval=0.0, timeout=10, allowed_updates=Update.ALL_TYPES
        )
        await application.start()
        try:
            return await measured(sandbox)
        finally:
            await application.updater.stop()
            await application.stop()


async def carebot_run(
    sandbox: SandboxProcess, settings: Settings, profile: Any = None
) -> dict[str, Any]:
    settings = settings.model_copy(
        update={
            "telegram_base_url": sandbox.base_url,
            "telegram_base_file_url": sandbox.base_file_url,
        }
    )
    services = build_services(settings, clock=clock())
    application = build_application(settings, services)
    async with running(application, services):
        return await measured(sandbox, profile)


async def measured(sandbox: SandboxProcess, profile: Any = None) -> dict[str, Any]:
    """The customers' run, with this process's CPU time over it."""
    cpu, loop_cpu, wall = time.process_time(), time.thread_time(), time.perf_counter()
    if profile is not None:
        profile.start()
    outcome = await sandbox.talk()
    await asyncio.sleep(SETTLE_SECONDS)
    if profile is not None:
        profile.stop()
    outcome["cpu"] = time.process_time() - cpu
    outcome["loop_cpu_ms"] = 1000 * (time.thread_time() - loop_cpu) / max(outcome["answered"], 1)
    outcome["bot_wall"] = time.perf_counter() - wall
    outcome["cpu_ms"] = 1000 * outcome["cpu"] / max(outcome["answered"], 1)
    return outcome


def profiler() -> Any:
    """A sampling profiler of the event loop's thread (pyinstrument, from the bench extra)."""
    from pyinstrument import Profiler

    return Profiler(interval=0.0005, async_mode="disabled")


def clock() -> Any:
    started = time.monotonic()
    return lambda: NOW + timedelta(seconds=time.monotonic() - started)


# --- the shop's data ------------------------------------------------------------------------


async def seed(settings: Settings, customers: int) -> None:
    """The demo FAQ and ``customers`` linked customers with three orders each."""
    services = build_services(settings, clock=clock())
    await services.start()
    try:
        report = await services.faq.import_file(DEMO_FAQ)
        assert not report.errors, report.errors
        await add_customers(services, customers)
    finally:
        await services.close()


async def add_customers(services: Services, count: int) -> None:
    rows = [
        {
            "code": f"KH{n:06d}",
            "kind": "individual",
            "name": f"Khách hàng {n}",
            "phone": f"+8491{n:07d}",
            "email": f"khach{n}@example.com",
            "telegram_user_id": FIRST_USER + n,
            "language": language_of(n),
            "consent_telegram": True,
            "consent_email": True,
            "telegram_unreachable": False,
            "email_unreachable": False,
            "source": "import",
            "created_at": NOW,
            "updated_at": NOW,
        }
        for n in range(count)
    ]
    async with services.db.uow() as uow:
        await uow.session.execute(insert(Customer), rows)
        ids = (await uow.session.scalars(select(Customer.id).order_by(Customer.id))).all()
        orders = [
            {
                "code": f"DH{customer_id:06d}{k}",
                "customer_id": customer_id,
                "kind": "order",
                "status": ("delivered", "shipping", "confirmed")[k],
                "placed_at": NOW - timedelta(days=10 * (k + 1)),
                "amount": 350_000 * (k + 1),
                "margin": 70_000 * (k + 1),
                "discount": 0,
            }
            for customer_id in ids
            for k in range(3)
        ]
        await uow.session.execute(insert(Order), orders)
        await uow.commit()


# --- the run and the record -------------------------------------------------------------------


async def main(arguments: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING)
    load_at_start = os.getloadavg()[0]
    profile = profiler() if arguments.profile else None
    schema = f"bench_chat_{os.getpid()}"
    runs: dict[str, list[dict[str, Any]]] = {"echo": [], "carebot": []}
    with tempfile.TemporaryDirectory() as folder:
        database: dict[str, Any] = {"database_url": f"sqlite:///{Path(folder) / 'bench.db'}"}
        if arguments.postgresql:
            await postgres_schema(arguments.postgresql, schema, create=True)
            database = {"database_url": arguments.postgresql, "database_schema": schema}
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            telegram_token=TOKEN,
            staff_chat_id=None,
            outbox_dir=Path(folder) / "outbox",
            # The customers write about once a second, faster than flood control lets a
            # person write for long: every message must be answered here.
            flood_messages_per_minute=FLOOD_LIMIT,
            **database,
        )
        try:
            await seed(settings, arguments.customers)
            dialect = "postgresql" if arguments.postgresql else "sqlite"
            print(
                f"{arguments.customers} customers x {arguments.messages} messages, "
                f"{arguments.rounds} rounds, CareBot on {dialect} …",
                flush=True,
            )
            for round_number in range(arguments.rounds):
                for kind in ("echo", "carebot"):
                    async with SandboxProcess(arguments.customers, arguments.messages) as sandbox:
                        if kind == "echo":
                            outcome = await echo_run(sandbox)
                        else:
                            wanted = profile if round_number == arguments.rounds - 1 else None
                            outcome = await carebot_run(sandbox, settings, wanted)
                    runs[kind].append(outcome)
                    print(
                        f"  round {round_number + 1} {kind:8}: {outcome['cpu_ms']:.2f} ms CPU "
                        f"per message, {outcome['loop_cpu_ms']:.2f} ms of it in the event "
                        f"loop's thread ({outcome['answered']} answered in "
                        f"{outcome['wall']:.1f} s, p50 {outcome['p50_ms']:.0f} ms, p95 "
                        f"{outcome['p95_ms']:.0f} ms, 429: {outcome['too_many_requests']})",
                        flush=True,
                    )
                    if outcome["failures"]:
                        print("    unanswered:", outcome["failures"], flush=True)
        finally:
            if arguments.postgresql:
                await postgres_schema(arguments.postgresql, schema, create=False)
    best = {kind: min(outcomes, key=lambda o: o["cpu_ms"]) for kind, outcomes in runs.items()}
    ratio = best["carebot"]["cpu_ms"] / best["echo"]["cpu_ms"]
    print(
        f"CPU per message, best of {arguments.rounds}: CareBot {best['carebot']['cpu_ms']:.2f} "
        f"ms, echo bot {best['echo']['cpu_ms']:.2f} ms; ratio {ratio:.2f}x "
        f"(target ≤ {TARGET_RATIO:.0f}x: {'met' if ratio <= TARGET_RATIO else 'MISSED'})"
    )
    if profile is not None:
        print(profile.output_text(unicode=True, show_all=False, time="percent_of_total"))
        await asyncio.to_thread(
            Path(arguments.profile).write_text, profile.output_html(), encoding="utf-8"
        )
        print(f"profile of the last CareBot run written to {arguments.profile}")
    if not arguments.no_record:
        append(arguments, runs, best, ratio, load_at_start)


async def postgres_schema(url: str, schema: str, *, create: bool) -> None:
    """A schema of the bench's own in the PostgreSQL database, dropped again at the end."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        if create:
            await connection.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await connection.close()


def machine(load_at_start: float) -> str:
    import sqlite3

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
        f"Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; "
        f"python-telegram-bot {telegram.__version__}; SQLAlchemy {sqlalchemy.__version__}; "
        f"load average at the start {load_at_start:.1f}, at the end {os.getloadavg()[0]:.1f} "
        "(the machine is shared: other work slows wall times; CPU time is the bot's own)"
    )


def append(
    arguments: argparse.Namespace,
    runs: dict[str, list[dict[str, Any]]],
    best: dict[str, dict[str, Any]],
    ratio: float,
    load_at_start: float,
) -> None:
    dialect = "postgresql" if arguments.postgresql else "sqlite"
    command = (
        f"`.venv/bin/python bench/bench_chat.py --customers {arguments.customers} "
        f"--messages {arguments.messages} --rounds {arguments.rounds}"
        + (f" --postgresql {arguments.postgresql}`" if arguments.postgresql else "`")
    )
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    lines = [
        "",
        f"## Chat: CPU per customer message, {dialect} ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
        "",
        command,
        "",
        f"Machine: {machine(load_at_start)}",
        "",
        f"{arguments.customers} customers x {arguments.messages} messages (FAQ questions, "
        f"every {ORDERS_EVERY}th /orders); each customer reads the answer and writes again "
        f"a second later (flood control raised to {FLOOD_LIMIT} a minute for the bench). "
        "The sandbox and the customers run in a process of their own; the two bots in turn "
        "in this one. Measured: the bot's process CPU (`time.process_time`, all its threads) "
        "from the first message to one second after the last answer, divided by the "
        "answers. Best of the rounds counts.",
        "",
        "| figure | CareBot | echo bot (PTB + AIORateLimiter) | target |",
        "| --- | --- | --- | --- |",
        f"| CPU per message, best run | {best['carebot']['cpu_ms']:.2f} ms | "
        f"{best['echo']['cpu_ms']:.2f} ms | CareBot ≤ {TARGET_RATIO:.0f}x echo: "
        f"{ratio:.2f}x, {verdict} |",
        f"| CPU per message, every run | {_each(runs['carebot'])} | {_each(runs['echo'])} | |",
        f"| of it in the event loop's thread (best run) | {best['carebot']['loop_cpu_ms']:.2f} ms "
        f"| {best['echo']['loop_cpu_ms']:.2f} ms | |",
        f"| messages answered (every run) | {_answered(runs['carebot'])} | "
        f"{_answered(runs['echo'])} | all |",
        f"| answer latency p50 / p95 (best run) | {best['carebot']['p50_ms']:.0f} / "
        f"{best['carebot']['p95_ms']:.0f} ms | {best['echo']['p50_ms']:.0f} / "
        f"{best['echo']['p95_ms']:.0f} ms | |",
        f"| 429 Too Many Requests (all runs) | "
        f"{sum(r['too_many_requests'] for r in runs['carebot'])} | "
        f"{sum(r['too_many_requests'] for r in runs['echo'])} | 0 |",
        "",
    ]
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines))
    print(f"appended to {RESULTS}")


def _answered(outcomes: list[dict[str, Any]]) -> str:
    return ", ".join(str(o["answered"]) for o in outcomes)


def _each(outcomes: list[dict[str, Any]]) -> str:
    return ", ".join(f"{o['cpu_ms']:.2f}" for o in outcomes) + " ms"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--sandbox"]:
        asyncio.run(run_sandbox(int(sys.argv[2]), int(sys.argv[3])))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--messages", type=int, default=25, help="messages per customer")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="profile the last CareBot run (pyinstrument) and write it to FILE "
        "as HTML; the text summary is printed",
    )
    parser.add_argument(
        "--postgresql",
        metavar="URL",
        help="run CareBot on this PostgreSQL database (in a schema of its own) instead of SQLite",
    )
    asyncio.run(main(parser.parse_args()))
