"""Reports in the console: the page, the management report in its frame, exports whose
cells are safe in a spreadsheet, and managers only."""

from __future__ import annotations

import httpx

from care.services import Services
from tests.builders import make_customer


async def test_the_reports_page_and_the_management_report(
    client: httpx.AsyncClient, services: Services, manager: str
) -> None:
    await services.seed_demo(customers=60)
    page = await client.get("/console/reports")
    assert page.status_code == 200 and "Lòng trung thành (VI)" in page.text
    report = await client.get("/console/reports/management")
    assert report.status_code == 200 and "<svg" in report.text


async def test_a_csv_export_neutralises_formulas(
    client: httpx.AsyncClient, services: Services, manager: str
) -> None:
    await make_customer(services, name='=HYPERLINK("http://evil.example","x")')
    response = await client.get("/console/reports/export/customers.csv")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    xlsx = await client.get("/console/reports/export/customers.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert (await client.get("/console/reports/export/customers.exe")).status_code == 404


async def test_an_agent_gets_no_report(
    client: httpx.AsyncClient, services: Services, agent: str
) -> None:
    assert (await client.get("/console/reports")).status_code == 403
    assert (await client.get("/console/reports/export/customers.csv")).status_code == 403
