"""The outbox dispatcher: sends pending outbox rows, each at most once, and records the outcome.

Delivery guarantee, and its one window
--------------------------------------
Each row is claimed on its own, immediately before it is sent: one transaction moves it
from ``pending`` to ``sending`` (attempts + 1, ``next_attempt_at`` = now + lease) and
commits; only then does the message go out (for e-mail, the claim commits while the SMTP
envelope is exchanged, and DATA, after which the server owns the message, waits for it);
then the outcome is recorded (``sent``, back to ``pending`` with a backoff, ``failed``
...). Rows are never claimed in advance, so a crash leaves only the rows actually in
flight in ``sending``, plus, for e-mail, delivered rows whose "sent" is written in groups.

A claim whose lease has expired belongs to a dispatcher that died between its claim and its
outcome. Whether the message went out then is unknown: the process may have died before the
request reached Telegram or the SMTP server, or after they accepted it and before the
outcome was committed. Such a row becomes ``uncertain`` and is NOT sent again: delivery is
at most once per idempotency key, and no crash can make a customer get a message twice.

The price is the remaining window: a crash after the claim commits and before the remote
side accepts the message loses that one message (it stays ``uncertain``, counted in the
campaign summary and visible in ``carebot campaign status``). The window is one request per
message in flight (a few milliseconds on a healthy network). Two exceptions lean the other
way, because the other side said nothing: a network error or timeout while waiting for
Telegram's answer, and an SMTP connection lost before the server's final reply, are retried
with backoff; should the remote side have accepted the message anyway, it arrives twice.
On PostgreSQL the e-mail lane's commits do not wait for the disk (``_fast_commits``), so
only a crash of the database server itself could forget a claim and resend that message.

Rules are checked again at send time, because time passes in the queue: a customer who
opted out or was erased meanwhile gets nothing, and a marketing message or greeting that
became due during quiet hours waits for the morning.

Telegram: at most ``telegram_messages_per_second`` overall (token bucket), about one a second
per chat, up to ``telegram_send_concurrency`` requests in flight, 429 honoured. A 403 marks
the customer ``telegram_unreachable`` and, where allowed, queues the same message by e-mail.
E-mail: one SMTP connection reused for every message (``scheduler.email_channel``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from telegram import Bot

from care.interactions import interaction_values
from care.models import (
    Channel,
    Customer,
    Direction,
    Interaction,
    MessageCategory,
    OutboxMessage,
    OutboxStatus,
)
from care.outbox import (
    SKIP_ERASED,
    SKIP_NO_CONSENT,
    SKIP_OPTED_OUT,
    SKIP_TELEGRAM_BLOCKED,
    SKIP_UNREACHABLE,
    Delivered,
    Message,
    OutboxRow,
    Outcome,
    RetryLater,
    Undeliverable,
    channel_usable,
    enqueue_rows,
    new_row,
    quiet_until,
    retry_delay,
)
from care.services import Services
from scheduler.email_channel import EmailSender, build_email, email_channel
from scheduler.telegram_channel import TelegramChannel

log = logging.getLogger("carebot.dispatcher")

INTERRUPTED = "the dispatcher stopped while sending: delivery unknown, not sent again"

RECORD_EVERY = 50  # delivered e-mails written down together

# What _claim did with a row.
CLAIMED, HELD, LOST = "claimed", "held", "lost"


class DrainReport(Counter[str]):
    """Rows handled in one drain, by outcome: sent, retry, failed, skipped, deferred..."""


class Dispatcher:
    """Drains the outbox through the Telegram and e-mail channels."""

    def __init__(
        self,
        services: Services,
        *,
        telegram: TelegramChannel | None,
        email: EmailSender,
        poll_seconds: float = 5.0,
    ) -> None:
        self.services = services
        self.settings = services.settings
        self.db = services.db
        self.telegram = telegram
        self.email = email
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = False

    @classmethod
    def create(cls, services: Services, bot: Bot | None) -> Dispatcher:
        """A dispatcher on a Bot (the Application's, or one made from settings) and the
        e-mail channel the settings describe. Without a Bot only e-mail is sent."""
        telegram = None
        if bot is not None:
            telegram = TelegramChannel(
                bot, messages_per_second=services.settings.telegram_messages_per_second
            )
        return cls(services, telegram=telegram, email=email_channel(services.settings))

    # --- running --------------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the outbox now (something was just queued)."""
        self._wake.set()

    def stop(self) -> None:
        """Finish the messages in flight, claim no more, and return from ``run``."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Drain, wait until the next row is due (or ``wake``), repeat until ``stop``."""
        self._stopping = False
        while not self._stopping:
            try:
                await self.drain()
                if await self.services.care.campaigns.finish_done():
                    continue  # their summaries are due now
                wait = await self._next_due_in()
            except Exception:
                log.exception("dispatching the outbox failed; trying again shortly")
                wait = self.poll_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            self._wake.clear()

    async def close(self) -> None:
        await self.email.close()

    async def _next_due_in(self) -> float:
        async with self.db.uow() as uow:
            earliest = await uow.session.scalar(
                select(func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.channel.in_(self._channels()),
                )
            )
        if earliest is None:
            return self.poll_seconds
        seconds = (earliest - self.services.clock()).total_seconds()
        return min(max(seconds, 0.2), self.poll_seconds)

    def _channels(self) -> list[str]:
        channels = [str(Channel.EMAIL)]
        if self.telegram is not None:
            channels.append(str(Channel.TELEGRAM))
        return channels

    async def drain(self) -> DrainReport:
        """Send every row due now; return what happened. Safe to run in several processes."""
        report = DrainReport()
        report["recovered"] = await self.recover_stale()
        lanes = [self._lane(Channel.EMAIL, self._email_batch, report)]
        if self.telegram is not None:
            lanes.append(self._lane(Channel.TELEGRAM, self._telegram_batch, report))
        await asyncio.gather(*lanes)
        return report

    async def recover_stale(self) -> int:
        """Rows left ``sending`` by a dispatcher that died become ``uncertain`` (never resent)."""
        now = self.services.clock()
        async with self.db.uow() as uow:
            result = await uow.session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.SENDING,
                    OutboxMessage.next_attempt_at < now,
                )
                .values(status=OutboxStatus.UNCERTAIN, last_error=INTERRUPTED)
            )
            await uow.commit()
        count = result.rowcount or 0  # type: ignore[attr-defined]
        if count:
            log.warning("%d outbox message(s) were interrupted while sending", count)
        return count

    async def _lane(
        self,
        channel: str,
        send_batch: Callable[[list[OutboxRow], DrainReport], Awaitable[int]],
        report: DrainReport,
    ) -> None:
        while not self._stopping:
            rows = await self._due(channel)
            if not rows or not await send_batch(rows, report):
                return

    async def _due(self, channel: str) -> list[OutboxRow]:
        columns = [getattr(OutboxMessage, name) for name in OutboxRow.__dataclass_fields__]
        async with self.db.uow() as uow:
            result = await uow.session.execute(
                select(*columns)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.channel == channel,
                    OutboxMessage.next_attempt_at <= self.services.clock(),
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(self.settings.outbox_batch_size)
            )
            return [OutboxRow(**row._mapping) for row in result]

    # --- the lanes ------------------------------------------------------------------------

    async def _email_batch(self, rows: list[OutboxRow], report: DrainReport) -> int:
        """E-mails one after the other over the one SMTP connection; returns rows handled.

        Claims go one by one through a database connection held for the batch. Delivered
        outcomes are written in groups (``RECORD_EVERY``): a row whose "sent" is not
        written yet stays ``sending``, so a crash makes it ``uncertain``, never sent twice.
        """
        delivered: list[tuple[OutboxRow, datetime]] = []
        try:
            async with self.db.engine.connect() as conn:
                await _fast_commits(conn, True)
                try:
                    handled = await self._email_rows(conn, rows, delivered, report)
                    if delivered:
                        await self._record_delivered(conn, delivered, report)
                finally:
                    await _fast_commits(conn, False)
        finally:
            if delivered:  # stopped or cancelled: what is known to be sent is written down
                async with self.db.engine.connect() as conn:
                    await self._record_delivered(conn, delivered, report)
        return handled

    async def _email_rows(
        self,
        conn: AsyncConnection,
        rows: list[OutboxRow],
        delivered: list[tuple[OutboxRow, datetime]],
        report: DrainReport,
    ) -> int:
        handled = 0
        for row in rows:
            if self._stopping:
                break
            problem = await self.email.ready()
            if problem is not None:
                log.warning("e-mail not sent now: %s", problem)
                break
            # The claim commits while the SMTP envelope is being sent.
            claim = asyncio.ensure_future(self._claim_fast(conn, row))
            try:
                outcome = await self.email.send(
                    build_email(row, self.settings), gate=_claimed(claim)
                )
            finally:
                if not claim.done():  # settle it before the connection is used again
                    await asyncio.wait([claim])
            if outcome is None:  # not claimed on the fast path: look closer
                state = await self._claim(row, report)
                if state == LOST:
                    continue
                handled += 1
                if state != CLAIMED:
                    continue
                outcome = await self.email.send(build_email(row, self.settings))
                assert outcome is not None
            else:
                handled += 1
            if isinstance(outcome, Delivered):
                delivered.append((row, self.services.clock()))
                if len(delivered) >= RECORD_EVERY:
                    await self._record_delivered(conn, delivered, report)
            else:
                await self._record(row, outcome, report)
        return handled

    async def _telegram_batch(self, rows: list[OutboxRow], report: DrainReport) -> int:
        """Telegram messages in parallel within the overall and per-chat limits."""
        assert self.telegram is not None
        telegram = self.telegram
        queue = deque(rows)
        waiting: list[tuple[float, OutboxRow]] = []  # rows whose chat is not free yet
        slots = asyncio.Semaphore(max(1, self.settings.telegram_send_concurrency))
        tasks: list[asyncio.Task[str]] = []
        while (queue or waiting) and not self._stopping:
            if not queue:
                ready_at = min(t for t, _ in waiting)
                await asyncio.sleep(max(0.0, ready_at - time.monotonic()))
                now = time.monotonic()
                queue.extend(row for t, row in waiting if t <= now)
                waiting = [(t, row) for t, row in waiting if t > now]
                continue
            row = queue.popleft()
            chat_id = int(row.recipient)
            wait = telegram.chat_wait(chat_id)
            if wait > 0:
                waiting.append((time.monotonic() + wait, row))
                continue
            await slots.acquire()
            await telegram.acquire(chat_id)
            task = asyncio.create_task(self._deliver_telegram(row, chat_id, report))
            tasks.append(task)
            task.add_done_callback(lambda _task: slots.release())
        results = await asyncio.gather(*tasks)
        return sum(1 for state in results if state != LOST)

    async def _deliver_telegram(self, row: OutboxRow, chat_id: int, report: DrainReport) -> str:
        assert self.telegram is not None
        async with self.db.engine.connect() as conn:
            state = await self._claim_fast(conn, row)
        state = state or await self._claim(row, report)
        if state == CLAIMED:
            outcome = await self.telegram.send(chat_id, row.body, row.reply_markup)
            await self._record(row, outcome, report)
        return state

    # --- claiming and recording -------------------------------------------------------------

    async def _claim_fast(self, conn: AsyncConnection, row: OutboxRow) -> str | None:
        """Claim a row that passes the rules, in one UPDATE; None means "look closer"
        (``_claim`` then finds out why: opted out, erased, quiet hours, or taken)."""
        now = self.services.clock()
        if row.category != MessageCategory.TRANSACTIONAL and quiet_until(now, self.settings):
            return None
        conditions = [OutboxMessage.id == row.id, OutboxMessage.status == OutboxStatus.PENDING]
        if row.customer_id is not None:
            email = row.channel == Channel.EMAIL
            consent = Customer.consent_email if email else Customer.consent_telegram
            unreachable = Customer.email_unreachable if email else Customer.telegram_unreachable
            rules = [
                Customer.id == row.customer_id,
                Customer.erased_at.is_(None),
                unreachable.is_(False),
            ]
            if row.category != MessageCategory.TRANSACTIONAL:
                rules.append(consent.is_(True))
            conditions.append(exists().where(*rules))
        result = await conn.execute(self._claiming(now, *conditions))
        await conn.commit()
        return CLAIMED if result.rowcount else None

    async def _record_delivered(
        self,
        conn: AsyncConnection,
        delivered: list[tuple[OutboxRow, datetime]],
        report: DrainReport,
    ) -> None:
        """Mark a group of delivered rows sent and log them, in one transaction."""
        await conn.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == bindparam("row_id"),
                (OutboxMessage.status == OutboxStatus.SENDING)
                | (OutboxMessage.status == OutboxStatus.UNCERTAIN),
            )
            .values(status=OutboxStatus.SENT, sent_at=bindparam("at"), last_error=None),
            [{"row_id": row.id, "at": at} for row, at in delivered],
        )
        await conn.execute(
            insert(Interaction),
            [_interaction_values(row, at) for row, at in delivered],
        )
        await conn.commit()
        report["sent"] += len(delivered)
        delivered.clear()

    async def _claim(self, row: OutboxRow, report: DrainReport) -> str:
        """Check the rules again and claim the row for sending, in one short transaction.

        Returns CLAIMED (send it now), HELD (skipped or deferred here) or LOST (another
        dispatcher has it).
        """
        now = self.services.clock()
        async with self.db.uow() as uow:
            session = uow.session
            pending = (OutboxMessage.id == row.id, OutboxMessage.status == OutboxStatus.PENDING)
            customer = None
            if row.customer_id is not None:
                customer = await session.get(Customer, row.customer_id)
            held = self._hold(row, customer, now)
            if held is not None:
                status, value = held
                if status == "defer":
                    values: dict[str, Any] = {"next_attempt_at": value}
                elif status == "fallback" and customer is not None:
                    moved = await self._fallback(session, row, customer, now)
                    values = {
                        "status": OutboxStatus.SKIPPED if moved else OutboxStatus.FAILED,
                        "skip_reason": SKIP_TELEGRAM_BLOCKED if moved else SKIP_UNREACHABLE,
                    }
                else:
                    values = {"status": OutboxStatus.SKIPPED, "skip_reason": value}
                statement = update(OutboxMessage).where(*pending).values(**values)
                result = await session.execute(statement)
                await uow.commit()
                if not result.rowcount:  # type: ignore[attr-defined]
                    return LOST
                report["deferred" if status == "defer" else "skipped"] += 1
                return HELD
            result = await session.execute(self._claiming(now, *pending))
            await uow.commit()
        return CLAIMED if result.rowcount else LOST  # type: ignore[attr-defined]

    def _claiming(self, now: datetime, *where: Any) -> Any:
        """The UPDATE that claims the row ``where`` selects: ``sending``, one more attempt,
        and a lease (``next_attempt_at``) after which a claim is taken for abandoned."""
        lease = now + timedelta(seconds=self.settings.outbox_lease_seconds)
        return (
            update(OutboxMessage)
            .where(*where)
            .values(
                status=OutboxStatus.SENDING,
                attempts=OutboxMessage.attempts + 1,
                next_attempt_at=lease,
            )
        )

    def _hold(
        self, row: OutboxRow, customer: Customer | None, now: datetime
    ) -> tuple[str, Any] | None:
        """Why the row must not go now: ("skip", reason), ("defer", until), ("fallback", _)."""
        if customer is None:
            return None
        if customer.erased_at is not None:
            return ("skip", SKIP_ERASED)
        reason = channel_usable(customer, row.channel, row.category)
        if reason == SKIP_NO_CONSENT:
            return ("skip", SKIP_OPTED_OUT)
        if reason == SKIP_UNREACHABLE:
            return ("fallback", None) if row.channel == Channel.TELEGRAM else ("skip", reason)
        if row.category != MessageCategory.TRANSACTIONAL:
            morning = quiet_until(now, self.settings)
            if morning is not None:
                return ("defer", morning)
        return None

    async def _record(self, row: OutboxRow, outcome: Outcome, report: DrainReport) -> None:
        """Write what the channel said, in one transaction (with the interaction log)."""
        now = self.services.clock()
        attempts = row.attempts + 1  # as claimed
        async with self.db.uow() as uow:
            session = uow.session
            mine = (
                OutboxMessage.id == row.id,
                OutboxMessage.status.in_([OutboxStatus.SENDING, OutboxStatus.UNCERTAIN]),
            )
            values: dict[str, Any]
            if isinstance(outcome, Delivered):
                values = {"status": OutboxStatus.SENT, "sent_at": now, "last_error": None}
                session.add(Interaction(**_interaction_values(row, now)))
                report["sent"] += 1
            elif isinstance(outcome, RetryLater):
                if not outcome.counts:
                    attempts -= 1
                if attempts >= self.settings.outbox_max_attempts:
                    values = {"status": OutboxStatus.FAILED, "last_error": outcome.error}
                    report["failed"] += 1
                else:
                    delay = (
                        timedelta(seconds=outcome.after)
                        if outcome.after is not None
                        else retry_delay(attempts, self.settings)
                    )
                    values = {
                        "status": OutboxStatus.PENDING,
                        "next_attempt_at": now + delay,
                        "last_error": outcome.error,
                    }
                    report["retry"] += 1
                values["attempts"] = attempts
            else:
                values = await self._undeliverable(session, row, outcome, now)
                report["failed" if values["status"] == OutboxStatus.FAILED else "skipped"] += 1
            await session.execute(update(OutboxMessage).where(*mine).values(**values))
            await uow.commit()
        if isinstance(outcome, Undeliverable):
            log.info("outbox %s not delivered: %s", row.idempotency_key, outcome.error)

    async def _undeliverable(
        self, session: Any, row: OutboxRow, outcome: Undeliverable, now: datetime
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            "status": OutboxStatus.FAILED,
            "last_error": outcome.error,
            "skip_reason": outcome.reason,
        }
        customer = await session.get(Customer, row.customer_id) if row.customer_id else None
        if customer is None or not outcome.unreachable:
            return values
        if row.channel == Channel.TELEGRAM:
            customer.telegram_unreachable = True
            if await self._fallback(session, row, customer, now):
                values.update(status=OutboxStatus.SKIPPED, skip_reason=SKIP_TELEGRAM_BLOCKED)
        else:
            customer.email_unreachable = True
        return values

    async def _fallback(
        self, session: Any, row: OutboxRow, customer: Customer, now: datetime
    ) -> bool:
        """Queue the same message by e-mail after Telegram refused it, if that is allowed:
        marketing needs e-mail consent, transactional messages only an address. Messages
        with buttons (surveys) have no e-mail form."""
        if row.reply_markup or row.channel != Channel.TELEGRAM:
            return False
        if channel_usable(customer, Channel.EMAIL, row.category) is not None:
            return False
        outbox = self.services.care.outbox
        content = Message(body=row.body, subject=row.subject or self.settings.shop_name)
        subject, text, html = outbox.email_parts(customer.id, row.language, content)
        email = new_row(
            f"{row.idempotency_key}:email",
            channel=Channel.EMAIL,
            category=row.category,
            recipient=customer.email or "",
            template=row.template,
            language=row.language,
            subject=subject,
            body=text,
            body_html=html,
            now=now,
            customer_id=customer.id,
            campaign_id=row.campaign_id,
        )
        await enqueue_rows(session, [email])
        self.wake()
        return True


def _interaction_values(row: OutboxRow, at: datetime) -> dict[str, Any]:
    """The interaction log entry of a sent message, written with its outcome so the log
    and the outbox never disagree."""
    telegram = row.channel == Channel.TELEGRAM
    chat_id = int(row.recipient) if telegram else None
    return interaction_values(
        direction=Direction.OUTBOUND,
        telegram_user_id=chat_id if telegram and row.customer_id else None,
        chat_id=chat_id,
        kind="care",
        text=row.body if telegram else f"{row.subject}\n\n{row.body}",
        at=at,
        channel=row.channel,
        customer_id=row.customer_id,
    )


async def _claimed(claim: Awaitable[str | None]) -> bool:
    return await claim == CLAIMED


async def _fast_commits(conn: AsyncConnection, on: bool) -> None:
    """On PostgreSQL, let this connection's commits return before the WAL is flushed.

    A claim then costs a round trip instead of a disk flush. Only a crash of the database
    server itself (not of this process) within a fraction of a second could forget a
    claim or a "sent", which could send that one message again; SQLite (WAL, synchronous
    NORMAL) behaves the same way already.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SET synchronous_commit = " + ("off" if on else "on")))
        await conn.commit()
