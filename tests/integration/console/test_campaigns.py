"""Campaigns in the console: compose with a live preview in both languages, a bad template
shown beside its field, the dry run's counts and skip reasons, send once, cancel."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
from sqlalchemy import func, select

from care.core.models import OutboxMessage
from care.services import Services
from tests.builders import add_metrics, make_customer

FORM = {
    "name": "Tết 2027",
    "kind": "promotion",
    "channel": "telegram",
    "consent": "any",
    "template_vi": "Chào {{ name }}! Ưu đãi: {{ offer }}",
    "template_en": "Hello {{ name }}! Offer: {{ offer }}",
    "offer_gold": "giảm 10%",
}


async def queued(services: Services) -> int:
    async with services.db.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


async def test_the_live_preview_shows_both_languages(
    client: httpx.AsyncClient, services: Services, manager: str
) -> None:
    response = await client.post(
        "/console/campaigns/preview",
        data={"csrf": manager, **FORM},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Chào Nguyễn Thị Lan! Ưu đãi: giảm 10%" in response.text
    assert "Hello Jane Doe! Offer: giảm 10%" in response.text
    broken = await client.post(
        "/console/campaigns/preview",
        data={"csrf": manager, **FORM, "template_vi": "Chào {{ name "},
        headers={"HX-Request": "true"},
    )
    assert broken.status_code == 200 and 'role="alert"' in broken.text


async def test_compose_dry_run_send_once(
    client: httpx.AsyncClient, services: Services, manager: str
) -> None:
    lan = await make_customer(services, name="Lan", telegram_user_id=8001, consent_telegram=True)
    binh = await make_customer(services, name="Bình", telegram_user_id=8002, consent_telegram=False)
    for customer in (lan, binh):
        await add_metrics(services, customer, tier="gold")
    bad = await client.post("/console/campaigns", data={"csrf": manager, **FORM, "name": ""})
    assert bad.status_code == 400 and "Cần điền mục này" in bad.text
    assert 'value="giảm 10%"' in bad.text  # what was typed is kept
    created = await client.post(
        "/console/campaigns", data={"csrf": manager, **FORM, "tiers": "gold"}
    )
    assert created.status_code == 303
    page = await client.get(created.headers["location"])
    dry = re.search(r'<section class="card" id="dry-run">(.*?)</section>', page.text, re.S)
    assert dry is not None
    assert "chưa đồng ý nhận tin" in dry.group(1)  # Bình is skipped, and why
    action = re.search(r'action="(/console/campaigns/[^"]+/send\?once=[^"]+)"', page.text)
    assert action is not None
    sent = await client.post(action.group(1).replace("&amp;", "&"), data={"csrf": manager})
    assert "done=send" in sent.headers["location"]
    rows = await queued(services)  # one message for Lan, one skipped row for Bình
    assert rows == 2
    again = await client.post(action.group(1).replace("&amp;", "&"), data={"csrf": manager})
    assert "done=already" in again.headers["location"]
    assert await queued(services) == rows


async def test_a_missing_campaign_is_the_one_404(
    client: httpx.AsyncClient, services: Services, manager: str
) -> None:
    response = await client.get(f"/console/campaigns/{quote('không có')}")
    assert response.status_code == 404
