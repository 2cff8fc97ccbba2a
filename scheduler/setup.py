"""APScheduler wiring: the care scans on a clock in the shop's time zone, and the dispatcher.

The scheduler runs in the bot's process on its event loop (AsyncIOScheduler) with the
default in-memory job store, on purpose: a job here is only "ask the database again",
and what is due is decided by the data and the idempotency keys (see care.outreach.programme). A
restart re-creates the jobs; a one-off that must survive restarts, a campaign scheduled for
a date, lives in the database (``Campaign.scheduled_at``), and the ``campaigns`` scan starts
it when its time comes, however late that scan runs.

Two settings of every job are chosen deliberately:

* ``coalesce=True``: if the loop was blocked or the machine slept through several firings,
  run the scan once, not once per missed firing. A scan catches up everything due by
  itself; running it five times in a row would only repeat the same queries.
* ``misfire_grace_time``: ``None`` (no limit) for the scans, because a late scan is always
  better than a skipped one and cannot send anything twice. The nightly segmentation gets
  three hours: recomputing every customer's tier in the middle of a business day, after
  the machine was off all night, can wait for the next night.

``max_instances=1``: a scan still running when its next firing comes is not started twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from telegram import Bot

from care.services import Services
from scheduler.dispatcher import Dispatcher

log = logging.getLogger("carebot.scheduler")

SEGMENTATION_GRACE = 3 * 3600


@dataclass
class CareScheduler:
    """The running scheduler and the dispatcher task that drains the outbox."""

    scheduler: AsyncIOScheduler
    dispatcher: Dispatcher
    task: asyncio.Task[None] | None = None


def _daytime_hours(services: Services) -> str:
    """Cron hours from the greeting hour to the hour before quiet hours start ("9-20")."""
    settings = services.settings
    last = int(settings.quiet_hours_start.split(":")[0]) - 1
    first = settings.greeting_hour
    return f"{first}-{last}" if first <= last else "*"


def _scan_job(
    name: str, scan: Callable[[], Awaitable[Any]], dispatcher: Dispatcher | None
) -> Callable[[], Awaitable[None]]:
    async def job() -> None:
        report = await scan()
        log.info("care scan %s: %s", name, report)
        if dispatcher is not None:
            dispatcher.wake()

    job.__name__ = f"scan_{name}"
    return job


async def _recompute_segments(services: Services) -> None:
    segmentation = getattr(services, "segmentation", None)
    recompute = getattr(segmentation, "recompute", None)
    if recompute is None:
        log.info("no segmentation service; nightly recomputation skipped")
        return
    summary = await recompute()
    steps = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in summary.step_seconds.items())
    log.info(
        "segmentation as of %s: %d customers, %d buyers, in %.1f s (%s)",
        summary.as_of,
        summary.customers,
        summary.buyers,
        summary.seconds,
        steps,
    )


def build_scheduler(services: Services, dispatcher: Dispatcher | None = None) -> AsyncIOScheduler:
    """The scheduler with every job added, not started (``carebot scheduler jobs`` lists it)."""
    settings = services.settings
    zone = ZoneInfo(settings.timezone)
    care = services.care
    scheduler = AsyncIOScheduler(
        timezone=zone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    day = _daytime_hours(services)
    scans: list[tuple[str, str, Callable[[], Awaitable[Any]], Any]] = [
        (
            "thanks",
            "Thank-you notes after delivery",
            care.thank_deliveries,
            CronTrigger(minute="*/10", timezone=zone),
        ),
        (
            "surveys",
            "Satisfaction survey invitations after delivery",
            care.invite_surveys,
            CronTrigger(minute="5-59/10", timezone=zone),
        ),
        (
            "birthdays",
            "Birthday and founding-day greetings",
            care.greet_birthdays,
            CronTrigger(hour=day, minute="*/15", timezone=zone),
        ),
        (
            "holidays",
            "Holiday greetings (Tet, 8/3, 20/10, Mid-Autumn, New Year)",
            care.greet_holidays,
            CronTrigger(hour=day, minute="*/15", timezone=zone),
        ),
        (
            "newsletter",
            "Monthly newsletter",
            care.send_newsletter,
            CronTrigger(day=settings.newsletter_day, hour=day, minute="*/30", timezone=zone),
        ),
        (
            "winback",
            "Win-back for customers who became at risk",
            care.win_back,
            CronTrigger(hour=day, minute=20, timezone=zone),
        ),
        (
            "contacts",
            "Weekly plan of care contacts by tier, with reminders to staff",
            services.contacts.plan_week,
            CronTrigger(
                day_of_week=settings.contact_plan_weekday,
                hour=settings.greeting_hour,
                minute=0,
                timezone=zone,
            ),
        ),
        (
            "slipping",
            "Alert the staff chat when a top-tier customer slips, and plan a call",
            services.slipping.scan,
            CronTrigger(hour=day, minute=40, timezone=zone),
        ),
        (
            "campaigns",
            "Start scheduled campaigns",
            care.campaigns.start_due,
            IntervalTrigger(minutes=1, timezone=zone),
        ),
        (
            "sla",
            "Ticket deadline reminders to the staff chat",
            services.deadlines.check,
            IntervalTrigger(minutes=5, timezone=zone),
        ),
        (
            "faq_digest",
            "Daily digest of unanswered FAQ questions to the staff chat",
            services.faq_digest.send,
            CronTrigger(hour=17, minute=0, timezone=zone),
        ),
        # FAQ entries added from the command line reach the running bot within a minute.
        (
            "faq",
            "Rebuild the FAQ index when entries changed",
            services.faq.refresh_if_changed,
            IntervalTrigger(minutes=1, timezone=zone),
        ),
    ]
    first_run = datetime.now(zone) + timedelta(seconds=5)
    for index, (job_id, name, scan, trigger) in enumerate(scans):
        scheduler.add_job(
            _scan_job(job_id, scan, dispatcher),
            trigger,
            id=job_id,
            name=name,
            # Once shortly after start too, so a restart catches up at once.
            next_run_time=first_run + timedelta(seconds=2 * index),
        )
    scheduler.add_job(
        _scan_job("habits", services.habits.refresh, None),
        CronTrigger(hour=settings.segment_nightly_hour, minute=30, timezone=zone),
        id="habits",
        name="Nightly purchase habits (favourite categories, basket, channel, hour)",
        misfire_grace_time=SEGMENTATION_GRACE,
    )
    scheduler.add_job(
        _recompute_segments,
        CronTrigger(hour=settings.segment_nightly_hour, minute=0, timezone=zone),
        args=[services],
        id="segmentation",
        name="Nightly segmentation (services.segmentation.recompute)",
        misfire_grace_time=SEGMENTATION_GRACE,
    )
    scheduler.add_job(
        _forget_api_answers,
        CronTrigger(hour=(settings.segment_nightly_hour + 1) % 24, minute=30, timezone=zone),
        args=[services],
        id="api-idempotency",
        name="Forget API answers kept for Idempotency-Key retries (older than a day)",
        misfire_grace_time=SEGMENTATION_GRACE,
    )
    return scheduler


async def _forget_api_answers(services: Services) -> None:
    removed = await services.idempotency.purge()
    if removed:
        log.info("forgot %d API answers kept for Idempotency-Key retries", removed)


def start_scheduler(services: Services, bot: Bot | None) -> CareScheduler:
    """Start the care scans and the outbox dispatcher on the running event loop.

    Call it from the Application's post_init with the Application's bot; stop it with
    ``await stop_scheduler(handle)`` before the Application shuts down. The dispatcher is
    the process's resident one: `carebot campaign send` in a shell leaves its sending to it.
    """
    dispatcher = Dispatcher.create(services, bot, resident=True)
    scheduler = build_scheduler(services, dispatcher)
    scheduler.start()
    task = asyncio.get_running_loop().create_task(dispatcher.run(), name="outbox-dispatcher")
    log.info(
        "scheduler started in %s with %d jobs",
        services.settings.timezone,
        len(scheduler.get_jobs()),
    )
    return CareScheduler(scheduler=scheduler, dispatcher=dispatcher, task=task)


async def stop_scheduler(handle: CareScheduler, *, grace: float = 10.0) -> None:
    """Stop the jobs, let the messages in flight finish (``grace`` seconds at most), close
    the SMTP connection."""
    if handle.scheduler.running:
        handle.scheduler.shutdown(wait=False)
    handle.dispatcher.stop()
    if handle.task is not None:
        try:
            await asyncio.wait_for(asyncio.shield(handle.task), grace)
        except TimeoutError:
            handle.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await handle.task
    await handle.dispatcher.close()


JobRow = tuple[str, str, str, datetime | None]


def next_runs(scheduler: AsyncIOScheduler, now: datetime) -> list[JobRow]:
    """(id, name, trigger, next run) of every job, for a scheduler that may not be running."""
    rows = []
    for job in scheduler.get_jobs():
        next_time = job.trigger.get_next_fire_time(None, now)
        rows.append((job.id, job.name, str(job.trigger), next_time))
    return rows
