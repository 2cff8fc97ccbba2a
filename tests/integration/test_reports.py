"""The HTML report: its figures, one inline <svg> per chart, PNGs, and a real browser."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from care.analytics.reports import CHARTS, charts_png
from care.core.models import Complaint, Survey, UnansweredQuestion
from care.core.settings import Settings
from care.core.text import fold
from care.services import Services, build_services
from tests.builders import make_customer, make_order

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


async def shop(services: Services) -> None:
    """A small shop with something in every section of the report."""
    now = services.clock()
    for i in range(10):
        customer = await make_customer(services, name=f"Khách {i}", region="Hà Nội")
        for k in range(1 + i % 3):
            await make_order(
                services,
                customer,
                placed_at=now - timedelta(days=20 + 40 * k),
                amount=1_000_000 * (i + 1),
                margin=200_000 * (i + 1),
            )
    prospect = await make_customer(
        services, code="KH-HOI", name="<b>Chỉ hỏi</b> giá", phone="+84912345678"
    )
    await make_order(
        services,
        prospect,
        kind="inquiry",
        status="quoted",
        amount=5_000_000,
        placed_at=now - timedelta(days=3),
    )
    converted = await make_customer(services, name="Đã mua")
    await make_order(
        services, converted, kind="inquiry", status="converted", placed_at=now - timedelta(days=9)
    )
    await make_order(services, converted, placed_at=now - timedelta(days=8))
    async with services.db.uow() as uow:
        for category, days in (
            ("delivery", 5),
            ("delivery", 40),
            ("billing", 70),
            ("product_quality", 400),
        ):
            uow.session.add(
                Complaint(
                    customer_id=converted.id,
                    category=category,
                    created_at=now - timedelta(days=days),
                )
            )
        for csat, nps in ((5, 10), (4, 9), (2, 3)):
            uow.session.add(
                Survey(
                    customer_id=converted.id,
                    trigger="delivery",
                    status="answered",
                    csat=csat,
                    reliability=4,
                    assurance=5,
                    tangibles=3,
                    empathy=4,
                    responsiveness=csat,
                    nps=nps,
                    created_at=now - timedelta(days=2),
                    answered_at=now - timedelta(days=1),
                )
            )
        for question in (
            "Có giao hàng ra đảo không?",
            "co giao hang ra dao khong",
            "Mấy giờ đóng cửa?",
        ):
            uow.session.add(
                UnansweredQuestion(
                    text=question, folded=fold(question), created_at=now - timedelta(days=1)
                )
            )
        await uow.commit()
    await services.loyalty.watch("Điện Máy X", "Hà Nội", date(2026, 10, 1), date(2026, 10, 15))
    await services.segmentation.recompute()


def chart_of(page: str, name: str) -> str:
    start = page.index(f'id="chart-{name}">') + len(f'id="chart-{name}">')
    return page[start : page.index("</div>", start)]


async def test_the_figures_of_the_report(services: Services) -> None:
    await shop(services)
    d = await services.reports.data()
    assert (d.customers, d.buyers) == (12, 11)
    assert sum(d.tiers.values()) == 12
    assert d.pareto[0] == (0.0, 0.0) and d.pareto[-1] == pytest.approx((1.0, 1.0))
    assert sum(n for _, _, n in d.ltv_histogram) == 11
    assert len(d.complaints_by_month) == 12  # the last twelve months, empty ones included
    assert sum(sum(m.values()) for m in d.complaints_by_month.values()) == 3  # not the 400-day one
    assert d.complaints_by_month[date(2026, 11, 1)]["delivery"] == 1
    assert d.surveys.responses == 3 and d.surveys.nps == pytest.approx(100 * (2 - 1) / 3)
    assert d.unmet.inquiries_by_status == {"open": 0, "quoted": 1, "converted": 1, "lost": 0}
    assert (d.unmet.unconverted, d.unmet.unconverted_value) == (1, 5_000_000)
    assert d.unmet.prospects_total == 1 and d.unmet.prospects[0].code == "KH-HOI"
    assert d.unmet.unanswered_total == 3
    assert d.unmet.unanswered_top[0][1] == 2  # the same question typed twice
    assert [v.campaign.competitor for v in d.vulnerabilities] == ["Điện Máy X"]


async def test_the_report_is_one_self_contained_page_with_an_svg_per_chart(
    services: Services,
) -> None:
    await shop(services)
    page = await services.reports.html()
    assert page.count("<svg") == len(CHARTS)
    for name in CHARTS:
        assert chart_of(page, name).lstrip().startswith("<svg"), name
    # nothing to fetch: no scripts, style sheets, images or links to elsewhere
    assert re.findall(r'(?:src|href)="(?!#)', page) == []
    assert "<link" not in page and "<script" not in page and "@import" not in page
    assert "Báo cáo chăm sóc khách hàng" in page and 'lang="vi"' in page
    assert "KH-HOI" in page and "&lt;b&gt;Chỉ hỏi&lt;/b&gt; giá" in page
    assert "<b>Chỉ hỏi</b>" not in page
    assert "Có giao hàng ra đảo không?" in page


async def test_the_report_speaks_english_too_and_survives_an_empty_shop(
    services: Services,
) -> None:
    page = await services.reports.html(language="en")
    assert "Customer care report" in page and 'lang="en"' in page
    assert page.count("<svg") == len(CHARTS)
    assert "No segmentation yet" in page


async def test_the_charts_as_png_for_the_staff_chat(services: Services) -> None:
    await shop(services)
    images = await services.reports.pngs()
    assert list(images) == list(CHARTS)
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000 for png in images.values())
    data = await services.reports.data()
    again = charts_png(data, services.reports.labels("en"), dpi=50)
    assert len(again["pareto"]) < len(images["pareto"])


def browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


async def test_chromium_renders_the_report(services: Services, tmp_path: Path) -> None:
    binary = browser()
    if binary is None:
        reason = "no Chromium binary on PATH (apt-get install -y chromium as root to run this)"
        print(f"skipped: {reason}")
        pytest.skip(reason)
    await shop(services)
    page = tmp_path / "report.html"
    page.write_text(await services.reports.html(), encoding="utf-8")
    shot = tmp_path / "report.png"
    process = await asyncio.create_subprocess_exec(
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--window-size=1200,4000",
        f"--screenshot={shot}",
        page.as_uri(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert await asyncio.wait_for(process.wait(), timeout=120) == 0
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1200, 4000)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 200  # charts and text, not a blank or error page


@pytest.fixture
def cli_env(tmp_cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{tmp_cwd / 'cli.db'}")
    return tmp_cwd


def test_the_cli_writes_the_report_and_the_charts(cli_env: Path) -> None:
    async def seed() -> None:
        services = build_services(
            Settings(_env_file=None, database_url=f"sqlite:///{cli_env / 'cli.db'}")
        )
        await services.start()
        try:
            lan = await make_customer(services)
            await make_order(services, lan, placed_at=datetime(2026, 3, 1, 3, tzinfo=UTC))
            await services.segmentation.recompute()
        finally:
            await services.close()

    asyncio.run(seed())
    runner = CliRunner()
    written = runner.invoke(cli, ["report", "--out", "r.html", "--as-of", "30/06/2026"])
    assert written.exit_code == 0, written.output
    page = (cli_env / "r.html").read_text(encoding="utf-8")
    assert page.count("<svg") == len(CHARTS) and "30/06/2026" in page
    english = runner.invoke(cli, ["report", "html", "--out", "en.html", "--lang", "en"])
    assert english.exit_code == 0 and "Customer care report" in (cli_env / "en.html").read_text()
    charts = runner.invoke(cli, ["report", "charts", "png"])
    assert charts.exit_code == 0, charts.output
    assert sorted(p.stem for p in (cli_env / "png").glob("*.png")) == sorted(CHARTS)
    bad = runner.invoke(cli, ["report", "--out", "r.pdf"])
    assert bad.exit_code == 1 and "must end in .html" in bad.output
