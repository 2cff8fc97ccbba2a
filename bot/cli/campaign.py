"""`carebot campaign`: create, check, preview, send and cancel campaigns, and follow them.

A campaign can be written as a YAML file::

    name: Tết 2027 cho khách thân thiết
    kind: promotion                 # promotion, newsletter or announcement
    audience:
      tiers: [diamond, gold]        # from the segmentation; segments: [...] likewise
      kind: individual              # or organization
      regions: [Hà Nội]
      consent: any                  # telegram, email or any
      product_categories: [Trà]     # who asked for or bought a product of these categories
    channel: telegram               # telegram, email, telegram_only, email_only
    template:
      vi: "Chào {{ name }}! Ưu đãi Tết dành riêng cho bạn: <b>{{ offer }}</b>"
      en: "Hello {{ name }}! Your Tet offer: <b>{{ offer }}</b>"
    subject:
      vi: "Ưu đãi Tết từ {{ shop_name }}"
      en: "A Tet offer from {{ shop_name }}"
    offers:
      diamond: giảm 20% toàn bộ đơn hàng
      gold: giảm 10% toàn bộ đơn hàng
    schedule: 01/02/2027 09:00      # local time; leave out to send by hand

Templates may use name, customer_name, code, tier, segment, region, offer and shop_name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import typer
import yaml
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.cli.common import console, fail, load_settings, run
from bot.cli.scheduler import telegram_bot
from care.core.models import CampaignStatus, OutboxStatus
from care.core.rendering import TemplateProblem
from care.core.text import format_datetime, parse_date
from care.outreach import CampaignError, CampaignProgress, CampaignSpec, campaign_due

if TYPE_CHECKING:
    from care.services import Services

if TYPE_CHECKING:
    from care.core.process_lock import ProcessLock

app = typer.Typer(
    help="Campaigns: tier promotions, newsletters, announcements.", no_args_is_help=True
)


def _run(body: Any) -> Any:
    """run() with campaign and template problems as one-line errors."""

    async def guarded(services: Services) -> Any:
        try:
            return await body(services)
        except (CampaignError, TemplateProblem) as exc:
            return _Failure(str(exc))

    result = run(guarded)
    if isinstance(result, _Failure):
        fail(result.message)
    return result


class _Failure:
    def __init__(self, message: str) -> None:
        self.message = message


def parse_when(text: str, timezone: str) -> datetime:
    """'dd/mm/yyyy HH:MM' (or ISO 'yyyy-mm-dd HH:MM') in the shop's time zone."""
    text = text.strip().replace("T", " ")
    day, _, clock = text.partition(" ")
    try:
        date_part = parse_date(day)
        hours, minutes = (clock or "09:00").split(":")[:2]
        return datetime(
            date_part.year,
            date_part.month,
            date_part.day,
            int(hours),
            int(minutes),
            tzinfo=ZoneInfo(timezone),
        )
    except ValueError:
        fail(f"not a date and time (dd/mm/yyyy HH:MM): {text!r}")


def _text_or_file(value: str | None) -> str | None:
    """A template given inline, or as @path to a file."""
    if value and value.startswith("@"):
        path = Path(value[1:])
        if not path.is_file():
            fail(f"no such file: {path}")
        return path.read_text(encoding="utf-8")
    return value


