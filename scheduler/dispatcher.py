"""The outbox dispatcher: sends pending outbox rows, each at most once, and records the outcome.

Delivery guarantee, and its one window
--------------------------------------
Rows are claimed in groups of up to ``CLAIM_GROUP``: one transaction moves them from
``pending`` to ``sending`` (attempts + 1, a lease in ``next_attempt_at``) under the token
of this dispatcher's send journal (``scheduler.send_journal``), checking consent, erasure,
reachability and quiet hours in the same UPDATE. The journal then notes each message just
before it leaves and as soon as it is accepted, and one more transaction per group writes
the outcomes (sent, with the interaction log) and puts back any row the group did not get
to (the dispatcher was stopped). So a campaign costs two commits per fifty messages, not
two per message, and nothing is claimed that is not about to be sent.

A dispatcher that dies leaves its journal behind; the next drain, in this process or a new
one, reads it and settles the group at once: accepted rows become ``sent``, rows never
handed over go back to ``pending`` and are sent, and the one message per request in flight
(handed over, no answer yet) becomes ``uncertain`` and is NOT sent again. Delivery is at
most once per idempotency key; no crash can make a customer get a message twice, and the
only message a crash can cost is the one on the wire at that instant (it stays
``uncertain``, counted in the campaign summary and visible in ``carebot campaign status``).
A claim without a journal here (its dispatcher ran on another machine) is taken for
abandoned once its lease has expired, and becomes ``uncertain`` the same way.

Two exceptions lean the other way, because the other side said nothing: a network error or
timeout while waiting for Telegram's answer, and an SMTP connection lost before the
server's final reply, are retried with backoff; should the remote side have accepted the
message anyway, it arrives twice.

Rules are checked again at send time, because time passes in the queue: a customer who
opted out or was erased meanwhile gets nothing, and a marketing message or greeting that
became due during quiet hours waits for the morning.

Telegram: at most ``telegram_messages_per_second`` overall, about one a second per chat, no
more requests in flight than the rate needs (at most ``telegram_send_concurrency``), 429
honoured (``scheduler.telegram_channel``). In the bot's process the slots come from the
bot's own budget (``scheduler.telegram_budget``): campaign and programme messages give way
to replies to customers and to the staff chat, and the staff chat's rows are sent first
and among the replies. That process's dispatcher is ``resident``: it holds the database's
dispatcher lock (``dispatcher_lock``), which tells `carebot campaign send` in a
shell to leave the sending to it. A 403 marks the customer
``telegram_unreachable`` and, where allowed, queues the same message by e-mail.
E-mail: one SMTP connection reused for every message (``scheduler.email_channel``), each
sent as the bytes built when it was queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from telegram import Bot

from care.core.db import Database
from care.core.interactions import interaction_values
from care.core.models import (
    Campaign,
    CampaignStatus,
    Channel,
    Customer,
    Direction,
    Interaction,
    OutboxMessage,
    OutboxStatus,
)
from care.core.process_lock import ProcessLock, os_lock
from care.outreach import (
    SKIP_CANCELLED,
    SKIP_TELEGRAM_BLOCKED,
    SKIP_UNREACHABLE,
    Delivered,
    Message,
    OutboxRow,
    RetryLater,
    Undeliverable,
    channel_usable,
    enqueue_rows,
    hold_at_send,
    retry_delay,
    sendable_now,
)
from care.services import Services
from scheduler import send_journal
from scheduler.email_channel import EmailSender, email_channel, outgoing_email
from scheduler.send_journal import JournalRecords, SendJournal
from scheduler.telegram_channel import TelegramChannel
from scheduler.webhook_channel import WebhookChannel

log = logging.getLogger("carebot.dispatcher")

INTERRUPTED = "the dispatcher stopped while sending: delivery unknown, not sent again"
DISPATCHER_LOCK = "dispatcher"


def dispatcher_lock(db: Database) -> ProcessLock:
    """The lock a running process's dispatcher holds while it sends this database's outbox.

    `carebot campaign send` in a shell asks whether it is held: if so, it only queues the
    campaign's rows for that dispatcher, so that two senders pacing themselves each to
    Telegram's limit never together exceed it (``care.core.process_lock`` says why an
    OS-held lock rather than a heartbeat row).
    """
    return os_lock(db.url, DISPATCHER_LOCK, schema=db.schema)


CLAIM_GROUP = 50  # rows claimed, and their outcomes written, together
LOGGED_COLUMNS = ("id", "channel", "recipient", "subject", "body", "customer_id")

# What _claim did with a row.
CLAIMED, HELD, LOST = "claimed", "held", "lost"


class DrainReport(Counter[str]):
    """Rows handled in one drain, by outcome: sent, retry, failed, skipped, deferred..."""


@dataclass(frozen=True)
class _Group:
    """Rows claimed together under one send journal."""

    journal: SendJournal
    claimed: list[OutboxRow]
    handled: int  # claimed, skipped or deferred here (not taken by another dispatcher)


Sender = Callable[[list[OutboxRow], SendJournal, DrainReport], Awaitable[list[asyncio.Task[None]]]]
"""A lane's way of sending a claimed group; returns the requests still in flight."""


