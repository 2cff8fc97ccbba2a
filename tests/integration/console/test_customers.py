"""The console's customers: search by name without diacritics, phone in any format, code,
e-mail; filters; the card; edits, consent, policies and erasure, each in the audit log."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from care.core.models import AuditEntry, Customer
from care.services import Services
from tests.builders import add_metrics, make_customer


async def test_a_customer_is_found_by_phone_in_any_format(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    await make_customer(services, name="Nguyễn Thị Lan", phone="+84912345678")
    await make_customer(services, name="Trần Văn Bình", phone="+84987654321")
    for typed in ("0912 345 678", "+84 912-345-678", "84912345678"):
        page = await client.get("/console/customers", params={"q": typed})
        assert page.status_code == 200
        assert "Nguyễn Thị Lan" in page.text and "Trần Văn Bình" not in page.text


async def test_a_name_typed_without_diacritics_finds_it_with_them(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    await make_customer(services, name="Nguyễn Thị Lan")
    await make_customer(services, name="Trần Văn Bình")
    page = await client.get("/console/customers", params={"q": "nguyen thi lan"})
    assert "Nguyễn Thị Lan" in page.text and "Trần Văn Bình" not in page.text


async def test_code_and_email_find_a_customer(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    lan = await make_customer(services, name="Lan", email="lan@example.com")
    await make_customer(services, name="Bình")
    assert "Bình" not in (await client.get("/console/customers", params={"q": lan.code})).text
    page = await client.get("/console/customers", params={"q": "LAN@example.com"})
    assert lan.code in page.text and "Bình" not in page.text


async def test_filters_narrow_the_list_and_htmx_gets_only_the_results(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    lan = await make_customer(services, name="Lan", region="Hà Nội")
    binh = await make_customer(services, name="Bình", region="Đà Nẵng")
    await add_metrics(services, lan, tier="gold")
    await add_metrics(services, binh, tier="member")
    page = await client.get(
        "/console/customers", params={"tier": "gold"}, headers={"HX-Request": "true"}
    )
    assert "Lan" in page.text and "Bình" not in page.text and "<html" not in page.text
    page = await client.get("/console/customers", params={"region": "Đà Nẵng"})
    assert "Bình" in page.text and ">Lan<" not in page.text


async def test_the_card_and_a_missing_customer_give_the_same_404(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    lan = await make_customer(services, name="Lan <b>&</b> Co", phone="+84912345678")
    card = await client.get(f"/console/customers/{lan.code}")
    assert card.status_code == 200 and "Lan &lt;b&gt;&amp;&lt;/b&gt; Co" in card.text
    missing = await client.get("/console/customers/KH99999")
    assert missing.status_code == 404
    await services.customers.forget_by_code(lan.code)
    erased = await client.get(f"/console/customers/{lan.code}")
    assert erased.status_code == 404
    assert erased.text.replace(lan.code, "KH99999") == missing.text  # only the URL differs


async def test_a_bad_phone_is_shown_beside_its_field_and_nothing_changes(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    lan = await make_customer(services, name="Lan", phone="+84912345678")
    response = await client.post(
        f"/console/customers/{lan.code}/profile",
        data={"csrf": agent, "name": "Lan Mới", "phone": "12"},
    )
    assert response.status_code == 400
    assert "Số điện thoại không hợp lệ" in response.text and 'value="Lan Mới"' in response.text
    assert (await services.customers.by_code(lan.code)).name == "Lan"  # type: ignore[union-attr]
    done = await client.post(
        f"/console/customers/{lan.code}/profile",
        data={"csrf": agent, "name": "Lan Mới", "phone": "0987 654 321"},
    )
    assert done.status_code == 303
    view = await services.customers.by_code(lan.code)
    assert view is not None and view.name == "Lan Mới" and view.phone == "+84987654321"


async def test_consent_recorded_by_staff_is_in_the_audit_log(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    lan = await make_customer(services, name="Lan", consent_telegram=True)
    response = await client.post(
        f"/console/customers/{lan.code}/consent",
        data={"csrf": agent, "channel": "telegram", "value": "off"},
    )
    assert response.status_code == 303
    async with services.db.uow() as uow:
        assert not await uow.session.scalar(
            select(Customer.consent_telegram).where(Customer.id == lan.id)
        )
        actions = list(await uow.session.scalars(select(AuditEntry.action)))
    assert "customer.consent" in actions


async def test_an_agent_cannot_erase_and_a_manager_must_type_the_code(
    client: httpx.AsyncClient, services: Services, manager: str
) -> None:
    lan = await make_customer(services, name="Lan")
    wrong = await client.post(
        f"/console/customers/{lan.code}/erase", data={"csrf": manager, "confirm": "nope"}
    )
    assert wrong.status_code == 400 and "không khớp" in wrong.text
    assert (await services.customers.by_code(lan.code)).erased_at is None  # type: ignore[union-attr]
    done = await client.post(
        f"/console/customers/{lan.code}/erase", data={"csrf": manager, "confirm": lan.code}
    )
    assert done.status_code == 303
    assert (await services.customers.by_code(lan.code)).erased_at is not None  # type: ignore[union-attr]
    twice = await client.post(
        f"/console/customers/{lan.code}/erase", data={"csrf": manager, "confirm": lan.code}
    )
    assert twice.status_code == 404


async def test_an_agent_is_refused_erasure(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    lan = await make_customer(services, name="Lan")
    response = await client.post(
        f"/console/customers/{lan.code}/erase", data={"csrf": agent, "confirm": lan.code}
    )
    assert response.status_code == 403


async def test_granting_a_policy(client: httpx.AsyncClient, services: Services, agent: str) -> None:
    lan = await make_customer(services, name="Lan")
    bad = await client.post(
        f"/console/customers/{lan.code}/policy", data={"csrf": agent, "policy": "", "value": "x"}
    )
    assert bad.status_code == 400
    ok = await client.post(
        f"/console/customers/{lan.code}/policy",
        data={"csrf": agent, "policy": "Voucher 100k", "value": "100000"},
    )
    assert ok.status_code == 303
    card = await client.get(f"/console/customers/{lan.code}")
    assert "Voucher 100k" in card.text and "100.000 ₫" in card.text


async def test_the_card_shows_the_interaction_timeline(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    lan = await make_customer(services, name="Lan", consent_telegram=True)
    await client.post(
        f"/console/customers/{lan.code}/consent",
        data={"csrf": agent, "channel": "telegram", "value": "off"},
    )
    card = await client.get(f"/console/customers/{lan.code}")
    assert "consent_telegram_off" in card.text and "Lịch sử trao đổi" in card.text


async def test_staff_open_a_ticket_for_a_customer_who_called(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    lan = await make_customer(services, name="Lan")
    empty = await client.post(
        f"/console/customers/{lan.code}/ticket",
        data={"csrf": agent, "category": "delivery", "severity": "high", "description": ""},
    )
    assert empty.status_code == 400
    opened = await client.post(
        f"/console/customers/{lan.code}/ticket",
        data={
            "csrf": agent,
            "category": "delivery",
            "severity": "high",
            "description": "Gọi điện: giao trễ",
        },
    )
    assert opened.status_code == 303
    page = await client.get(opened.headers["location"])
    assert page.status_code == 200 and "Gọi điện: giao trễ" in page.text
    missing = await client.post(
        "/console/customers/KH99999/ticket",
        data={"csrf": agent, "category": "delivery", "severity": "high", "description": "x"},
    )
    assert missing.status_code == 404
