"""The product catalogue: imported like customers and orders, referenced by order lines,
reported on (what sells, to which tier, what was asked for and never bought), an audience
of customers with the same need, and the monthly newsletter's new and featured products."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from care.core.models import OrderLine, Product
from care.io import import_products
from care.outreach.campaigns import CampaignSpec
from care.services import Services
from tests.builders import add_metrics, make_customer, make_order, outbox_rows

CATALOGUE = """code,name,category,price,active,added_on,featured
TRA-01,Trà Thái Nguyên,Trà,"150.000",có,2026-11-20,không
AM-01,Ấm trà Bát Tràng,Gốm,450k,yes,2025-01-05,yes
KHAY-01,Khay gỗ,Gỗ,350000,no,,
"""


def local(year: int, month: int, day: int, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC) - timedelta(hours=7)


async def catalogue(services: Services, tmp_path: Path, text: str = CATALOGUE) -> Any:
    path = tmp_path / "products.csv"
    path.write_text(text, encoding="utf-8")
    return await import_products(services.db, path, today=date(2026, 11, 23))


async def products(services: Services) -> dict[str, Product]:
    async with services.db.uow() as uow:
        found = {p.code: p for p in await uow.session.scalars(select(Product))}
        uow.session.expunge_all()
    return found


async def line(
    services: Services, order_id: int, product: str, quantity: int, amount: int, link: bool = True
) -> None:
    """A line of an order naming a product by code or name, linked to the catalogue as an
    import links it (unless ``link`` is False: a name the catalogue did not know then)."""
    async with services.db.uow() as uow:
        product_id = None
        if link:
            product_id = await uow.session.scalar(
                select(Product.id).where((Product.code == product) | (Product.name == product))
            )
        uow.session.add(
            OrderLine(
                order_id=order_id,
                product_id=product_id,
                product_name=product,
                quantity=quantity,
                unit_price=amount // quantity,
                amount=amount,
            )
        )
        await uow.commit()


async def test_a_product_file_imports_with_the_same_rules_as_other_imports(
    services: Services, tmp_path: Path
) -> None:
    bad = CATALOGUE + "TRA-01,Trà lặp,Trà,abc,,,\n"
    report = await catalogue(services, tmp_path, bad)
    assert [str(e) for e in report.errors] == [
        "row 5: price 'abc' is not an amount in đồng",
        "row 5: code 'TRA-01' already appears on row 2",
    ]
    assert await products(services) == {}

    report = await catalogue(services, tmp_path)
    assert (report.created, report.updated, report.errors) == (3, 0, [])
    found = await products(services)
    assert found["TRA-01"].price == 150_000 and found["AM-01"].price == 450_000
    assert found["AM-01"].featured and not found["KHAY-01"].active
    assert found["KHAY-01"].added_on == date(2026, 11, 23)  # new today
    again = await catalogue(services, tmp_path)
    assert (again.created, again.updated) == (0, 3)


async def test_order_lines_that_named_a_product_before_it_was_catalogued_now_point_to_it(
    services: Services, tmp_path: Path
) -> None:
    lan = await make_customer(services)
    order = await make_order(services, lan)
    await line(services, order.id, "Trà Thái Nguyên", 2, 300_000)
    await catalogue(services, tmp_path)
    async with services.db.uow() as uow:
        product_id = await uow.session.scalar(select(OrderLine.product_id))
    assert product_id == (await products(services))["TRA-01"].id


async def test_the_product_report_gives_units_revenue_and_margin_by_month_and_tops_by_tier(
    services: Services, tmp_path: Path, clock: Any
) -> None:
    await catalogue(services, tmp_path)
    clock.now = local(2026, 11, 23)
    lan = await make_customer(services)
    minh = await make_customer(services)
    await add_metrics(services, lan, tier="gold")
    await add_metrics(services, minh, tier="member")
    # Lan: 2 x tea and a teapot in one order of 750.000 with a margin of 150.000.
    first = await make_order(
        services, lan, placed_at=local(2026, 11, 2), amount=750_000, margin=150_000
    )
    await line(services, first.id, "TRA-01", 2, 300_000)
    await line(services, first.id, "AM-01", 1, 450_000)
    # Minh: tea in October (the 31st at 23:00 local is still October), and a cancelled order.
    second = await make_order(
        services, minh, placed_at=local(2026, 10, 31, 23), amount=150_000, margin=30_000
    )
    await line(services, second.id, "Trà Thái Nguyên", 1, 150_000, link=False)
    cancelled = await make_order(services, minh, status="cancelled", placed_at=local(2026, 11, 3))
    await line(services, cancelled.id, "TRA-01", 9, 1_250_000)

    report = services.product_reports
    rows = [
        (r.month, r.code, r.units, r.revenue, r.margin) for r in await report.by_month(months=2)
    ]
    assert rows == [
        ("2026-11", "AM-01", 1, 450_000, 90_000),
        ("2026-11", "TRA-01", 2, 300_000, 60_000),
        ("2026-10", None, 1, 150_000, 30_000),  # named, not yet linked to the catalogue
    ]
    tops = await report.top_by_tier(limit=1)
    assert [(tier, [t.name for t in items]) for tier, items in tops.items()] == [
        ("gold", ["Ấm trà Bát Tràng"]),
        ("member", ["Trà Thái Nguyên"]),
    ]


async def test_unmet_demand_is_grouped_by_the_product_asked_about(
    services: Services, tmp_path: Path
) -> None:
    await catalogue(services, tmp_path)
    lan, minh = await make_customer(services), await make_customer(services)
    for who, status in ((lan, "open"), (minh, "lost"), (minh, "quoted")):
        inquiry = await make_order(services, who, kind="inquiry", status=status, amount=0, margin=0)
        await line(services, inquiry.id, "AM-01", 1, 450_000)
    converted = await make_order(services, lan, kind="inquiry", status="converted")
    await line(services, converted.id, "TRA-01", 1, 150_000)
    await make_order(services, lan, kind="inquiry", status="open")  # names no product

    unmet = await services.product_reports.unmet_demand()
    assert [(u.code, u.inquiries, u.customers, u.value) for u in unmet] == [
        ("AM-01", 3, 2, 1_350_000),
        (None, 1, 1, 0),
    ]


async def test_customers_who_asked_for_or_bought_a_category_are_a_campaign_audience(
    services: Services, tmp_path: Path
) -> None:
    await catalogue(services, tmp_path)
    asked, bought, other = (
        await make_customer(services, telegram_user_id=9101, consent_telegram=True),
        await make_customer(services, telegram_user_id=9102, consent_telegram=True),
        await make_customer(services, telegram_user_id=9103, consent_telegram=True),
    )
    inquiry = await make_order(services, asked, kind="inquiry", status="lost")
    await line(services, inquiry.id, "TRA-01", 1, 150_000)
    order = await make_order(services, bought)
    await line(services, order.id, "Trà Thái Nguyên", 1, 150_000)
    teapot = await make_order(services, other)
    await line(services, teapot.id, "AM-01", 1, 450_000)
    await catalogue(services, tmp_path)  # links the line named by name

    assert await services.product_reports.same_need(["Trà"]) == 2
    campaigns = services.care.campaigns
    await campaigns.create(
        CampaignSpec.parse(
            {
                "name": "Trà mới",
                "audience": {"product_categories": ["Trà"]},
                "template": {
                    "vi": "Chào {{ name }}! Trà mới về.",
                    "en": "Hello {{ name }}! New tea.",
                },
            }
        )
    )
    assert (await campaigns.dry_run("Trà mới")).audience == 2
    assert await campaigns.start("Trà mới") == 2
    recipients = {row.recipient for row in await outbox_rows(services, "campaign:")}
    assert recipients == {"9101", "9102"}


async def test_the_newsletter_lists_new_and_featured_products_chosen_per_tier(
    services: Services, tmp_path: Path, clock: Any
) -> None:
    await catalogue(
        services,
        tmp_path,
        "code,name,category,price,added_on,featured\n"
        "TRA-02,Trà Shan tuyết,Trà,220000,2026-11-25,no\n"
        "GOM-02,Bình gốm men lam,Gốm,890000,2026-11-28,no\n"
        "AM-01,Ấm trà Bát Tràng,Gốm,450000,2025-01-05,yes\n"
        "OLD-01,Chén cũ,Gốm,50000,2025-01-05,no\n",
    )
    tea_lover = await make_customer(services, telegram_user_id=9201, consent_telegram=True)
    potter = await make_customer(services, telegram_user_id=9202, consent_telegram=True)
    await add_metrics(services, tea_lover, tier="gold")
    await add_metrics(services, potter, tier="member")
    tea = await make_order(services, tea_lover, placed_at=local(2026, 11, 1))
    await line(services, tea.id, "TRA-02", 3, 660_000)
    await catalogue(
        services, tmp_path, "code,name,category,price\nTRA-02,Trà Shan tuyết,Trà,220000\n"
    )

    clock.now = local(2026, 12, 1, 10)
    assert (await services.care.send_newsletter()).queued == 2
    bodies = {row.recipient: row.body for row in await outbox_rows(services, "newsletter:")}
    gold, member = bodies["9201"], bodies["9202"]
    assert gold.index("Trà Shan tuyết") < gold.index("Bình gốm men lam")  # tea first for gold
    assert member.index("Bình gốm men lam") < member.index("Trà Shan tuyết")  # newest first
    for body in (gold, member):
        assert "Sản phẩm nổi bật" in body and "Ấm trà Bát Tràng" in body
        assert "Chén cũ" not in body
