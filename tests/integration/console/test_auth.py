"""Signing in to the console with a one-time link, the session cookie, CSRF, roles, and the
audit log of who signed in."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from care.core.models import AuditEntry, ConsoleLoginLink
from care.services import Services
from tests.builders import Clock
from tests.integration.console.conftest import AGENT_ID, MANAGER_ID, add_staff, sign_in


async def test_a_login_link_shows_a_button_and_signs_in_once(
    client: httpx.AsyncClient, services: Services
) -> None:
    await add_staff(services, AGENT_ID, "Minh", "agent")
    link = await services.console.login_link(AGENT_ID)
    assert link is not None and link.startswith("http://localhost:8080/console/login?token=")
    token = link.split("token=")[1]
    page = await client.get(f"/console/login?token={token}")
    assert page.status_code == 200 and "Đăng nhập" in page.text
    # Fetching the link (a link preview does) did not spend it: the button still works.
    assert (await client.post("/console/login", data={"token": token})).status_code == 303
    cookie = client.cookies.get("carebot_console")
    assert cookie and token not in cookie
    home = await client.get("/console/")
    assert home.status_code == 200 and "Minh" in home.text
    # The same link again, from another browser: refused.
    client.cookies.clear()
    again = await client.post("/console/login", data={"token": token})
    assert again.status_code == 400 and "đã được dùng" in again.text
    assert (await client.get(f"/console/login?token={token}")).status_code == 400


async def test_the_token_is_stored_only_as_a_hash(services: Services) -> None:
    await add_staff(services, AGENT_ID, "Minh", "agent")
    link = await services.console.login_link(AGENT_ID)
    assert link is not None
    token = link.split("token=")[1]
    async with services.db.uow() as uow:
        stored = await uow.session.scalar(select(ConsoleLoginLink.token_hash))
    assert stored is not None and token not in stored and len(stored) == 64


async def test_a_link_expires_after_15_minutes(
    client: httpx.AsyncClient, services: Services, clock: Clock
) -> None:
    await add_staff(services, AGENT_ID, "Minh", "agent")
    link = await services.console.login_link(AGENT_ID)
    assert link is not None
    clock.advance(minutes=15, seconds=1)
    response = await client.post("/console/login", data={"token": link.split("token=")[1]})
    assert response.status_code == 400 and client.cookies.get("carebot_console") is None


async def test_no_link_for_someone_who_is_not_staff(services: Services) -> None:
    assert await services.console.login_link(12345) is None


async def test_a_page_without_a_session_sends_to_the_login_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/console/customers?q=lan")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=%2Fconsole%2Fcustomers%3Fq%3Dlan"


async def test_a_forged_cookie_is_no_session(client: httpx.AsyncClient) -> None:
    client.cookies.set("carebot_console", "some-token.forgedsignature", path="/console")
    assert (await client.get("/console/")).status_code == 303


async def test_the_cookie_is_httponly_strict_and_limited_to_the_console(
    client: httpx.AsyncClient, services: Services
) -> None:
    await add_staff(services, AGENT_ID, "Minh", "agent")
    link = await services.console.login_link(AGENT_ID)
    assert link is not None
    response = await client.post("/console/login", data={"token": link.split("token=")[1]})
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=strict" in header and "path=/console" in header
    assert "secure" not in header  # PUBLIC_BASE_URL is http in the tests


async def test_a_post_without_csrf_token_is_refused(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    refused = await client.post("/console/logout")
    assert refused.status_code == 403
    assert (await client.get("/console/")).status_code == 200  # still signed in
    wrong = await client.post("/console/logout", data={"csrf": agent[:-2] + "xx"})
    assert wrong.status_code == 403
    done = await client.post("/console/logout", data={"csrf": agent})
    assert done.status_code == 303
    assert (await client.get("/console/")).status_code == 303


async def test_logout_ends_the_session_even_for_a_copied_cookie(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    cookie = client.cookies.get("carebot_console")
    await client.post("/console/logout", data={"csrf": agent})
    client.cookies.set("carebot_console", cookie or "", path="/console")
    assert (await client.get("/console/")).status_code == 303


async def test_a_session_ends_after_12_hours_idle(
    client: httpx.AsyncClient, services: Services, clock: Clock, agent: str
) -> None:
    clock.advance(hours=11)
    assert (await client.get("/console/")).status_code == 200
    clock.advance(hours=11)  # 11 h since the last request: still alive
    assert (await client.get("/console/")).status_code == 200
    clock.advance(hours=12, seconds=1)
    assert (await client.get("/console/")).status_code == 303


async def test_a_removed_staff_members_session_ends_at_once(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    assert (await client.get("/console/")).status_code == 200
    assert await services.staff.remove(AGENT_ID)
    assert (await client.get("/console/")).status_code == 303
    await services.staff.add(AGENT_ID, "Minh", "agent")  # coming back needs a new link
    assert (await client.get("/console/")).status_code == 303


async def test_an_agent_is_refused_a_managers_page(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    response = await client.get("/console/staff")
    assert response.status_code == 403 and "chỉ dành cho quản lý" in response.text


async def test_a_manager_reaches_the_staff_page(
    client: httpx.AsyncClient, services: Services, manager: str
) -> None:
    assert (await client.get("/console/staff")).status_code == 200


async def test_the_language_switch_keeps_the_page(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    switched = await client.get("/console/language/en?next=%2Fconsole%2F")
    assert switched.status_code == 303 and switched.headers["location"] == "/console/"
    page = await client.get("/console/")
    assert '<html lang="en">' in page.text and "Sign out" in page.text
    outside = await client.get("/console/language/en?next=https%3A%2F%2Fevil.example%2F")
    assert outside.headers["location"] == "/console/"


async def test_an_unknown_console_page_is_the_one_404(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    response = await client.get("/console/nothing-here")
    assert response.status_code == 404 and "Không tìm thấy" in response.text


async def test_signing_in_is_in_the_audit_log(
    client: httpx.AsyncClient, services: Services, manager: str
) -> None:
    async with services.db.uow() as uow:
        actions = list(await uow.session.scalars(select(AuditEntry.action)))
    assert actions == ["console.sign_in"]
    log = await client.get("/console/audit")
    assert log.status_code == 200 and re.search(r"Hoa", log.text)


async def test_two_agents_sign_in_apart(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    await add_staff(services, MANAGER_ID, "Hoa", "manager")
    client.cookies.clear()
    await sign_in(client, services, MANAGER_ID)
    assert "Hoa" in (await client.get("/console/")).text
