"""The unsubscribe page over real HTTP on 127.0.0.1, served by uvicorn as `carebot run`
serves it: one-click POST withdraws e-mail consent at once, GET changes nothing, forged
tokens get a 404, and the header of a real e-mail leads to it."""

from __future__ import annotations

import email
from collections.abc import AsyncIterator
from email import policy
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from care.core.models import Customer, Interaction, MessageCategory
from care.outreach.outbox import Message
from care.services import Services, build_services
from scheduler.dispatcher import Dispatcher
from scheduler.email_channel import EmlDirectoryChannel
from tests.builders import Clock, make_customer
from tests.integration.servers import web_served

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@pytest.fixture
async def base_url(services: Services) -> AsyncIterator[str]:
    """The pages served on a free port of 127.0.0.1, as `carebot run` serves them."""
    async with web_served(services) as url:
        yield url


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def link(services: Services, customer: Customer, base_url: str) -> str:
    """The customer's unsubscribe link as an e-mail carries it, on the test server."""
    token = services.care.outbox.links.token(customer.id)
    return f"{base_url}/unsubscribe/{token}"


async def consents(services: Services, customer: Customer) -> tuple[bool, bool]:
    async with services.db.uow() as uow:
        row = (
            await uow.session.execute(
                select(Customer.consent_email, Customer.consent_telegram).where(
                    Customer.id == customer.id
                )
            )
        ).one()
    return row.consent_email, row.consent_telegram


async def subscribed(services: Services, **fields: object) -> Customer:
    """A customer who agreed to promotions by e-mail and by Telegram."""
    values: dict[str, object] = {"telegram_user_id": 7001, **fields}
    return await make_customer(services, consent_email=True, consent_telegram=True, **values)


async def test_the_one_click_post_withdraws_email_consent_at_once(
    services: Services, base_url: str, http: aiohttp.ClientSession
) -> None:
    lan = await subscribed(services)
    async with http.post(link(services, lan, base_url), data=ONE_CLICK) as response:
        assert response.status == 200
        page = await response.text()
    assert "Bạn đã huỷ nhận e-mail" in page
    assert await consents(services, lan) == (False, True)  # Telegram consent untouched
    async with services.db.uow() as uow:
        logged = (
            await uow.session.execute(
                select(Interaction.channel, Interaction.kind).where(
                    Interaction.customer_id == lan.id
                )
            )
        ).all()
    assert [tuple(row) for row in logged] == [("email", "unsubscribe")]


async def test_opening_the_link_only_shows_the_button(
    services: Services, base_url: str, http: aiohttp.ClientSession
) -> None:
    lan = await subscribed(services)
    async with http.get(link(services, lan, base_url)) as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        page = await response.text()
    assert '<form method="post">' in page
    assert "Huỷ nhận e-mail</button>" in page
    assert await consents(services, lan) == (True, True)


async def test_the_page_s_button_unsubscribes_and_posting_twice_confirms_again(
    services: Services, base_url: str, http: aiohttp.ClientSession
) -> None:
    lan = await subscribed(services)
    url = link(services, lan, base_url)
    for _ in range(2):
        async with http.post(url, data=ONE_CLICK) as response:
            assert response.status == 200
            assert "Bạn đã huỷ nhận e-mail" in await response.text()
    assert await consents(services, lan) == (False, True)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("forge", ["signature", "customer", "garbage"])
async def test_a_forged_token_gets_a_404_in_both_languages_and_changes_nothing(
    services: Services, base_url: str, http: aiohttp.ClientSession, method: str, forge: str
) -> None:
    lan = await subscribed(services)
    other = await subscribed(services, telegram_user_id=7002)
    token = link(services, lan, base_url).rpartition("/")[2]
    customer_id, _, signature = token.partition(".")
    forged = {
        # A character in the middle: the last one of base64 may carry only padding bits.
        "signature": f"{customer_id}.{signature[:5]}{'0' if signature[5] != '0' else '1'}"
        f"{signature[6:]}",
        "customer": f"{other.id}.{signature}",
        "garbage": "not-a-token",
    }[forge]
    async with http.request(method, f"{base_url}/unsubscribe/{forged}", data=ONE_CLICK) as response:
        assert response.status == 404
        page = await response.text()
    assert "Liên kết không hợp lệ" in page and "Invalid link" in page
    assert await consents(services, lan) == (True, True)
    assert await consents(services, other) == (True, True)


async def test_the_page_speaks_the_customer_s_language(
    services: Services, base_url: str, http: aiohttp.ClientSession
) -> None:
    john = await subscribed(services, name="John Smith", language="en")
    url = link(services, john, base_url)
    async with http.get(url) as response:
        page = await response.text()
    assert '<html lang="en">' in page and "Unsubscribe</button>" in page
    async with http.post(url, data=ONE_CLICK) as response:
        page = await response.text()
    assert "You have unsubscribed" in page and "Cửa hàng Mẫu" in page
    assert "huỷ" not in page.lower()


async def test_the_shop_name_is_escaped(
    services: Services, base_url: str, http: aiohttp.ClientSession
) -> None:
    services.settings.shop_name = "Sao <b>Mai</b> & Co"
    lan = await subscribed(services)
    async with http.get(link(services, lan, base_url)) as response:
        page = await response.text()
    assert "Sao &lt;b&gt;Mai&lt;/b&gt; &amp; Co" in page and "<b>Mai</b>" not in page


async def test_the_health_check_answers_ok(base_url: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{base_url}/healthz") as response:
        assert (response.status, await response.text()) == (200, "ok")


async def test_the_list_unsubscribe_header_of_a_sent_email_leads_here(
    services: Services, base_url: str, http: aiohttp.ClientSession, clock: Clock, tmp_path: Path
) -> None:
    # The shop's PUBLIC_BASE_URL points at this server; the rest of the settings are the same.
    shop = build_services(
        services.settings.model_copy(update={"public_base_url": base_url}),
        database=services.db,
        clock=clock,
    )
    await shop.start()
    lan = await subscribed(services, email="lan@example.com")
    async with shop.db.uow() as uow:
        await shop.care.outbox.to_customer(
            uow.session,
            lan,
            key="promo:1",
            category=MessageCategory.MARKETING,
            template="promo",
            preference="email",
            now=clock(),
            message=lambda lang: Message(body="Ưu đãi 20% tháng này", subject="Ưu đãi"),
        )
        await uow.commit()
    await Dispatcher(shop, telegram=None, email=EmlDirectoryChannel(tmp_path / "mail")).drain()
    [path] = (tmp_path / "mail").glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)

    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [url] = [part.strip().strip("<>") for part in message["List-Unsubscribe"].split(",")]
    assert url.startswith(f"{base_url}/unsubscribe/")  # the https form only: no mailto:
    async with http.post(url, data=ONE_CLICK) as response:
        assert response.status == 200
    assert await consents(services, lan) == (False, True)