def _spec_from_file(path: Path, timezone: str) -> dict[str, Any]:
    if not path.is_file():
        fail(f"no such file: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        fail(f"{path} is not valid YAML: {exc}")
    if not isinstance(data, dict):
        fail(f"{path} must describe one campaign (a mapping of name, audience, template...)")
    schedule = data.get("schedule")
    if isinstance(schedule, datetime) and schedule.tzinfo is None:
        data["schedule"] = schedule.replace(tzinfo=ZoneInfo(timezone))
    elif isinstance(schedule, str):
        data["schedule"] = parse_when(schedule, timezone)
    return data


@app.command()
def create(
    file: Path | None = typer.Option(None, "--file", "-f", help="A campaign in YAML."),
    name: str | None = typer.Option(None, help="Unique name."),
    kind: str = typer.Option("promotion", help="promotion, newsletter or announcement."),
    tier: list[str] = typer.Option([], help="Audience tier (repeat for several)."),
    segment: list[str] = typer.Option([], help="Audience segment (repeat for several)."),
    customer_kind: str | None = typer.Option(None, help="individual or organization."),
    region: list[str] = typer.Option([], help="Audience region (repeat for several)."),
    product_category: list[str] = typer.Option(
        [], help="Who asked for or bought a product of this category (repeat for several)."
    ),
    consent: str | None = typer.Option(
        None, help="Only customers who consented: telegram, email or any."
    ),
    channel: str = typer.Option("telegram", help="telegram, email, telegram_only, email_only."),
    template_vi: str | None = typer.Option(None, help="Vietnamese template (or @file)."),
    template_en: str | None = typer.Option(None, help="English template (or @file)."),
    subject_vi: str | None = typer.Option(None, help="Vietnamese e-mail subject."),
    subject_en: str | None = typer.Option(None, help="English e-mail subject."),
    offer: list[str] = typer.Option([], help="TIER=offer text (repeat; 'default' for the rest)."),
    at: str | None = typer.Option(None, help="Start at 'dd/mm/yyyy HH:MM' local time."),
    holdout: str | None = typer.Option(
        None,
        help="Share of the audience held out, not contacted, to measure the effect "
        "(default 10%; 0% for none; at most 50%).",
    ),
    measure_days: int | None = typer.Option(
        None, "--measure-days", help="Days after the start the effect is measured over (30)."
    ),
    voucher: str | None = typer.Option(
        None,
        "--voucher",
        help="A voucher code for each contacted customer, worth 100k or 10% (in the template: "
        "{{ voucher }}, {{ voucher_value }}).",
    ),
    voucher_days: int = typer.Option(30, "--voucher-days", help="How long the codes are valid."),
    vulnerable_of: int | None = typer.Option(
        None,
        "--vulnerable-of",
        help="Audience: the vulnerable set of this competitor campaign (`loyalty list`).",
    ),
) -> None:
    """Create a campaign; its templates are checked now, in both languages, for every tier."""
    timezone = load_settings().timezone
    share = _share(holdout) if holdout is not None else None
    if file is not None:
        data = _spec_from_file(file, timezone)
    else:
        if not name:
            fail("give --name (or --file)")
        offers = {}
        for item in offer:
            tier_name, sep, text = item.partition("=")
            if not sep:
                fail(f"an offer is TIER=text, not {item!r}")
            offers[tier_name.strip()] = text.strip()
        audience = {
            key: value
            for key, value in {
                "tiers": tier,
                "segments": segment,
                "kind": customer_kind,
                "regions": region,
                "product_categories": product_category,
                "consent": consent,
            }.items()
            if value
        }
        data = {
            "name": name,
            "kind": kind,
            "audience": audience,
            "channel": channel,
            "template": {
                lang: text
                for lang, text in (
                    ("vi", _text_or_file(template_vi)),
                    ("en", _text_or_file(template_en)),
                )
                if text
            },
            "subject": {
                lang: text for lang, text in (("vi", subject_vi), ("en", subject_en)) if text
            },
            "offers": offers,
            "schedule": parse_when(at, timezone) if at else None,
        }
        if not data["template"]:
            fail("give a template: --template-vi and/or --template-en")

    if share is not None:
        data["holdout"] = share
    if voucher is not None:
        data["voucher"] = {**_voucher_value(voucher), "valid_days": voucher_days}
    if vulnerable_of is not None:
        codes = _vulnerable_codes(vulnerable_of)
        data.setdefault("audience", {})["customers"] = codes
    if measure_days is not None:
        data["measure_days"] = measure_days

    async def body(services: Services) -> None:
        spec = CampaignSpec.parse(data)
        campaign = await services.care.campaigns.create(spec)
        when = (
            f"scheduled for {format_datetime(campaign.scheduled_at, timezone)}"
            if campaign.scheduled_at
            else "a draft: send it with `carebot campaign send`"
        )
        console.print(f"campaign {campaign.name!r} created, {when}", highlight=False)

    _run(body)


def _voucher_value(text: str) -> dict[str, Any]:
    from care.core.text import parse_vnd

    raw = text.strip()
    try:
        if raw.endswith("%"):
            return {"kind": "percent", "value": int(raw[:-1])}
        return {"kind": "amount", "value": parse_vnd(raw)}
    except ValueError:
        fail(f"--voucher is an amount or a percentage such as 100k or 10%, not {text!r}")


def _vulnerable_codes(campaign_id: int) -> list[str]:
    async def body(services: Services) -> Any:
        return await services.loyalty.vulnerability(campaign_id)

    found = run(body)
    if found is None:
        fail(f"no competitor campaign #{campaign_id}")
    if not found.vulnerable:
        fail(f"competitor campaign #{campaign_id} has no vulnerable customer")
    return [w.code for w in found.vulnerable]


def _share(text: str) -> float:
    """``10%``, ``10`` or ``0.1``: a share of the audience."""
    raw = text.strip().rstrip("%").strip()
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        fail(f"--holdout is a share such as 10%, not {text!r}")
    share = value / 100 if text.strip().endswith("%") or value > 1 else value
    if not 0 <= share <= 0.5:
        fail("--holdout is between 0% and 50%")
    return share


@app.command("list")
def list_campaigns() -> None:
    """All campaigns with their status and schedule."""

    async def body(services: Services) -> None:
        tz = services.settings.timezone
        table = Table()
        for column in ("name", "kind", "status", "channel", "scheduled", "finished"):
            table.add_column(column)
        for campaign in await services.care.campaigns.list():
            table.add_row(
                campaign.name,
                campaign.kind,
                campaign.status,
                campaign.channel_preference,
                format_datetime(campaign.scheduled_at, tz),
                format_datetime(campaign.finished_at, tz),
            )
        console.print(table)

    _run(body)


@app.command()
def preview(
    name: str,
    customer: str | None = typer.Option(None, help="Render for this customer code."),
) -> None:
    """Show the message in each language, for a sample customer (or a real one)."""

    async def body(services: Services) -> None:
        for language, message in (await services.care.campaigns.preview(name, customer)).items():
            console.rule(f"{language}: {message.subject}")
            console.print(message.body, markup=False, highlight=False)

    _run(body)


@app.command()
def send(
    name: str,
    dry_run: bool = typer.Option(False, "--dry-run", help="Only report who would get it."),
    at: str | None = typer.Option(None, help="Schedule for 'dd/mm/yyyy HH:MM' instead."),
    dispatch: bool | None = typer.Option(
        None,
        "--dispatch/--no-dispatch",
        help="Send from this command (needs the bot token) or leave it to the running bot. "
        "By default: the running `carebot run` sends it if there is one, else this command.",
        show_default=False,
    ),
) -> None:
    """Send a campaign now (with a progress bar), schedule it, or dry-run it.

    With `carebot run` running on the same database, the campaign is only queued here and
    that process sends it, within the one Telegram budget it shares with its replies to
    customers; this command follows the progress. Otherwise it sends from here.
    """
    settings = load_settings()
    if dry_run:
        _run(lambda services: _dry_run(services, name))
        return
    if at:
        when = parse_when(at, settings.timezone)

        async def schedule(services: Services) -> None:
            campaign = await services.care.campaigns.schedule(name, when)
            console.print(
                f"campaign {name!r} scheduled for "
                f"{format_datetime(campaign.scheduled_at, settings.timezone)}; the bot starts it"
            )

        _run(schedule)
        return
    _run(lambda services: _send_now(services, name, dispatch))


@app.command()
def status(name: str) -> None:
    """Where a campaign stands: sent, waiting, failed, skipped by reason."""

    async def body(services: Services) -> None:
        _print_progress(await services.care.campaigns.progress(name), services)

    _run(body)


@app.command()
def cancel(name: str) -> None:
    """Stop a campaign: a draft or scheduled one never starts; a running one sends nothing
    more (what went out already stays sent) and the staff chat gets its summary."""

    async def body(services: Services) -> None:
        progress = await services.care.campaigns.cancel(name)
        console.print(f"campaign {name!r} cancelled", highlight=False)
        if progress.total:
            _print_progress(progress, services)

    _run(body)


async def _dry_run(services: Services, name: str) -> None:
    report = await services.care.campaigns.dry_run(name)
    tz = services.settings.timezone
    console.print(f"audience: {report.audience}")
    if report.held_out:
        console.print(f"  held out at random, not contacted: {report.held_out}")
    for channel, count in sorted(report.channels.items()):
        console.print(f"  would send by {channel}: {count}")
    if report.delayed and report.delayed_until is not None:
        console.print(
            f"  {report.delayed} would wait for the end of quiet hours "
            f"({format_datetime(report.delayed_until, tz)})"
        )
    if report.skipped:
        console.print(f"skipped: {sum(report.skipped.values())}")
        for reason, count in report.skipped.most_common():
            codes = [code for code, why in report.skipped_customers if why == reason]
            shown = ", ".join(codes[:10]) + (" …" if len(codes) > 10 else "")
            console.print(f"  {reason}: {count} ({shown})", highlight=False)


async def _send_now(services: Services, name: str, dispatch: bool | None) -> None:
    """Queue the campaign, then send it from here or leave it to the running bot.

    Why hand over rather than send side by side: Telegram counts every message of the
    token against one limit, and only the running process knows its customers are
    waiting for answers. Two processes pacing themselves each to the limit exceed it
    together (Telegram answers 429) and the customers' replies queue behind the campaign.
    The running process's dispatcher holds the database's dispatcher lock
    (``scheduler.dispatcher.dispatcher_lock``, released by the system when that process ends); if
    somebody holds it, this command only queues the rows, which that dispatcher picks up
    within seconds. If nobody does, this command sends, and hands over the rest should a
    bot start meanwhile.
    """
    from scheduler.dispatcher import dispatcher_lock

    campaigns = services.care.campaigns
    campaign = await campaigns.get(name)
    if campaign.status in (CampaignStatus.DONE, CampaignStatus.CANCELLED):
        raise CampaignError(f"campaign {name!r} is {campaign.status}")
    lock = dispatcher_lock(services.db)
    resident = await lock.held_elsewhere()
    if dispatch and resident:
        console.print(
            "[yellow]a running bot sends this database's outbox; sending from here "
            "too, as asked, paced apart from its replies[/yellow]"
        )
    here = dispatch if dispatch is not None else not resident
    bot = telegram_bot(services) if here else None  # the token is checked before anything
    queued = await campaigns.start(name)
    console.print(
        f"campaign {name!r}: {queued} messages queued"
        if queued
        else f"campaign {name!r} is running already; following it"
    )
    if bot is None:
        if not resident:
            console.print(
                "no bot is running: they go out once `carebot run` starts; "
                "follow with `carebot campaign status`"
            )
            return
        console.print(
            "the running bot sends them, replies to customers first; following "
            "(Ctrl+C stops following, not sending)"
        )
        await _follow(services, name)
    else:
        await _send_here(services, name, bot, lock if dispatch is None else None)
    _print_progress(await campaigns.progress(name), services)


async def _send_here(services: Services, name: str, bot: Any, lock: ProcessLock | None) -> None:
    """Send from this process until the campaign is done; if ``lock`` is given and a
    running bot takes it meanwhile, stop and leave the rest to that bot."""
    from scheduler.dispatcher import Dispatcher  # python-telegram-bot loads only to send

    async with bot:
        dispatcher = Dispatcher.create(services, bot)
        task = asyncio.create_task(dispatcher.run())

        async def hand_over() -> None:
            if lock is None or task.done() or not await lock.held_elsewhere():
                return
            console.print("a bot started on this database: it sends the rest")
            dispatcher.stop()
            await task

        try:
            await _follow(services, name, every_tick=hand_over)
        finally:
            dispatcher.stop()
            await task
            await dispatcher.close()


async def _follow(
    services: Services,
    name: str,
    every_tick: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """A progress bar until the campaign is done, or only rows that wait remain;
    ``every_tick`` runs between two looks."""
    campaigns = services.care.campaigns
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(name, total=None)
        while True:
            progress = await campaigns.progress(name)
            bar.update(task, total=progress.total, completed=progress.finished)
            if progress.campaign.status == CampaignStatus.DONE:
                break
            if progress.open and not await _due_soon(services, progress):
                break  # what is left waits for the morning or a retry
            if every_tick is not None:
                await every_tick()
            await asyncio.sleep(0.5)


async def _due_soon(services: Services, progress: CampaignProgress) -> bool:
    return await campaign_due(services.db, progress.campaign.id, services.clock())


def _print_progress(progress: CampaignProgress, services: Services) -> None:
    campaign, tz = progress.campaign, services.settings.timezone
    console.print(
        f"{campaign.name}: {campaign.status}"
        + (f", started {format_datetime(campaign.started_at, tz)}" if campaign.started_at else "")
        + (
            f", finished {format_datetime(campaign.finished_at, tz)}"
            if campaign.finished_at
            else ""
        ),
        highlight=False,
    )
    for status_name in ("sent", "pending", "sending", "failed", OutboxStatus.UNCERTAIN, "skipped"):
        if progress.statuses[status_name]:
            console.print(f"  {status_name}: {progress.statuses[status_name]}")
    for reason, count in progress.skipped.most_common():
        console.print(f"    {reason}: {count}", highlight=False)
    if progress.statuses["pending"]:
        console.print("  pending messages go out when due (quiet hours end, retry time)")


@app.command("report")
def effect_report(
    name: str | None = typer.Argument(None, help="The campaign (or give --programme)."),
    programme: str | None = typer.Option(
        None, "--programme", help="win_back or birthday: the automatic programme instead."
    ),
    days: int = typer.Option(
        90, "--days", min=1, help="With --programme: the customers it picked in these days."
    ),
) -> None:
    """What a campaign (or programme) brought: orders, revenue and margin per customer of
    the contacted against the held out, the uplift with its 95% confidence interval, and
    voucher redemptions."""
    if (name is None) == (programme is None):
        fail("name a campaign, or give --programme win_back|birthday")

    async def body(services: Services) -> Any:
        from care.analytics import EffectProblem

        try:
            if programme is not None:
                return await services.effects.programme(programme, days=days)
            assert name is not None
            return await services.effects.campaign(name)
        except EffectProblem as exc:
            return _Failure(str(exc))

    report = run(body)
    if isinstance(report, _Failure):
        fail(report.message)
    _print_effect(report)


def _print_effect(report: Any) -> None:
    from care.core.text import format_date, format_vnd

    state = "complete" if report.complete else "still open: figures so far"
    console.print(
        f"[bold]{report.name}[/bold]: {report.measure_days} days from each start, "
        f"{format_date(report.first)} – {format_date(report.last)} ({state})",
        highlight=False,
    )
    table = Table()
    for column in ("", "customers", "bought", "orders", "revenue", "margin", "per customer"):
        table.add_column(column)
    for label, g in (("contacted", report.contacted), ("held out", report.held_out)):
        table.add_row(
            label,
            str(g.customers),
            f"{g.buyers} ({g.conversion:.1%})",
            str(g.orders),
            format_vnd(g.revenue),
            format_vnd(g.margin),
            format_vnd(round(g.revenue_per_customer)),
        )
    console.print(table)

    def money(u: Any, what: str) -> None:
        if u is None:
            console.print(f"uplift in {what}: too few customers to measure")
            return
        verdict = "a real effect" if u.significant else "could be chance"
        console.print(
            f"uplift in {what} per customer: {format_vnd(round(u.difference))} "
            f"(95% CI {format_vnd(round(u.low))} to {format_vnd(round(u.high))}; "
            f"p = {u.p_value:.3f}: {verdict})",
            highlight=False,
        )

    money(report.revenue, "revenue")
    money(report.margin, "margin")
    if report.conversion is not None:
        u = report.conversion
        console.print(
            f"uplift in the share who bought: {u.difference * 100:+.1f} points "
            f"(95% CI {u.low * 100:+.1f} to {u.high * 100:+.1f})"
        )
    if report.incremental_revenue is not None:
        console.print(
            f"incremental revenue of the contacted group: "
            f"{format_vnd(round(report.incremental_revenue))}",
            highlight=False,
        )
    if report.vouchers_issued:
        console.print(
            f"vouchers: {report.vouchers_issued} issued, {report.vouchers_redeemed} redeemed, "
            f"revenue of the redeeming orders {format_vnd(report.voucher_revenue)}",
            highlight=False,
        )
