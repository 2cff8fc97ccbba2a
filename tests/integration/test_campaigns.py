"""Campaigns: audiences by tier, offers per tier, template checks at creation, previews, dry
runs, schedules that survive restarts, cancelling, and the staff summary when a campaign
finishes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.sandbox import SandboxServer
from care.core.models import Customer
from care.core.rendering import TemplateProblem
from care.outreach.campaigns import CampaignError, CampaignSpec
from care.services import Services
from scheduler.dispatcher import Dispatcher, DrainReport
from scheduler.email_channel import EmlDirectoryChannel
from scheduler.telegram_channel import TelegramChannel
from tests.builders import TOKEN, add_metrics, make_customer, outbox_rows

PROMOTION = {
    "name": "Tết 2027",
    "audience": {"tiers": ["diamond", "gold"]},
    "template": {
        "vi": "Chào {{ name }}! Ưu đãi hạng {{ tier }}: <b>{{ offer }}</b>",
        "en": "Hello {{ name }}! Your {{ tier }} offer: <b>{{ offer }}</b>",
    },
    "subject": {"vi": "Ưu đãi Tết từ {{ shop_name }}", "en": "A Tet offer from {{ shop_name }}"},
    "offers": {"diamond": "giảm 20%", "gold": "giảm 10%"},
}


async def member(services: Services, tier: str | None, **fields: Any) -> Customer:
    """A customer who consented to Telegram, in a tier."""
    fields.setdefault("consent_telegram", True)
    who = await make_customer(services, **fields)
    if tier is not None:
        await add_metrics(services, who, tier=tier, segment="loyal")
    return who


async def test_a_tier_promotion_reaches_exactly_its_tiers_with_their_offers(
    services: Services, sandbox: SandboxServer
) -> None:
    people = {}
    for n, tier in enumerate(["diamond", "gold", "silver", "member", None, "gold"]):
        sandbox.add_user(9000 + n, f"K{n}")
        people[9000 + n] = await member(services, tier, telegram_user_id=9000 + n, name=f"K{n}")
    campaigns = services.care.campaigns
    await campaigns.create(CampaignSpec.parse(PROMOTION))
    assert await campaigns.start("Tết 2027") == 3

    async with Bot(TOKEN, base_url=sandbox.base_url) as bot:
        dispatcher = Dispatcher(
            services,
            telegram=TelegramChannel(bot, messages_per_second=28),
            email=EmlDirectoryChannel(services.settings.outbox_dir),
        )
        await dispatcher.drain()
    got = {chat: [m.text for m in sandbox.sent(chat)] for chat in people}
    assert got == {
        9000: ["Chào K0! Ưu đãi hạng diamond: giảm 20%"],
        9001: ["Chào K1! Ưu đãi hạng gold: giảm 10%"],
        9002: [],
        9003: [],
        9004: [],
        9005: ["Chào K5! Ưu đãi hạng gold: giảm 10%"],
    }


async def test_a_template_error_is_reported_when_the_campaign_is_created(
    services: Services,
) -> None:
    campaigns = services.care.campaigns
    broken = {**PROMOTION, "template": {"vi": "Chào {{ name }", "en": "Hi"}}
    with pytest.raises(TemplateProblem):
        await campaigns.create(CampaignSpec.parse(broken))
    unknown = {**PROMOTION, "template": {"vi": "Chào {{ ten }}"}}
    with pytest.raises(TemplateProblem, match="ten"):
        await campaigns.create(CampaignSpec.parse(unknown))
    not_telegram = {**PROMOTION, "template": {"vi": "<p>Chào {{ name }}</p>"}}
    with pytest.raises(TemplateProblem, match="does not support"):
        await campaigns.create(CampaignSpec.parse(not_telegram))
    assert await campaigns.list() == []


async def test_staff_cannot_reach_python_from_a_template(services: Services) -> None:
    sneaky = {**PROMOTION, "template": {"vi": "{{ name.__class__.__mro__ }}"}}
    with pytest.raises(TemplateProblem):
        await services.care.campaigns.create(CampaignSpec.parse(sneaky))


async def test_a_customer_name_is_escaped_in_a_campaign(services: Services) -> None:
    await member(services, "gold", telegram_user_id=9100, name="<Lan & Co>")
    await services.care.campaigns.create(CampaignSpec.parse(PROMOTION))
    await services.care.campaigns.start("Tết 2027")
    [row] = await outbox_rows(services)
    assert row.body.startswith("Chào &lt;Lan &amp; Co&gt;!")


async def test_the_preview_renders_each_language(services: Services) -> None:
    await services.care.campaigns.create(CampaignSpec.parse(PROMOTION))
    previews = await services.care.campaigns.preview("Tết 2027")
    assert previews["vi"].body == "Chào Nguyễn Thị Lan! Ưu đãi hạng diamond: <b>giảm 20%</b>"
    assert previews["vi"].subject == "Ưu đãi Tết từ Cửa hàng Mẫu"
    assert previews["en"].body == "Hello Jane Doe! Your diamond offer: <b>giảm 20%</b>"


async def test_a_dry_run_counts_the_audience_and_who_is_skipped_why(
    services: Services, clock: Any
) -> None:
    await member(services, "gold", telegram_user_id=9200)
    await member(services, "gold", telegram_user_id=None, consent_email=True)
    await member(services, "gold", code="KH-NO", consent_telegram=False, consent_email=False)
    await member(services, "diamond", telegram_user_id=9201, telegram_unreachable=True, email=None)
    await services.care.campaigns.create(CampaignSpec.parse(PROMOTION))
    report = await services.care.campaigns.dry_run("Tết 2027")
    assert report.audience == 4
    assert report.channels == {"telegram": 1, "email": 1}
    assert report.skipped == {"no_consent": 1, "unreachable": 1}
    assert ("KH-NO", "no_consent") in report.skipped_customers
    assert await outbox_rows(services) == []  # nothing queued


async def test_a_third_promotion_in_a_week_is_capped_for_those_who_got_two(
    services: Services, clock: Any
) -> None:
    busy = await member(services, "gold", telegram_user_id=9300)
    calm = await member(services, "diamond", telegram_user_id=9301)
    campaigns = services.care.campaigns
    for n in (1, 2):
        await campaigns.create(
            CampaignSpec.parse({**PROMOTION, "name": f"Đợt {n}", "audience": {"tiers": ["gold"]}})
        )
        await campaigns.start(f"Đợt {n}")
        clock.advance(days=2)
    third = await campaigns.create(CampaignSpec.parse({**PROMOTION, "name": "Đợt 3"}))
    await campaigns.start("Đợt 3")
    outcome = {
        r.customer_id: (r.status, r.skip_reason)
        for r in await outbox_rows(services)
        if r.campaign_id == third.id
    }
    assert outcome == {busy.id: ("skipped", "frequency_cap"), calm.id: ("pending", None)}


async def test_quiet_hours_delay_a_campaign_started_at_night(
    services: Services, clock: Any
) -> None:
    await member(services, "gold", telegram_user_id=9400)
    await services.care.campaigns.create(CampaignSpec.parse(PROMOTION))
    clock.now = clock.now.replace(hour=15)  # 22:00 local
    await services.care.campaigns.start("Tết 2027")
    [row] = await outbox_rows(services)
    assert row.status == "pending"
    assert row.next_attempt_at == clock.now.replace(hour=1) + timedelta(days=1)  # 08:00


async def test_opted_out_customers_are_skipped(services: Services) -> None:
    await member(
        services, "gold", telegram_user_id=9500, consent_telegram=False, consent_email=False
    )
    await services.care.campaigns.create(CampaignSpec.parse(PROMOTION))
    await services.care.campaigns.start("Tết 2027")
    [row] = await outbox_rows(services)
    assert (row.status, row.skip_reason) == ("skipped", "no_consent")


async def test_a_scheduled_campaign_starts_once_when_due(services: Services, clock: Any) -> None:
    await member(services, "gold", telegram_user_id=9600)
    campaigns = services.care.campaigns
    at = clock() + timedelta(hours=2)
    await campaigns.create(CampaignSpec.parse({**PROMOTION, "schedule": at}))
    assert await campaigns.start_due() == 0
    clock.now = at + timedelta(minutes=30)  # the scan runs late, after a restart
    assert await campaigns.start_due() == 1
    assert await campaigns.start_due() == 0
    assert (await campaigns.get("Tết 2027")).status == "running"
    assert len(await outbox_rows(services)) == 1


async def test_a_finished_campaign_sends_its_summary_to_the_staff_chat(
    services: Services, sandbox: SandboxServer
) -> None:
    sandbox.add_group(-1001000, "Nhân viên")
    sandbox.add_user(9700, "K")
    await member(services, "gold", telegram_user_id=9700)
    await member(services, "gold", telegram_user_id=None, email=None)
    campaigns = services.care.campaigns
    await campaigns.create(CampaignSpec.parse(PROMOTION))
    await campaigns.start("Tết 2027")
    async with Bot(TOKEN, base_url=sandbox.base_url) as bot:
        dispatcher = Dispatcher(
            services,
            telegram=TelegramChannel(bot, messages_per_second=28),
            email=EmlDirectoryChannel(services.settings.outbox_dir),
        )
        await dispatcher.drain()
        assert await campaigns.finish_done() == ["Tết 2027"]
        assert await campaigns.finish_done() == []
        await dispatcher.drain()
    [summary] = sandbox.sent(-1001000)
    assert "Chiến dịch «Tết 2027» đã hoàn tất" in summary.text
    assert "Đã gửi: 1" in summary.text
    assert "không có Telegram hay e-mail: 1" in summary.text
    campaign = await campaigns.get("Tết 2027")
    assert campaign.status == "done" and campaign.summary_sent_at is not None


async def test_a_cancelled_campaign_sends_nothing_more_and_tells_the_staff_chat(
    services: Services, sandbox: SandboxServer, clock: Any
) -> None:
    sandbox.add_group(-1001000, "Nhân viên")
    for n in range(3):
        sandbox.add_user(9800 + n, f"K{n}")
        await member(services, "gold", telegram_user_id=9800 + n)
    campaigns = services.care.campaigns
    await campaigns.create(CampaignSpec.parse(PROMOTION))
    clock.now = clock.now.replace(hour=16)  # 23:00 in Ho Chi Minh City: quiet hours
    assert await campaigns.start("Tết 2027") == 3  # queued for the morning

    progress = await campaigns.cancel("Tết 2027")

    assert progress.statuses == {"skipped": 3} and progress.skipped == {"cancelled": 3}
    assert (await campaigns.get("Tết 2027")).status == "cancelled"
    clock.now = clock.now + timedelta(hours=12)  # the morning comes
    async with Bot(TOKEN, base_url=sandbox.base_url) as bot:
        dispatcher = Dispatcher(
            services,
            telegram=TelegramChannel(bot, messages_per_second=28),
            email=EmlDirectoryChannel(services.settings.outbox_dir),
        )
        await dispatcher.drain()
    assert all(sandbox.sent(9800 + n) == [] for n in range(3))
    [summary] = sandbox.sent(-1001000)
    assert "Chiến dịch «Tết 2027» đã bị huỷ" in summary.text
    assert "chiến dịch bị huỷ trước khi gửi: 3" in summary.text
    with pytest.raises(CampaignError, match="cancelled already"):
        await campaigns.cancel("Tết 2027")


async def test_a_cancelled_scheduled_campaign_never_starts(services: Services, clock: Any) -> None:
    await member(services, "gold", telegram_user_id=9900)
    campaigns = services.care.campaigns
    at = clock() + timedelta(days=1)
    await campaigns.create(CampaignSpec.parse({**PROMOTION, "schedule": at}))
    progress = await campaigns.cancel("Tết 2027")
    assert progress.total == 0
    clock.now = at + timedelta(minutes=1)
    assert await campaigns.start_due() == 0
    assert await outbox_rows(services) == []


async def test_rows_a_stopped_dispatcher_put_back_are_skipped_if_their_campaign_was_cancelled(
    services: Services,
) -> None:
    for n in range(2):
        await member(
            services, "gold", telegram_user_id=None, email=f"k{n}@example.com", consent_email=True
        )
    campaigns = services.care.campaigns
    await campaigns.create(CampaignSpec.parse({**PROMOTION, "channel": "email"}))
    await campaigns.start("Tết 2027")
    dispatcher = Dispatcher(
        services, telegram=None, email=EmlDirectoryChannel(services.settings.outbox_dir)
    )

    async def cancel_then_stop(rows: Any, journal: Any, report: Any) -> list[Any]:
        await campaigns.cancel("Tết 2027")  # while the group is claimed, before it is sent
        dispatcher.stop()
        return []

    await dispatcher._lane("email", cancel_then_stop, DrainReport())
    rows = [row for row in await outbox_rows(services) if row.campaign_id is not None]
    assert [(row.status, row.skip_reason) for row in rows] == [("skipped", "cancelled")] * 2
    assert list(services.settings.outbox_dir.glob("*.eml")) == []


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{tmp_cwd / 'cli.db'}")
    monkeypatch.delenv("CAREBOT_TELEGRAM_TOKEN", raising=False)
    return tmp_cwd


def test_the_cli_creates_previews_and_dry_runs_a_yaml_campaign(cli_env: Path) -> None:
    (cli_env / "tet.yaml").write_text(
        "name: Tết 2027\n"
        "audience: {tiers: [gold]}\n"
        "template:\n"
        "  vi: 'Chào {{ name }}: <b>{{ offer }}</b>'\n"
        "  en: 'Hello {{ name }}: <b>{{ offer }}</b>'\n"
        "offers: {gold: giảm 10%}\n"
        "schedule: 01/02/2027 09:00\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    created = runner.invoke(cli, ["campaign", "create", "--file", "tet.yaml"])
    assert created.exit_code == 0, created.output
    assert "scheduled for 01/02/2027 09:00" in created.output
    preview = runner.invoke(cli, ["campaign", "preview", "Tết 2027"])
    assert "Chào Nguyễn Thị Lan: <b>giảm 10%</b>" in preview.output
    dry = runner.invoke(cli, ["campaign", "send", "Tết 2027", "--dry-run"])
    assert dry.exit_code == 0 and "audience: 0" in dry.output
    listed = runner.invoke(cli, ["campaign", "list"])
    assert "scheduled" in listed.output
    jobs = runner.invoke(cli, ["scheduler", "jobs"])
    assert jobs.exit_code == 0, jobs.output
    assert "Scheduled campaigns" in jobs.output and "Tết 2027" in jobs.output
    assert "01/02/2027 09:00" in jobs.output


def test_the_cli_reports_problems_in_one_line(cli_env: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(cli, ["campaign", "create", "--name", "X", "--template-vi", "<b>Chào"])
    assert bad.exit_code == 1
    assert "never closed" in bad.output and "Traceback" not in bad.output
    runner.invoke(cli, ["campaign", "create", "--name", "X", "--template-vi", "Chào"])
    no_token = runner.invoke(cli, ["campaign", "send", "X"])
    assert no_token.exit_code == 1
    assert "CAREBOT_TELEGRAM_TOKEN is not set" in no_token.output
    missing = runner.invoke(cli, ["campaign", "status", "nope"])
    assert missing.exit_code == 1 and "no campaign named 'nope'" in missing.output
    cancelled = runner.invoke(cli, ["campaign", "cancel", "X"])
    assert cancelled.exit_code == 0 and "campaign 'X' cancelled" in cancelled.output
    again = runner.invoke(cli, ["campaign", "cancel", "X"])
    assert again.exit_code == 1 and "campaign 'X' is cancelled already" in again.output
    late = runner.invoke(cli, ["campaign", "send", "X", "--no-dispatch"])
    assert late.exit_code == 1 and "is cancelled" in late.output


def test_scheduler_jobs_lists_every_job_with_its_next_run(cli_env: Path) -> None:
    result = CliRunner().invoke(cli, ["scheduler", "jobs"])
    assert result.exit_code == 0, result.output
    for job in (
        "thanks",
        "surveys",
        "birthdays",
        "holidays",
        "newsletter",
        "winback",
        "contacts",
        "campaigns",
        "segmentation",
    ):
        assert job in result.output
    assert "Asia/Ho_Chi_Minh" in result.output