def _chunks(rows: list[OutboxRow], size: int) -> list[list[OutboxRow]]:
    return [rows[start : start + size] for start in range(0, len(rows), size)]


class Dispatcher:
    """Drains the outbox through the Telegram and e-mail channels."""

    def __init__(
        self,
        services: Services,
        *,
        telegram: TelegramChannel | None,
        email: EmailSender,
        poll_seconds: float = 5.0,
        lock: ProcessLock | None = None,
        webhooks: WebhookChannel | None = None,
    ) -> None:
        """``lock``: held while ``run`` runs, so other processes leave the sending to this
        one (the resident dispatcher of `carebot run`)."""
        self.services = services
        self.settings = services.settings
        self.db = services.db
        self.telegram = telegram
        self.email = email
        # Integrators' webhooks; made from the services unless given (tests give their own).
        self.webhooks = webhooks or WebhookChannel(
            services.webhooks,
            timeout=services.settings.webhook_timeout_seconds,
            clock=services.clock,
        )
        self.poll_seconds = poll_seconds
        self.journal_dir = services.settings.outbox_dir / "journal"
        self.lock = lock
        self._staff_chat = (
            str(services.settings.staff_chat_id)
            if services.settings.staff_chat_id is not None
            else None
        )
        self._wake = asyncio.Event()
        self._stopping = False

    @classmethod
    def create(cls, services: Services, bot: Bot | None, *, resident: bool = False) -> Dispatcher:
        """A dispatcher on a Bot (the Application's, whose budget it then shares, or one
        made from settings) and the e-mail channel the settings describe. Without a Bot
        only e-mail is sent. ``resident``: the long-running dispatcher of the bot's
        process, which holds the database's dispatcher lock while it runs."""
        telegram = None
        if bot is not None:
            telegram = TelegramChannel(
                bot,
                messages_per_second=services.settings.telegram_messages_per_second,
                max_in_flight=services.settings.telegram_send_concurrency,
            )
        lock = dispatcher_lock(services.db) if resident else None
        return cls(services, telegram=telegram, email=email_channel(services.settings), lock=lock)

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
        if self.lock is not None and not await self._hold_lock(self.lock):
            log.warning(
                "another process sends this database's outbox too; each paces Telegram on "
                "its own, so together they may exceed its limits"
            )
        try:
            await self._run()
        finally:
            if self.lock is not None:
                await self.lock.release()

    @staticmethod
    async def _hold_lock(lock: ProcessLock) -> bool:
        """Take the dispatcher lock; a lock that cannot be taken for a fault (the database
        unreachable, a read-only folder) must not stop the sending."""
        try:
            return await lock.acquire()
        except Exception:
            log.exception("the dispatcher lock could not be taken; sending without it")
            return True

    async def _run(self) -> None:
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
        await self.webhooks.close()

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
        channels = [str(Channel.EMAIL), str(Channel.WEBHOOK)]
        if self.telegram is not None:
            channels.append(str(Channel.TELEGRAM))
        return channels

    async def drain(self) -> DrainReport:
        """Send every row due now; return what happened. Safe to run in several processes."""
        report = DrainReport()
        report["recovered"] = await self.recover_stale()
        lanes = [
            self._lane(Channel.EMAIL, self._send_emails, report),
            self._lane(Channel.WEBHOOK, self._send_webhooks, report),
        ]
        if self.telegram is not None:
            lanes.append(self._lane(Channel.TELEGRAM, self._send_telegrams, report))
        await asyncio.gather(*lanes)
        return report

    async def recover_stale(self) -> int:
        """Settle the groups of dispatchers that died; returns the rows recovered.

        A journal left here says what became of each row. Claims with no journal here whose
        lease has expired become ``uncertain`` (never resent).
        """
        recovered = 0
        for orphan in send_journal.orphans(self.journal_dir):
            with orphan as records:
                if records is not None and not records.finished:  # finished: all settled
                    recovered += sum((await self._settle(records)).values())
        live = [
            path.name.removesuffix(send_journal.SUFFIX)
            for path in self.journal_dir.glob(f"*{send_journal.SUFFIX}")
        ]
        now = self.services.clock()
        async with self.db.uow() as uow:
            result = await uow.session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.SENDING,
                    OutboxMessage.next_attempt_at < now,
                    OutboxMessage.claim_token.is_(None) | OutboxMessage.claim_token.not_in(live),
                )
                .values(status=OutboxStatus.UNCERTAIN, last_error=INTERRUPTED)
            )
            await uow.commit()
        abandoned = result.rowcount or 0  # type: ignore[attr-defined]
        if recovered or abandoned:
            log.warning(
                "%d outbox message(s) were interrupted while sending; settled",
                recovered + abandoned,
            )
        return recovered + abandoned

    async def _lane(self, channel: str, send: Sender, report: DrainReport) -> None:
        """Claim due rows group by group and send each group, until none is due.

        Three groups overlap: while one is being sent, the next is claimed and the one
        before is finished (its last requests answered, its outcomes written). So neither
        the database nor a slow answer leaves the channel idle between groups.
        """
        ahead: asyncio.Task[_Group] | None = None
        closing: asyncio.Task[None] | None = None
        try:
            while not self._stopping:
                groups = _chunks(await self._due(channel), CLAIM_GROUP)
                if not groups:
                    return
                handled = 0
                ahead = asyncio.ensure_future(self._open_group(groups[0], report))
                for following in [*groups[1:], None]:
                    assert ahead is not None
                    group, ahead = await ahead, None
                    in_flight: list[asyncio.Task[None]] = []
                    try:
                        handled += group.handled
                        if following is not None and not self._stopping:
                            ahead = asyncio.ensure_future(self._open_group(following, report))
                        if group.claimed and not self._stopping:
                            in_flight = await send(group.claimed, group.journal, report)
                    finally:
                        previous = closing
                        closing = asyncio.ensure_future(self._close_group(group, in_flight, report))
                        if previous is not None:
                            await previous
                    if ahead is None:
                        break
                if not handled:
                    return
        finally:
            try:
                if ahead is not None:  # stopped (or failed) with a group claimed in advance
                    group = await ahead
                    await self._close_group(group, [], report)
            finally:
                if closing is not None:
                    await closing

    async def _open_group(self, rows: list[OutboxRow], report: DrainReport) -> _Group:
        """A new journal and the rows of ``rows`` claimed under its token."""
        journal = SendJournal.open(self.journal_dir)
        try:
            claimed, handled = await self._claim_group(rows, journal.token, report)
        except BaseException:
            await self._close_group(_Group(journal, [], 0), [], report)
            raise
        return _Group(journal, claimed, handled)

    async def _close_group(
        self, group: _Group, in_flight: list[asyncio.Task[None]], report: DrainReport
    ) -> None:
        """Wait for the group's last answers, settle it and remove its journal; should
        settling fail, the journal stays behind and the next drain settles the group."""
        await asyncio.gather(*in_flight, return_exceptions=True)
        journal = group.journal
        try:
            report.update(await self._settle(journal.records, group.claimed))
        except BaseException:
            journal.abandon()
            raise
        journal.close()

    async def _due(self, channel: str) -> list[OutboxRow]:
        """The rows due now, oldest first, but the staff chat's before the rest: they are
        a conversation with the shop's staff, not part of a campaign's queue."""
        columns = [getattr(OutboxMessage, name) for name in OutboxRow.__dataclass_fields__]
        due = (
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.channel == channel,
            OutboxMessage.next_attempt_at <= self.services.clock(),
        )
        order = (OutboxMessage.next_attempt_at, OutboxMessage.id)
        limit = self.settings.outbox_batch_size
        async with self.db.uow() as uow:
            rows: list[OutboxRow] = []
            if channel == Channel.TELEGRAM and self._staff_chat is not None:
                result = await uow.session.execute(
                    select(*columns)
                    .where(*due, OutboxMessage.recipient == self._staff_chat)
                    .order_by(*order)
                    .limit(limit)
                )
                rows = [OutboxRow(**row._mapping) for row in result]
            first = {row.id for row in rows}
            result = await uow.session.execute(
                select(*columns).where(*due).order_by(*order).limit(limit)
            )
            rows += [
                row for row in (OutboxRow(**r._mapping) for r in result) if row.id not in first
            ]
            return rows[:limit]

    # --- the lanes ------------------------------------------------------------------------

    async def _send_emails(
        self, rows: list[OutboxRow], journal: SendJournal, report: DrainReport
    ) -> list[asyncio.Task[None]]:
        """E-mails one after the other over the one SMTP connection, as queued; none is
        left in flight."""
        for row in rows:
            if self._stopping:
                break
            problem = await self.email.ready()
            if problem is not None:
                log.warning("e-mail not sent now: %s", problem)
                break
            email = outgoing_email(row, self.settings, self.services.care.outbox.links)
            journal.handing_over(row.id)
            outcome = await self.email.send(email)
            if isinstance(outcome, Delivered):
                journal.accepted(row.id, self.services.clock())
            else:
                await self._record(row, outcome, report)
        return []

    async def _send_webhooks(
        self, rows: list[OutboxRow], journal: SendJournal, report: DrainReport
    ) -> list[asyncio.Task[None]]:
        """Webhooks one after the other (an integrator's endpoint is not a bulk API)."""
        for row in rows:
            if self._stopping:
                break
            journal.handing_over(row.id)
            outcome = await self.webhooks.send(row)
            if isinstance(outcome, Delivered):
                journal.accepted(row.id, self.services.clock())
            else:
                await self._record(row, outcome, report)
        return []

    async def _send_telegrams(
        self, rows: list[OutboxRow], journal: SendJournal, report: DrainReport
    ) -> list[asyncio.Task[None]]:
        """Telegram messages in parallel within the overall and per-chat limits; returns
        the requests still waiting for Telegram's answer (``_close_group`` waits for them)."""
        assert self.telegram is not None
        telegram = self.telegram
        queue = deque(rows)
        waiting: list[tuple[float, OutboxRow]] = []  # rows whose chat is not free yet
        tasks: list[asyncio.Task[None]] = []
        try:
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
                await telegram.reserve()
                try:
                    await telegram.acquire(chat_id, bulk=row.recipient != self._staff_chat)
                except BaseException:
                    telegram.release()
                    raise
                journal.handing_over(row.id)
                task = asyncio.create_task(self._deliver_telegram(row, chat_id, journal, report))
                tasks.append(task)
                task.add_done_callback(lambda _task: telegram.release())
        except BaseException:
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return [task for task in tasks if not task.done()]

    async def _deliver_telegram(
        self, row: OutboxRow, chat_id: int, journal: SendJournal, report: DrainReport
    ) -> None:
        assert self.telegram is not None
        if row.edits_message_id is not None:
            outcome = await self.telegram.edit(chat_id, row.edits_message_id, row.body)
        else:
            outcome = await self.telegram.send(chat_id, row.body, row.reply_markup)
        if isinstance(outcome, Delivered):
            detail = outcome.detail or ""
            message_id = int(detail) if detail.isdigit() else None
            journal.accepted(row.id, self.services.clock(), message_id)
        else:
            await self._record(row, outcome, report)

    # --- claiming and settling --------------------------------------------------------------

    async def _claim_group(
        self, rows: list[OutboxRow], token: str, report: DrainReport
    ) -> tuple[list[OutboxRow], int]:
        """Claim every row that passes the rules in one UPDATE; the others one by one
        through ``_claim``, which finds out why (opted out, erased, quiet hours, taken).

        Returns the claimed rows, in order, and how many rows this dispatcher handled.
        """
        now = self.services.clock()
        conditions = [
            OutboxMessage.id.in_([row.id for row in rows]),
            OutboxMessage.status == OutboxStatus.PENDING,
            sendable_now(rows[0].channel, now=now, settings=self.settings),
        ]
        async with self.db.uow() as uow:
            connection = await uow.session.connection()  # Core: no ORM work per row
            result = await connection.execute(
                self._claiming(now, token, *conditions).returning(OutboxMessage.id)
            )
            taken = set(result.scalars())
            await uow.commit()
        claimed, handled = [], len(taken)
        for row in rows:
            if row.id in taken:
                claimed.append(row)
                continue
            state = await self._claim(row, token, report)
            handled += state != LOST
            if state == CLAIMED:
                claimed.append(row)
        return claimed, handled

    async def _claim(self, row: OutboxRow, token: str, report: DrainReport) -> str:
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
            held = hold_at_send(
                customer, row.channel, row.category, now=now, settings=self.settings
            )
            if held is not None:
                if held.action == "defer":
                    values: dict[str, Any] = {"next_attempt_at": held.until}
                elif held.action == "fallback" and customer is not None:
                    moved = await self._fallback(session, row, customer, now)
                    values = {
                        "status": OutboxStatus.SKIPPED if moved else OutboxStatus.FAILED,
                        "skip_reason": SKIP_TELEGRAM_BLOCKED if moved else SKIP_UNREACHABLE,
                    }
                else:
                    values = {"status": OutboxStatus.SKIPPED, "skip_reason": held.reason}
                statement = update(OutboxMessage).where(*pending).values(**values)
                result = await session.execute(statement)
                await uow.commit()
                if not result.rowcount:  # type: ignore[attr-defined]
                    return LOST
                report["deferred" if held.action == "defer" else "skipped"] += 1
                return HELD
            result = await session.execute(self._claiming(now, token, *pending))
            await uow.commit()
        return CLAIMED if result.rowcount else LOST  # type: ignore[attr-defined]

    def _claiming(self, now: datetime, token: str, *where: Any) -> Any:
        """The UPDATE that claims the rows ``where`` selects: ``sending`` under the journal's
        token, one more attempt, and a lease (``next_attempt_at``) after which a claim no
        journal here accounts for is taken for abandoned."""
        lease = now + timedelta(seconds=self.settings.outbox_lease_seconds)
        return (
            update(OutboxMessage)
            .where(*where)
            .values(
                status=OutboxStatus.SENDING,
                attempts=OutboxMessage.attempts + 1,
                next_attempt_at=lease,
                claim_token=token,
            )
        )

    async def _settle(
        self, records: JournalRecords, claimed: list[OutboxRow] | None = None
    ) -> DrainReport:
        """Write down what became of the rows still ``sending`` under a journal's token,
        in one transaction: accepted ones are sent (and logged as interactions), ones
        handed over without an answer are ``uncertain``, the rest go back to ``pending``
        (or are skipped, if their campaign was cancelled meanwhile).

        The live dispatcher passes the rows it ``claimed``; recovering a dead one's group,
        they are read back. Every UPDATE checks the row is still ``sending`` under the
        token, so a row whose failure was recorded meanwhile is left as it is.
        """
        now = self.services.clock()
        settled = DrainReport()
        async with self.db.uow() as uow:
            connection = await uow.session.connection()  # Core: no ORM work per row
            rows: list[Any] = (
                claimed
                if claimed is not None
                else list(
                    await connection.execute(
                        select(*[getattr(OutboxMessage, name) for name in LOGGED_COLUMNS]).where(
                            OutboxMessage.claim_token == records.token,
                            OutboxMessage.status == OutboxStatus.SENDING,
                        )
                    )
                )
            )
            sent = [(row, records.accepted[row.id]) for row in rows if row.id in records.accepted]
            unknown = [
                row.id
                for row in rows
                if row.id in records.handed_over and row.id not in records.accepted
            ]
            untouched = [
                row.id
                for row in rows
                if row.id not in records.handed_over and row.id not in records.accepted
            ]
            mine = (
                OutboxMessage.claim_token == records.token,
                OutboxMessage.status == OutboxStatus.SENDING,
            )
            if sent:
                await connection.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == bindparam("row_id"), *mine)
                    .values(status=OutboxStatus.SENT, sent_at=bindparam("at"), last_error=None),
                    [{"row_id": row.id, "at": at} for row, at in sent],
                )
                logged = [
                    _interaction_values(row, at, records.message_ids.get(row.id))
                    for row, at in sent
                    if row.channel != Channel.WEBHOOK  # systems, not an exchange with anyone
                ]
                if logged:
                    await connection.execute(insert(Interaction.__table__), logged)
            if unknown:  # (a row whose failure was recorded is no longer ``mine``)
                result = await connection.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(unknown), *mine)
                    .values(status=OutboxStatus.UNCERTAIN, last_error=INTERRUPTED)
                )
                settled["uncertain"] = result.rowcount
            if untouched:
                cancelled = select(Campaign.id).where(Campaign.status == CampaignStatus.CANCELLED)
                result = await connection.execute(  # their campaign was cancelled meanwhile
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id.in_(untouched),
                        OutboxMessage.campaign_id.in_(cancelled),
                        *mine,
                    )
                    .values(
                        status=OutboxStatus.SKIPPED,
                        skip_reason=SKIP_CANCELLED,
                        attempts=OutboxMessage.attempts - 1,
                        claim_token=None,
                    )
                )
                settled["skipped"] = result.rowcount
                result = await connection.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(untouched), *mine)
                    .values(
                        status=OutboxStatus.PENDING,
                        attempts=OutboxMessage.attempts - 1,
                        next_attempt_at=now,
                        claim_token=None,
                    )
                )
                settled["put back"] = result.rowcount
            await uow.commit()
        settled["sent"] = len(sent)
        return +settled

    async def _record(
        self, row: OutboxRow, outcome: RetryLater | Undeliverable, report: DrainReport
    ) -> None:
        """Write why a message did not go (retry later, or never), in one transaction.
        Accepted messages are written by ``_settle``, a group at a time."""
        now = self.services.clock()
        attempts = row.attempts + 1  # as claimed
        async with self.db.uow() as uow:
            session = uow.session
            mine = (
                OutboxMessage.id == row.id,
                OutboxMessage.status.in_([OutboxStatus.SENDING, OutboxStatus.UNCERTAIN]),
            )
            values: dict[str, Any]
            if isinstance(outcome, RetryLater):
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
            values["claim_token"] = None
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
        email = self.services.care.outbox.email_row(
            f"{row.idempotency_key}:email",
            content=Message(body=row.body, subject=row.subject or self.settings.shop_name),
            customer_id=customer.id,
            recipient=customer.email or "",
            category=row.category,
            template=row.template,
            language=row.language,
            now=now,
            campaign_id=row.campaign_id,
        )
        await enqueue_rows(session, [email])
        self.wake()
        return True


def _interaction_values(row: Any, at: datetime, message_id: int | None) -> dict[str, Any]:
    """The interaction log entry of a sent message (``row`` has ``LOGGED_COLUMNS``),
    written with its outcome so the log and the outbox never disagree; ``message_id`` is
    the Telegram message it became, so an erasure can have a staff-chat alert edited."""
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
        message_id=message_id,
        internal=row.customer_id is None,  # to staff (deadline alerts, summaries)
    )
