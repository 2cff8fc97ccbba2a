"""The console as a browser meets it, through Starlette's ASGI app in the test's event loop
(httpx's ASGI transport, which Starlette's test client is built on): a signed-in agent and
manager, and a way to read a page's CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.app import build_application
from care.core.models import Staff
from care.services import Services
from web.app import create_app

AGENT_ID = 9_100_001
MANAGER_ID = 9_100_002


async def add_staff(services: Services, telegram_id: int, name: str, role: str) -> None:
    await services.staff.add(telegram_id, name, role)


@pytest.fixture
async def app(services: Services):  # type: ignore[no-untyped-def]
    return create_app(services, build_application(services.settings, services))


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8080") as http:
        yield http


async def sign_in(client: httpx.AsyncClient, services: Services, telegram_id: int) -> str:
    """Follow a fresh login link and press its button; returns the console's CSRF token."""
    link = await services.console.login_link(telegram_id)
    assert link is not None
    path = link.removeprefix(services.settings.public_base_url)
    page = await client.get(path)
    assert page.status_code == 200, page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token is not None
    done = await client.post("/console/login", data={"token": token.group(1), "next": "/console/"})
    assert done.status_code == 303
    return csrf_of((await client.get("/console/")).text)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


@pytest.fixture
async def agent(client: httpx.AsyncClient, services: Services) -> str:
    """Signed in as an agent; the CSRF token of the session."""
    await add_staff(services, AGENT_ID, "Minh", "agent")
    return await sign_in(client, services, AGENT_ID)


@pytest.fixture
async def manager(client: httpx.AsyncClient, services: Services) -> str:
    """Signed in as a manager; the CSRF token of the session."""
    await add_staff(services, MANAGER_ID, "Hoa", "manager")
    return await sign_in(client, services, MANAGER_ID)


__all__ = ["AGENT_ID", "MANAGER_ID", "Staff", "csrf_of", "sign_in"]
