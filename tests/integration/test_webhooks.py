"""Outgoing webhooks: an integrator subscribes a URL through the API; tickets, surveys and
erasures reach it through the outbox, signed with HMAC-SHA256, retried after a failure,
every attempt in the delivery log, each event once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from care.integration import SIGNATURE_HEADER, verify
from care.services import Services
from care.tickets.complaints import Draft
from scheduler.dispatcher import Dispatcher
from scheduler.email_channel import EmlDirectoryChannel
from tests.builders import ApiClient, make_customer, outbox_rows
from tests.integration.servers import free_port


@dataclass
class Receiver:
    """An integrator's endpoint on loopback: answers the statuses queued, then 200."""

    url: str = ""
    answers: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=self.answers.pop(0) if self.answers else 200)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hooks", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    found.url = f"http://127.0.0.1:{port}/hooks"
    try:
        yield found
    finally:
        await runner.cleanup()


@pytest.fixture
async def dispatcher(services: Services) -> AsyncIterator[Dispatcher]:
    sender = Dispatcher(
        services, telegram=None, email=EmlDirectoryChannel(services.settings.outbox_dir)
    )
    yield sender
    await sender.close()


async def subscribe(api: ApiClient, url: str, events: list[str]) -> dict[str, Any]:
    answer = await api.call(
        "POST", "/webhooks", await api.key("webhooks:write"), json={"url": url, "events": events}
    )
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


async def test_a_new_ticket_reaches_the_subscribed_url_signed_and_retried_after_a_failure(
    api: ApiClient, receiver: Receiver, dispatcher: Dispatcher, clock: Any
) -> None:
    hook = await subscribe(api, receiver.url, ["ticket.created", "ticket.resolved"])
    assert hook["secret"].startswith("whsec_")
    services = api.services
    lan = await make_customer(services, code="KH-LAN", telegram_user_id=8301)
    receiver.answers = [500]

    ticket = await services.complaints.file(8301, Draft("delivery", "high", "Hàng giao trễ"))
    assert (await dispatcher.drain())["retry"] == 1
    clock.advance(seconds=31)  # the outbox's first backoff is 30 s
    assert (await dispatcher.drain())["sent"] == 1
    assert (await dispatcher.drain())["sent"] == 0  # once

    assert len(receiver.received) == 2
    headers, body = receiver.received[-1]
    assert verify(hook["secret"], headers[SIGNATURE_HEADER], body)
    assert not verify("whsec_other", headers[SIGNATURE_HEADER], body)
    assert headers["X-CareBot-Event"] == "ticket.created"
    event = json.loads(body)
    assert event["event"] == "ticket.created" and event["id"] == f"ticket.created:{ticket.code}"
    assert event["data"]["ticket"] == ticket.code and event["data"]["customer_code"] == "KH-LAN"
    assert "Hàng giao trễ" not in body.decode()  # codes, not what the customer wrote
    assert lan.name.encode() not in body

    log = await services.webhooks.deliveries()
    assert [(d.status_code, d.delivered) for d in log] == [(200, True), (500, False)]


async def test_only_subscribed_events_are_queued_and_an_erasure_is_told(
    api: ApiClient, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    await subscribe(api, receiver.url, ["customer.erased"])
    services = api.services
    await make_customer(services, code="KH-GONE", telegram_user_id=8302, name="Trần Văn B")
    await services.complaints.file(8302, Draft("delivery", "low", "Trễ"))
    assert await outbox_rows(services, "webhook:") == []  # not subscribed to tickets

    assert await services.customers.forget_by_code("KH-GONE") is not None
    await dispatcher.drain()
    [(_, body)] = receiver.received
    event = json.loads(body)
    assert event["event"] == "customer.erased" and event["data"]["customer_code"] == "KH-GONE"
    assert "Trần" not in body.decode()


async def test_an_ended_subscription_gets_nothing_more(
    api: ApiClient, receiver: Receiver, dispatcher: Dispatcher
) -> None:
    hook = await subscribe(api, receiver.url, ["ticket.created"])
    services = api.services
    await make_customer(services, telegram_user_id=8303)
    await services.complaints.file(8303, Draft("delivery", "low", "Trễ"))
    key = await api.key("webhooks:write")
    ended = await api.call("DELETE", f"/webhooks/{hook['id']}", key)
    assert ended.status_code == 200
    assert (await api.call("DELETE", f"/webhooks/{hook['id']}", key)).status_code == 404
    await dispatcher.drain()
    assert receiver.received == []
    [row] = await outbox_rows(services, "webhook:")
    assert (row.status, row.skip_reason) == ("failed", "subscription_ended")


async def test_a_bad_subscription_is_a_problem_naming_the_field(api: ApiClient) -> None:
    key = await api.key("webhooks:write")
    answer = await api.call(
        "POST", "/webhooks", key, json={"url": "ftp://x", "events": ["ticket.created"]}
    )
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "url"
    answer = await api.call(
        "POST", "/webhooks", key, json={"url": "https://erp.example/h", "events": ["order.paid"]}
    )
    assert answer.json()["errors"][0]["field"] == "events"
    listed = await api.call("GET", "/webhooks", key)
    assert listed.json() == {"items": []}


async def test_a_resolved_ticket_and_an_answered_survey_are_told(
    api: ApiClient, receiver: Receiver, dispatcher: Dispatcher, clock: Any
) -> None:
    await subscribe(api, receiver.url, ["ticket.resolved", "survey.answered"])
    services = api.services
    await make_customer(services, code="KH-S", telegram_user_id=8304)
    await services.staff.add(7001, "Minh")
    ticket = await services.complaints.file(8304, Draft("delivery", "low", "Trễ"))
    action = await services.complaints.resolve(ticket.id, 7001, "Đã giao lại")
    assert action.survey_id is not None
    await services.surveys.answer(action.survey_id, 8304, "csat", 5)
    clock.advance(seconds=1)
    await dispatcher.drain()
    events = [json.loads(body) for _, body in receiver.received]
    assert [e["event"] for e in events] == ["ticket.resolved", "survey.answered"]
    assert events[0]["data"]["resolved_by"] == "Minh"
    assert events[1]["data"]["csat"] == 5 and events[1]["data"]["customer_code"] == "KH-S"
