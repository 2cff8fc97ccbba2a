"""/console/campaigns (managers): compose a campaign (audience over tiers, segments, kind,
regions, consent; the message per language with a live preview of both; offers per tier;
channel preference; schedule), see the dry run's counts and skip reasons, then send,
schedule or cancel it, and follow its progress live.

Everything is the campaign service the command line uses (care.outreach Campaigns): the
same checks, the same audience and rules, the same outbox.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from care.core.models import CampaignStatus, CustomerKind
from care.core.rendering import TemplateProblem
from care.core.text import parse_date
from care.customers import ConsoleUser
from care.outreach import CampaignError, CampaignSpec, chat_to_email
from web.console.base import MANAGER, first_submit, is_htmx, not_found, render, staff_page
from web.console.forms import Form
from web.state import services_of

CHANNELS = ("telegram", "email", "telegram_only", "email_only")
CONSENTS = ("any", "telegram", "email")
KINDS = ("promotion", "newsletter", "announcement")
DEFAULT_TEMPLATE = {
    "template_vi": "Chào {{ name }}! {{ shop_name }} gửi bạn ưu đãi: <b>{{ offer }}</b>",
    "template_en": "Hello {{ name }}! {{ shop_name }} has an offer for you: <b>{{ offer }}</b>",
}


def _segments() -> tuple[str, ...]:
    from care.analytics import SEGMENTS

    return SEGMENTS


def _shown(previews: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Each language's subject and its message as the e-mail shows it (the chat's HTML
    rebuilt from known tags only, text escaped)."""
    return {lang: (msg.subject, chat_to_email(msg.body)[0]) for lang, msg in previews.items()}


def _spec(form: Form, data: Any, tiers: list[str], timezone: str) -> CampaignSpec | None:
    """The campaign the form describes, or None with its problems noted beside the fields."""
    name = form.text("name", required=True, max_length=200)
    kind = form.choice("kind", KINDS)
    channel = form.choice("channel", CHANNELS)
    consent = form.choice("consent", CONSENTS)
    who = form.get("customer_kind")
    chosen_tiers = [t for t in data.getlist("tiers") if t in tiers]
    chosen_segments = [s for s in data.getlist("segments") if s in _segments()]
    regions = [r.strip() for r in form.get("regions").split(",") if r.strip()][:50]
    template = {
        lang: form.get(f"template_{lang}").strip()
        for lang in ("vi", "en")
        if form.get(f"template_{lang}").strip()
    }
    if not template:
        form.problem("template_vi", "console.campaigns.need_template")
    subject = {
        lang: form.get(f"subject_{lang}").strip()
        for lang in ("vi", "en")
        if form.get(f"subject_{lang}").strip()
    }
    offers = {
        t: form.get(f"offer_{t}").strip()[:300] for t in tiers if form.get(f"offer_{t}").strip()
    }
    schedule = None
    if form.get("schedule").strip():
        try:
            day_text, _, time_text = form.get("schedule").strip().partition(" ")
            day = parse_date(day_text)
            hour, minute = (int(x) for x in (time_text or "09:00").split(":"))
            schedule = datetime(
                day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(timezone)
            )
        except ValueError:
            form.problem("schedule", "console.campaigns.bad_schedule")
    if not form.ok:
        return None
    try:
        return CampaignSpec.parse(
            {
                "name": name,
                "kind": kind,
                "channel": channel,
                "audience": {
                    "tiers": chosen_tiers,
                    "segments": chosen_segments,
                    "kind": who if who in set(CustomerKind) else None,
                    "regions": regions,
                    "consent": None if consent == "any" else consent,
                },
                "template": template,
                "subject": subject,
                "offers": offers,
                "schedule": schedule,
            }
        )
    except CampaignError as exc:
        form.problem("name", str(exc))
        return None


def _compose_context(request: Request, form: Form, data: Any = None) -> dict[str, Any]:
    services = services_of(request)
    return {
        "form": form,
        "tiers": list(services.settings.tier_names),
        "segments": _segments(),
        "chosen_tiers": set(data.getlist("tiers")) if data is not None else set(),
        "chosen_segments": set(data.getlist("segments")) if data is not None else set(),
        "channels": CHANNELS,
        "consents": CONSENTS,
        "kinds": KINDS,
    }


@staff_page(MANAGER)
async def campaign_list(request: Request, user: ConsoleUser) -> Response:
    services = services_of(request)
    campaigns = await services.care.campaigns.list()
    form = Form({"kind": "promotion", "channel": "telegram", "consent": "any", **DEFAULT_TEMPLATE})
    return render(
        request, "campaigns", user=user, campaigns=campaigns, **_compose_context(request, form)
    )


