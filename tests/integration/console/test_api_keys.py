"""API keys and webhooks in the console (managers only): a new key is shown once, on the
page that made it, and works at once; revoking asks for the key's name; a webhook's secret
is shown once too; bad input is kept beside its field; every change is audited."""

from __future__ import annotations

import re

import httpx

from care.services import Services


async def test_an_agent_cannot_open_or_use_the_api_keys_page(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    page = await client.get("/console/api-keys")
    assert page.status_code == 403
    made = await client.post(
        "/console/api-keys", data={"csrf": agent, "name": "pos", "scopes": "read"}
    )
    assert made.status_code == 403
    hook = await client.post(
        "/console/webhooks",
        data={"csrf": agent, "url": "https://crm.example/hook", "events": "ticket.created"},
    )
    assert hook.status_code == 403
    assert await services.api_keys.list() == []
    assert await services.webhooks.subscriptions() == []
    assert 'href="/console/api-keys"' not in (await client.get("/console/")).text


async def test_a_manager_makes_a_key_that_is_shown_once_and_revokes_it(
    client: httpx.AsyncClient, services: Services, manager: str
) -> None:
    assert 'href="/console/api-keys"' in (await client.get("/console/")).text
    no_token = await client.post("/console/api-keys", data={"name": "pos", "scopes": "read"})
    assert no_token.status_code == 403
    bad = await client.post(
        "/console/api-keys", data={"csrf": manager, "name": "máy bán hàng", "scopes": "fly"}
    )
    assert bad.status_code == 400
    assert 'id="f-name"' in bad.text and 'aria-invalid="true"' in bad.text
    assert "không có dấu cách" in bad.text and "Hãy chọn ít nhất một quyền" in bad.text
    assert 'value="máy bán hàng"' in bad.text  # what was typed is kept
    assert await services.api_keys.list() == []

    made = await client.post(
        "/console/api-keys",
        data={"csrf": manager, "name": "shop-pos", "scopes": ["customers:write", "read"]},
    )
    assert made.status_code == 200
    found = re.search(r'id="the-key" type="text" readonly value="(cbk_[^"]+)"', made.text)
    assert found is not None
    key = found.group(1)
    assert "chỉ hiện duy nhất lần này" in made.text
    checked = await services.api_keys.authenticate(key)
    assert checked is not None and checked.scopes == ("customers:write", "read")
    page = await client.get("/console/api-keys")
    assert key not in page.text and "the-key" not in page.text  # never again
    assert "shop-pos" in page.text and "customers:write, read" in page.text

    taken = await client.post(
        "/console/api-keys", data={"csrf": manager, "name": "shop-pos", "scopes": "read"}
    )
    assert taken.status_code == 400 and "Đã có khóa mang tên này" in taken.text
    assert key not in taken.text

    unconfirmed = await client.post(
        "/console/api-keys/shop-pos/revoke", data={"csrf": manager, "confirm": "shop"}
    )
    assert unconfirmed.status_code == 400 and "gõ đúng tên khóa" in unconfirmed.text
    assert await services.api_keys.authenticate(key) is not None
    revoked = await client.post(
        "/console/api-keys/shop-pos/revoke", data={"csrf": manager, "confirm": "shop-pos"}
    )
    assert revoked.status_code == 303
    assert await services.api_keys.authenticate(key) is None
    again = await client.post(
        "/console/api-keys/shop-pos/revoke", data={"csrf": manager, "confirm": "shop-pos"}
    )
    assert again.status_code == 404

    entries, _ = await services.console.audit_log(limit=10, offset=0)
    assert [(e.action, e.target) for e in entries][:2] == [
        ("api_key.revoke", "api_key:shop-pos"),
        ("api_key.create", "api_key:shop-pos"),
    ]
    assert all(key not in str(e.detail) for e in entries)


async def test_a_manager_subscribes_a_webhook_and_ends_it(
    client: httpx.AsyncClient, services: Services, manager: str
) -> None:
    bad = await client.post(
        "/console/webhooks", data={"csrf": manager, "url": "ftp://crm.example", "events": []}
    )
    assert bad.status_code == 400
    assert "Hãy chọn ít nhất một sự kiện" in bad.text
    wrong_url = await client.post(
        "/console/webhooks",
        data={"csrf": manager, "url": "ftp://crm.example", "events": "ticket.created"},
    )
    assert wrong_url.status_code == 400 and "Cần một địa chỉ http(s)" in wrong_url.text
    assert await services.webhooks.subscriptions() == []

    made = await client.post(
        "/console/webhooks",
        data={
            "csrf": manager,
            "url": "https://crm.example/hook",
            "events": ["ticket.created", "ticket.resolved"],
        },
    )
    assert made.status_code == 200
    secret = re.search(r'id="the-secret" type="text" readonly value="(whsec_[^"]+)"', made.text)
    assert secret is not None
    (hook,) = await services.webhooks.subscriptions()
    assert hook.events == ("ticket.created", "ticket.resolved") and hook.active
    page = await client.get("/console/api-keys")
    assert secret.group(1) not in page.text and "https://crm.example/hook" in page.text

    ended = await client.post(f"/console/webhooks/{hook.id}/end", data={"csrf": manager})
    assert ended.status_code == 303
    (hook,) = await services.webhooks.subscriptions()
    assert not hook.active
    entries, _ = await services.console.audit_log(limit=10, offset=0)
    assert [e.action for e in entries][:2] == ["webhook.end", "webhook.subscribe"]
