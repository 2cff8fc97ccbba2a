"""The HTTP API as a shop's sales system meets it: keys and scopes, problem+json, batches
all or nothing, Idempotency-Key, the rate limit and the body limit, and what a pushed
order sets off (the thank-you at once, once; the customer re-classified)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from telegram import Bot

from bot.sandbox import SandboxServer
from care.core.models import Customer, Order, OrderLine, Product
from care.services import Services
from scheduler.dispatcher import Dispatcher
from scheduler.email_channel import EmlDirectoryChannel
from scheduler.telegram_channel import TelegramChannel
from tests.builders import TOKEN, ApiClient, make_customer, outbox_rows

LAN = {
    "kind": "individual",
    "name": "Nguyễn Thị Lan",
    "phone": "0912 345 678",
    "email": "Lan@Example.com",
    "birthday": "1990-05-17",
    "region": "Hà Nội",
    "language": "vi",
    "marketing_consent": "có",
}


def order(customer_code: str = "KH-LAN", **fields: Any) -> dict[str, Any]:
    """An order delivered this morning, as a sales system sends it."""
    return {
        "customer_code": customer_code,
        "kind": "order",
        "status": "delivered",
        "placed_at": "2026-11-22T15:00:00+07:00",
        "delivered_at": "2026-11-23T09:30:00+07:00",
        "amount": 1_250_000,
        "margin": "250.000",
        **fields,
    }


async def count(services: Services, model: Any) -> int:
    async with services.db.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


# --- keys and scopes ---------------------------------------------------------------------------

ENDPOINTS = [
    ("PUT", "/customers/KH1", LAN, "customers:write"),
    ("POST", "/customers", {"items": [LAN | {"code": "KH1"}]}, "customers:write"),
    ("GET", "/customers/KH1", None, "read"),
    ("PUT", "/orders/DH1", order(), "orders:write"),
    ("POST", "/orders", {"items": [order(code="DH1")]}, "orders:write"),
    ("GET", "/orders/DH1", None, "read"),
    ("PUT", "/products/SP1", {"name": "Ấm trà", "price": 450_000}, "products:write"),
    ("POST", "/products", {"items": [{"code": "SP1", "name": "Ấm", "price": 1}]}, "products:write"),
    ("GET", "/products/SP1", None, "read"),
    ("GET", "/products", None, "read"),
]


@pytest.mark.parametrize(("method", "path", "body", "scope"), ENDPOINTS)
async def test_every_endpoint_refuses_a_missing_wrong_or_revoked_key_and_a_missing_scope(
    api: ApiClient, method: str, path: str, body: Any, scope: str
) -> None:
    missing = await api.call(method, path, json=body)
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.headers["www-authenticate"].startswith("Bearer")

    good = await api.key(name="erp")
    wrong = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    assert (await api.call(method, path, wrong, json=body)).status_code == 401
    assert (await api.call(method, path, "not-a-key", json=body)).status_code == 401

    await api.services.api_keys.revoke("erp")
    revoked = await api.call(method, path, good, json=body)
    assert revoked.status_code == 401
    assert revoked.json()["detail"] == "this API key is not valid (unknown or revoked)"

    others = ",".join(s for s in ("customers:write", "orders:write", "read") if s != scope)
    lacking = await api.call(method, path, await api.key(others or "webhooks:write"), json=body)
    assert lacking.status_code == 403
    assert lacking.json()["detail"] == f"this API key has no '{scope}' scope"
    assert await count(api.services, Customer) == 0  # nothing got through
    assert await count(api.services, Product) == 0


# --- customers -----------------------------------------------------------------------------------


async def test_a_customer_is_created_then_updated_by_code_with_the_imports_normalisation(
    api: ApiClient,
) -> None:
    key = await api.key()
    created = await api.call("PUT", "/customers/KH-LAN", key, json=LAN)
    assert created.status_code == 201, created.text
    lan = created.json()
    assert (lan["code"], lan["phone"], lan["email"]) == (
        "KH-LAN",
        "+84912345678",
        "Lan@example.com",
    )
    assert lan["consent"] == {"telegram": True, "email": True}

    updated = await api.call("PUT", "/customers/KH-LAN", key, json={**LAN, "region": "Huế"})
    assert updated.status_code == 200
    assert updated.json()["region"] == "Huế"
    fetched = await api.call("GET", "/customers/KH-LAN", key)
    assert fetched.json()["region"] == "Huế" and "tier" in fetched.json()
    assert await count(api.services, Customer) == 1


async def test_a_bad_customer_gets_problem_json_naming_each_field_and_nothing_is_written(
    api: ApiClient,
) -> None:
    key = await api.key()
    bad = {**LAN, "phone": "12", "birthday": "1990-13-01", "nickname": "Lan"}
    answer = await api.call("PUT", "/customers/KH-LAN", key, json=bad)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"] == "urn:carebot:problem:validation"
    assert problem["status"] == 422 and problem["instance"] == "/api/v1/customers/KH-LAN"
    assert {(e["field"], e["detail"]) for e in problem["errors"]} == {
        ("nickname", "unknown field 'nickname'"),
        ("phone", "phone '12' is not a phone number"),
        ("birthday", "birthday '1990-13-01' is not a date (YYYY-MM-DD)"),
    }
    assert await count(api.services, Customer) == 0


async def test_a_missing_required_field_is_named_as_an_import_names_an_empty_cell(
    api: ApiClient,
) -> None:
    answer = await api.call(
        "PUT",
        "/customers/KH-LAN",
        await api.key(),
        json={"kind": "individual", "phone": "0912345678"},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "name", "detail": "name is empty"}]


async def test_a_batch_with_one_bad_item_writes_nothing_and_names_the_item(
    api: ApiClient,
) -> None:
    key = await api.key()
    items = [{**LAN, "code": f"KH{n}", "phone": f"09123456{n:02d}"} for n in range(5)]
    items[3]["kind"] = "alien"
    answer = await api.call("POST", "/customers", key, json={"items": items})
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"index": 3, "field": "kind", "detail": "kind 'alien' is not individual or organization"}
    ]
    assert await count(api.services, Customer) == 0

    items[3]["kind"] = "tổ chức"
    answer = await api.call("POST", "/customers", key, json={"items": items})
    assert answer.status_code == 200
    assert answer.json() == {"created": 5, "updated": 0}


async def test_a_batch_is_limited_in_items_and_the_body_in_bytes(api: ApiClient) -> None:
    key = await api.key()
    api.services.settings.api_batch_max = 2
    answer = await api.call("POST", "/customers", key, json={"items": [LAN, LAN, LAN]})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "items"

    api.services.settings.api_max_body_bytes = 2048
    big = {**LAN, "address": "x" * 900}
    answer = await api.call("POST", "/customers", key, json={"items": [big, big, big]})
    assert answer.status_code == 413
    assert answer.json()["type"] == "urn:carebot:problem:payload-too-large"


async def test_a_body_that_is_not_json_is_a_problem_not_a_traceback(api: ApiClient) -> None:
    answer = await api.call(
        "PUT", "/customers/KH1", await api.key(), content=b"{not json", headers={}
    )
    assert answer.status_code == 400
    assert answer.json()["detail"] == "the body is not JSON (UTF-8)"


# --- Idempotency-Key ---------------------------------------------------------------------------


async def test_a_retry_with_the_same_idempotency_key_gets_the_first_response(
    api: ApiClient, clock: Any
) -> None:
    key = await api.key()
    once = {"Idempotency-Key": "push-42"}
    first = await api.call("PUT", "/customers/KH-LAN", key, json=LAN, headers=once)
    assert first.status_code == 201
    again = await api.call("PUT", "/customers/KH-LAN", key, json=LAN, headers=once)
    assert (again.status_code, again.json()) == (201, first.json())  # not 200 "updated"
    assert again.headers["idempotent-replayed"] == "true"

    other = await api.call(
        "PUT", "/customers/KH-LAN", key, json={**LAN, "name": "Lan B"}, headers=once
    )
    assert other.status_code == 422
    assert other.json()["type"] == "urn:carebot:problem:idempotency-key-reused"

    clock.advance(hours=25)  # kept a day: then the key is free again
    later = await api.call("PUT", "/customers/KH-LAN", key, json=LAN, headers=once)
    assert later.status_code == 200 and "idempotent-replayed" not in later.headers


# --- the rate limit ------------------------------------------------------------------------------


async def test_a_key_over_its_rate_gets_429_with_retry_after(api: ApiClient) -> None:
    api.services.settings.api_requests_per_minute = 3
    key, other = await api.key(), await api.key()
    statuses = [(await api.call("GET", "/products", key)).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200] and statuses[-1] == 429
    limited = await api.call("GET", "/products", key)
    assert limited.headers["retry-after"] == "20"
    assert (await api.call("GET", "/products", other)).status_code == 200  # per key


# --- orders ------------------------------------------------------------------------------------


async def test_an_order_takes_numbers_as_strings_and_a_date_alone_as_the_shops_day(
    api: ApiClient,
) -> None:
    key = await api.key()
    await api.call("PUT", "/customers/KH-LAN", key, json=LAN)
    await api.call(
        "PUT", "/products/AT-01", key, json={"name": "Ấm trà Bát Tràng", "price": "450k"}
    )
    answer = await api.call(
        "PUT",
        "/orders/DH-1",
        key,
        json=order(
            status="confirmed",
            placed_at="2026-11-20",
            delivered_at=None,
            amount="1.250.000",
            lines=[
                {"product": "AT-01", "quantity": "2", "unit_price": 450_000},
                {"product": "Khay gỗ", "quantity": 1, "amount": "350k"},
            ],
        ),
    )
    assert answer.status_code == 201, answer.text
    stored = answer.json()
    # Midnight in Ho Chi Minh City is 17:00 UTC the day before.
    assert stored["placed_at"] == "2026-11-19T17:00:00+00:00"
    assert stored["amount"] == 1_250_000 and stored["margin"] == 250_000
    assert [(line["product"], line["quantity"], line["amount"]) for line in stored["lines"]] == [
        ("AT-01", 2, 900_000),
        ("Khay gỗ", 1, 350_000),
    ]
    async with api.services.db.uow() as uow:
        linked = (await uow.session.execute(select(OrderLine.product_id))).scalars().all()
    assert linked[0] is not None and linked[1] is None  # the catalogue knows AT-01 only


async def test_bad_order_lines_are_named_by_their_position(api: ApiClient) -> None:
    key = await api.key()
    await api.call("PUT", "/customers/KH-LAN", key, json=LAN)
    answer = await api.call(
        "POST",
        "/orders",
        key,
        json={"items": [order(code="DH-1"), order(code="DH-2", lines=[{"quantity": 0}])]},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"index": 1, "field": "lines[0].product", "detail": "lines[0].product is empty"},
        {
            "index": 1,
            "field": "lines[0].quantity",
            "detail": "lines[0].quantity '0' must be above 0",
        },
    ]
    assert await count(api.services, Order) == 0


async def test_an_order_of_an_unknown_customer_is_refused_with_the_imports_message(
    api: ApiClient,
) -> None:
    answer = await api.call("PUT", "/orders/DH-1", await api.key(), json=order("KH-NOBODY"))
    assert answer.json()["errors"] == [
        {
            "field": "customer_code",
            "detail": "customer_code 'KH-NOBODY' is not a known customer (import customers first)",
        }
    ]


@pytest.fixture
async def dispatcher(services: Services, sandbox: SandboxServer) -> AsyncIterator[Dispatcher]:
    async with Bot(TOKEN, base_url=sandbox.base_url) as bot:
        yield Dispatcher(
            services,
            telegram=TelegramChannel(bot, messages_per_second=28.0),
            email=EmlDirectoryChannel(services.settings.outbox_dir),
        )


async def test_an_order_pushed_as_delivered_three_times_gets_one_thank_you_within_the_delay(
    api: ApiClient, sandbox: SandboxServer, dispatcher: Dispatcher, clock: Any
) -> None:
    sandbox.add_user(8101, "Lan")
    await make_customer(api.services, code="KH-LAN", telegram_user_id=8101, name="Lan")
    key = await api.key()
    clock.now = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 10:00, half an hour after delivery
    for attempt in range(3):
        answer = await api.call("PUT", "/orders/DH-THANKS", key, json=order())
        assert answer.status_code == (201 if attempt == 0 else 200)
    assert (
        await api.call("POST", "/orders", key, json={"items": [order(code="DH-THANKS")]})
    ).json() == {
        "created": 0,
        "updated": 1,
    }

    [row] = await outbox_rows(api.services, "thanks:")
    delivered = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
    assert row.next_attempt_at == delivered + timedelta(hours=2)  # due from delivery, not a scan
    assert (await api.call("GET", "/orders/DH-THANKS", key)).json()["thank_you"] == "pending"

    await dispatcher.drain()
    assert sandbox.sent(8101) == []  # not before the delay
    clock.now = delivered + timedelta(hours=2, minutes=1)
    await dispatcher.drain()
    assert (await api.services.care.thank_deliveries()).queued == 0  # the scan agrees: done
    await api.call("PUT", "/orders/DH-THANKS", key, json=order())
    await dispatcher.drain()

    [message] = sandbox.sent(8101)
    assert "DH-THANKS" in message.text and "1.250.000 ₫" in message.text
    assert [r.status for r in await outbox_rows(api.services, "thanks:")] == ["sent"]


async def test_a_thank_you_waiting_for_an_order_then_returned_is_not_sent(
    api: ApiClient,
) -> None:
    await make_customer(api.services, code="KH-LAN", telegram_user_id=8102)
    key = await api.key()
    await api.call("PUT", "/orders/DH-R", key, json=order())
    await api.call("PUT", "/orders/DH-R", key, json=order(status="returned"))
    [row] = await outbox_rows(api.services, "thanks:")
    assert (row.status, row.skip_reason) == ("skipped", "order_changed")


async def test_a_pushed_order_reclassifies_its_customer_at_once(api: ApiClient) -> None:
    key = await api.key()
    await api.call("PUT", "/customers/KH-LAN", key, json=LAN)
    before = (await api.call("GET", "/customers/KH-LAN", key)).json()
    assert before["orders"] == 0
    await api.call("PUT", "/orders/DH-1", key, json=order(status="confirmed"))
    after = (await api.call("GET", "/customers/KH-LAN", key)).json()
    assert after["orders"] == 1 and after["tier"] is not None
    assert after["ltv"] > 0


async def test_unknown_records_are_404_problems(api: ApiClient) -> None:
    key = await api.key()
    for path in ("/customers/NOPE", "/orders/NOPE", "/products/NOPE"):
        answer = await api.call("GET", path, key)
        assert answer.status_code == 404
        assert answer.json()["type"] == "urn:carebot:problem:not-found"


# --- the OpenAPI document ------------------------------------------------------------------------


async def test_the_openapi_document_is_valid_openapi_3_1_and_the_docs_page_shows_it(
    api: ApiClient,
) -> None:
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation import OpenAPIV31SpecValidator

    answer = await api.client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    spec = answer.json()
    validate(spec, cls=OpenAPIV31SpecValidator)
    assert spec["openapi"] == "3.1.0"
    assert {"/customers/{code}", "/orders/{code}", "/products", "/webhooks"} <= set(spec["paths"])

    page = await api.client.get("/api/v1/docs?lang=en")
    assert page.status_code == 200 and "<script" not in page.text
    assert "PUT</span> <code>/orders/{code}</code>" in page.text
    vietnamese = await api.client.get("/api/v1/docs?lang=vi")
    assert "Địa chỉ gốc" in vietnamese.text


WRITES = [(method, path, body, scope) for method, path, body, scope in ENDPOINTS if body]


@pytest.mark.parametrize(("method", "path", "body", "scope"), WRITES)
async def test_every_write_replays_its_first_answer_to_a_retry_with_the_same_key(
    api: ApiClient, method: str, path: str, body: Any, scope: str
) -> None:
    key = await api.key()
    await make_customer(api.services, code="KH-LAN")  # the orders' customer
    once = {"Idempotency-Key": f"retry-{method}-{path}"}
    first = await api.call(method, path, key, json=body, headers=once)
    assert first.status_code in (200, 201), first.text
    again = await api.call(method, path, key, json=body, headers=once)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    plain = await api.call(method, path, key, json=body)  # no key: done again, as an update
    assert plain.status_code == 200 and "idempotent-replayed" not in plain.headers


async def test_a_bad_row_gets_the_same_message_from_a_file_import_and_from_the_api(
    api: ApiClient, tmp_path: Any
) -> None:
    from care.io import import_customers

    path = tmp_path / "khach.csv"
    path.write_text(
        "code,kind,name,phone,email,birthday,region,language\n"
        "KH1,alien,Lan,12,not-an-email,1990-13-01,Huế,xx\n",
        encoding="utf-8",
    )
    from_file = [error.reason for error in (await import_customers(api.services.db, path)).errors]
    answer = await api.call(
        "PUT",
        "/customers/KH1",
        await api.key(),
        json={
            "kind": "alien",
            "name": "Lan",
            "phone": "12",
            "email": "not-an-email",
            "birthday": "1990-13-01",
            "region": "Huế",
            "language": "xx",
        },
    )
    from_api = [error["detail"] for error in answer.json()["errors"]]
    assert sorted(from_api) == sorted(from_file) and len(from_file) == 5


async def test_answers_kept_for_retries_are_forgotten_after_a_day(
    api: ApiClient, clock: Any
) -> None:
    key = await api.key()
    await api.call("PUT", "/customers/KH-LAN", key, json=LAN, headers={"Idempotency-Key": "a"})
    assert await api.services.idempotency.purge() == 0
    clock.advance(hours=24, seconds=1)
    assert await api.services.idempotency.purge() == 1


async def test_products_are_put_listed_and_read_back_by_a_sales_system(api: ApiClient) -> None:
    key = await api.key()
    made = await api.call(
        "PUT",
        "/products/TRA-01",
        key,
        json={"name": "Trà Thái Nguyên", "category": "Trà", "price": "150.000", "featured": "có"},
    )
    assert made.status_code == 201
    assert made.json() == {
        "code": "TRA-01",
        "name": "Trà Thái Nguyên",
        "category": "Trà",
        "price": 150_000,
        "active": True,
        "featured": True,
        "added_on": "2026-11-23",  # today in the shop
    }
    await api.call(
        "POST",
        "/products",
        key,
        json={"items": [{"code": "OLD", "name": "Chén cũ", "price": 1, "active": False}]},
    )
    everything = (await api.call("GET", "/products", key)).json()["items"]
    on_sale = (await api.call("GET", "/products?active=true", key)).json()["items"]
    assert {p["code"] for p in everything} == {"TRA-01", "OLD"}
    assert [p["code"] for p in on_sale] == ["TRA-01"]


async def test_a_large_push_is_reclassified_in_the_background_once_the_pushes_pause(
    api: ApiClient,
) -> None:
    api.services.ingest.quiet_seconds = 0.05
    key = await api.key()
    customers = [{**LAN, "code": f"KH{n:03d}", "phone": f"0912{n:06d}"} for n in range(30)]
    assert (await api.call("POST", "/customers", key, json={"items": customers})).status_code == 200
    orders = [order(f"KH{n:03d}", code=f"DH{n:03d}", status="confirmed") for n in range(30)]
    assert (await api.call("POST", "/orders", key, json={"items": orders})).status_code == 200
    await api.services.ingest.settled()
    classified = (await api.call("GET", "/customers/KH007", key)).json()
    assert classified["orders"] == 1 and classified["tier"] is not None