@staff_page(MANAGER)
async def preview(request: Request, user: ConsoleUser) -> Response:
    """The live preview (htmx): the message in both languages for a sample customer."""
    services = services_of(request)
    data = await request.form()
    form = Form.of(data)
    if not form.get("name").strip():
        form.values["name"] = "preview"
    spec = _spec(form, data, list(services.settings.tier_names), services.settings.timezone)
    previews: dict[str, Any] = {}
    problem = None
    if spec is not None:
        try:
            previews = _shown(services.care.campaigns.preview_spec(spec))
        except TemplateProblem as exc:
            problem = str(exc)
    else:
        problem = "; ".join(
            services.renderer.label_or(None, p, p) if p.startswith("console.") else p
            for p in form.problems.values()
        )
    return render(request, "campaign_preview", user=user, previews=previews, problem=problem)


@staff_page(MANAGER)
async def create(request: Request, user: ConsoleUser) -> Response:
    services = services_of(request)
    data = await request.form()
    form = Form.of(data)
    spec = _spec(form, data, list(services.settings.tier_names), services.settings.timezone)
    if spec is not None:
        try:
            campaign = await services.care.campaigns.create(spec)
        except TemplateProblem as exc:
            form.problem("template_vi", str(exc))
        except CampaignError as exc:
            form.problem("name", str(exc))
        else:
            await services.console.record(
                user, "campaign.create", f"campaign:{campaign.name}", {"status": campaign.status}
            )
            return RedirectResponse(
                f"/console/campaigns/{quote(campaign.name, safe='')}", status_code=303
            )
    campaigns = await services.care.campaigns.list()
    return render(
        request,
        "campaigns",
        user=user,
        campaigns=campaigns,
        status=400,
        **_compose_context(request, form, data),
    )


async def _campaign_or_none(request: Request) -> Any:
    try:
        return await services_of(request).care.campaigns.get(request.path_params["name"])
    except CampaignError:
        return None


@staff_page(MANAGER)
async def campaign_page(request: Request, user: ConsoleUser) -> Response:
    services = services_of(request)
    campaign = await _campaign_or_none(request)
    if campaign is None:
        return not_found(request, user)
    progress = await services.care.campaigns.progress(campaign.name)
    dry = None
    if campaign.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
        dry = await services.care.campaigns.dry_run(campaign.name)
    context = {
        "c": campaign,
        "progress": progress,
        "dry": dry,
        "previews": _shown(
            services.care.campaigns.preview_spec(
                CampaignSpec.parse(
                    {
                        "name": campaign.name,
                        "template": campaign.template,
                        "subject": campaign.subject or {},
                        "offers": campaign.offers or {},
                    }
                )
            )
        ),
        "done": request.query_params.get("done"),
        "once": secrets.token_urlsafe(12),
    }
    name = "campaign_progress" if is_htmx(request) else "campaign"
    return render(request, name, user=user, **context)


@staff_page(MANAGER)
async def campaign_action(request: Request, user: ConsoleUser) -> Response:
    services = services_of(request)
    campaign = await _campaign_or_none(request)
    action = request.path_params["action"]
    if campaign is None or action not in ("send", "cancel", "schedule"):
        return not_found(request, user)
    here = f"/console/campaigns/{quote(campaign.name, safe='')}"
    if not first_submit(request, user):
        return RedirectResponse(f"{here}?done=already", status_code=303)
    campaigns = services.care.campaigns
    try:
        if action == "send":
            queued = await campaigns.start(campaign.name)
            detail: dict[str, Any] = {"queued": queued}
        elif action == "cancel":
            await campaigns.cancel(campaign.name)
            detail = {}
        else:
            form = Form.of(await request.form())
            day_text, _, time_text = form.get("schedule").strip().partition(" ")
            try:
                day = parse_date(day_text)
                hour, minute = (int(x) for x in (time_text or "09:00").split(":"))
                when = datetime(
                    day.year,
                    day.month,
                    day.day,
                    hour,
                    minute,
                    tzinfo=ZoneInfo(services.settings.timezone),
                )
            except ValueError:
                return RedirectResponse(f"{here}?done=bad_schedule", status_code=303)
            await campaigns.schedule(campaign.name, when)
            detail = {"at": when.isoformat()}
    except CampaignError:
        return RedirectResponse(f"{here}?done=refused", status_code=303)
    await services.console.record(user, f"campaign.{action}", f"campaign:{campaign.name}", detail)
    return RedirectResponse(f"{here}?done={action}", status_code=303)
