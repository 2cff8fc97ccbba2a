"""Imports in the console: a file with a bad row shows every error with its row number and
writes nothing; a good one shows its first rows, then imports all of it, once."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from care.core.models import AuditEntry, Customer
from care.services import Services

HEADER = "code,kind,name,phone,email,birthday,region,language\n"
GOOD = HEADER + (
    "KH90001,individual,Nguyễn Thị Lan,0912345678,lan@example.com,17/05/1990,Hà Nội,vi\n"
    "KH90002,organization,Công ty Bình An,0987654321,,,Đà Nẵng,vi\n"
)
BAD = HEADER + (
    "KH90001,individual,Nguyễn Thị Lan,0912345678,lan@example.com,17/05/1990,Hà Nội,vi\n"
    "KH90002,individual,Trần Bình,12,not-an-email,31/02/1990,Huế,vi\n"
)


async def customers(services: Services) -> int:
    async with services.db.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Customer)) or 0)


async def upload(
    client: httpx.AsyncClient, csrf: str, content: str, name: str = "khach.csv"
) -> httpx.Response:
    return await client.post(
        "/console/imports",
        data={"csrf": csrf, "kind": "customers"},
        files={"file": (name, content.encode("utf-8"), "text/csv")},
    )


async def test_a_bad_row_is_shown_with_its_number_and_nothing_is_written(
    client: httpx.AsyncClient, services: Services, manager: str
) -> None:
    response = await upload(client, manager, BAD)
    assert response.status_code == 400
    errors = re.search(r'<ul id="row-errors">(.*?)</ul>', response.text, re.S)
    assert errors is not None and "Dòng 3" in errors.group(1) and "Dòng 2" not in errors.group(1)
    assert "Nguyễn Thị Lan" in response.text  # the first rows are previewed
    assert "/confirm" not in response.text
    assert await customers(services) == 0


async def test_a_good_file_is_previewed_then_imported_once(
    client: httpx.AsyncClient, services: Services, manager: str
) -> None:
    preview = await upload(client, manager, GOOD)
    assert preview.status_code == 200 and "sẽ tạo mới 2" in preview.text
    assert await customers(services) == 0  # checked, not written
    action = re.search(r'action="(/console/imports/[^"]+/confirm)"', preview.text)
    assert action is not None
    done = await client.post(action.group(1), data={"csrf": manager})
    assert done.status_code == 303 and "done=imported" in done.headers["location"]
    assert await customers(services) == 2
    again = await client.post(action.group(1), data={"csrf": manager})
    assert "done=gone" in again.headers["location"]
    assert await customers(services) == 2
    async with services.db.uow() as uow:
        assert "import.customers" in list(await uow.session.scalars(select(AuditEntry.action)))


async def test_a_file_that_is_not_a_spreadsheet_is_refused_beside_the_field(
    client: httpx.AsyncClient, services: Services, manager: str
) -> None:
    response = await upload(client, manager, "hello", name="notes.pdf")
    assert response.status_code == 400 and "Chỉ nhận tệp .csv hoặc .xlsx" in response.text
    missing = await client.post("/console/imports", data={"csrf": manager, "kind": "customers"})
    assert missing.status_code == 400 and "Hãy chọn một tệp" in missing.text


async def test_an_agent_cannot_import(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    response = await upload(client, agent, GOOD)
    assert response.status_code == 403
    assert await customers(services) == 0


async def test_a_made_up_message_in_the_url_shows_nothing_and_breaks_nothing(
    client: httpx.AsyncClient, services: Services, manager: str
) -> None:
    page = await client.get("/console/imports", params={"done": "<script>x</script>"})
    assert page.status_code == 200 and "<script>x" not in page.text
