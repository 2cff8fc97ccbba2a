"""Importing customers and orders: whole files in, or nothing in with every bad row named."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import event, func, select

from care.core.models import Customer, Order, OrderLine, Product
from care.io.imports import ImportFileError, import_customers, import_orders
from care.services import Services

CUSTOMER_HEADER = ["code", "kind", "name", "phone", "email", "birthday", "region", "language"]
ORDER_HEADER = [
    "code",
    "customer_code",
    "kind",
    "status",
    "placed_at",
    "delivered_at",
    "amount",
    "margin",
]


def customer_row(code: str = "KH001", **fields: Any) -> dict[str, Any]:
    row = {
        "code": code,
        "kind": "individual",
        "name": "Nguyễn Thị Lan",
        "phone": "0912345678",
        "email": "lan@example.com",
        "birthday": "1990-05-17",
        "region": "Hà Nội",
        "language": "vi",
    }
    row.update(fields)
    return row


def order_row(code: str = "DH001", customer: str = "KH001", **fields: Any) -> dict[str, Any]:
    row = {
        "code": code,
        "customer_code": customer,
        "kind": "order",
        "status": "delivered",
        "placed_at": "2026-01-02 10:00",
        "delivered_at": "2026-01-04 15:30",
        "amount": "1.250.000",
        "margin": "250.000",
    }
    row.update(fields)
    return row


def write_csv(
    path: Path,
    rows: list[dict[str, Any]],
    *,
    delimiter: str = ",",
    bom: bool = False,
    header: list[str] | None = None,
) -> Path:
    header = header or list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(column, "") for column in header])
    return path


def write_xlsx(path: Path, rows: list[dict[str, Any]]) -> Path:
    header = list(dict.fromkeys(key for row in rows for key in row))
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(column) for column in header])
    workbook.save(path)
    return path


WRITERS = {"csv": write_csv, "xlsx": write_xlsx}


async def customers_in(services: Services) -> dict[str, Customer]:
    async with services.db.uow() as uow:
        found = (await uow.session.scalars(select(Customer))).all()
        uow.session.expunge_all()  # keep the loaded values after the block
        return {customer.code: customer for customer in found}


async def orders_in(services: Services) -> dict[str, Order]:
    async with services.db.uow() as uow:
        found = (await uow.session.scalars(select(Order))).all()
        uow.session.expunge_all()
        return {order.code: order for order in found}


async def seed_customer(services: Services, tmp_path: Path, code: str = "KH001") -> None:
    report = await import_customers(
        services.db, write_csv(tmp_path / f"seed-{code}.csv", [customer_row(code)])
    )
    assert report.ok, report.errors


# --- customers ------------------------------------------------------------------------------


async def test_a_good_file_creates_customers_with_normalised_values(
    services: Services, tmp_path: Path
) -> None:
    rows = [
        customer_row(
            "KH001",
            kind="cá nhân",
            phone="091 234 5678",
            email="Lan@Example.com",
            language="",
            marketing_consent="có",
            size="4",
        ),
        customer_row(
            "KH002",
            kind="doanh nghiệp",
            name="Công ty TNHH Minh Phát",
            phone="+84 28 3822 1234",
            email="",
            birthday="",
            language="en",
            contact_person="Trần Văn Nam",
            marketing_consent="không",
        ),
    ]
    report = await import_customers(services.db, write_csv(tmp_path / "c.csv", rows))

    assert (report.created, report.updated, report.errors) == (2, 0, [])
    customers = await customers_in(services)
    lan, company = customers["KH001"], customers["KH002"]
    assert lan.kind == "individual" and company.kind == "organization"
    assert lan.phone == "+84912345678" and company.phone == "+842838221234"
    assert lan.email == "Lan@example.com" and company.email is None
    assert lan.birthday == date(1990, 5, 17) and company.birthday is None
    assert lan.language == "vi" and company.language == "en"
    assert lan.size == 4 and company.contact_person == "Trần Văn Nam"
    assert (lan.consent_telegram, lan.consent_email) == (True, True)
    assert (company.consent_telegram, company.consent_email) == (False, False)
    assert report.customer_ids == {lan.id, company.id}


@pytest.mark.parametrize("writer", ["csv", "xlsx"])
async def test_one_bad_row_among_good_ones_imports_nothing_and_names_the_row(
    services: Services, tmp_path: Path, writer: str
) -> None:
    rows = [customer_row(f"KH{n:03d}") for n in range(1, 7)]
    rows[4]["birthday"] = "1990-13-01"  # the fifth data row: row 6 of the sheet
    path = WRITERS[writer](tmp_path / f"customers.{writer}", rows)

    report = await import_customers(services.db, path)

    assert [str(error) for error in report.errors] == [
        "row 6: birthday '1990-13-01' is not a date (YYYY-MM-DD)"
    ]
    assert report.created == report.updated == 0
    assert await customers_in(services) == {}


async def test_every_bad_row_is_reported_not_only_the_first(
    services: Services, tmp_path: Path
) -> None:
    rows = [
        customer_row("KH001", phone="12"),
        customer_row("KH002"),
        customer_row("KH003", email="lan@", language="fr"),
    ]
    report = await import_customers(services.db, write_csv(tmp_path / "c.csv", rows))

    assert [str(error) for error in report.errors] == [
        "row 2: phone '12' is not a phone number",
        "row 4: email 'lan@' is not an e-mail address",
        "row 4: language 'fr' is not vi or en",
    ]


async def test_bom_and_semicolons_from_spreadsheet_programs_are_tolerated(
    services: Services, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "c.csv", [customer_row()], delimiter=";", bom=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    report = await import_customers(services.db, path)

    assert report.ok and report.created == 1
    assert (await customers_in(services))["KH001"].name == "Nguyễn Thị Lan"


async def test_headers_ignore_case_and_spaces(services: Services, tmp_path: Path) -> None:
    header = [
        " Code",
        "KIND",
        "Name ",
        "Phone",
        "E-mail",
        "Birthday",
        "Region",
        "Language",
        "Marketing Consent",
    ]
    path = tmp_path / "c.csv"
    path.write_text(
        ",".join(header) + "\nKH001,individual,Lan,0912345678,,,,vi,yes\n", encoding="utf-8"
    )
    report = await import_customers(services.db, path)
    # "E-mail" folds to "e_mail": not the "email" column, so it is reported, not dropped.
    assert [str(e) for e in report.errors] == [
        "row 1: unknown column 'E-mail' (column 5)",
        "row 1: missing required column 'email'",
    ]

    header[4] = "EMAIL"
    path.write_text(
        ",".join(header) + "\nKH001,individual,Lan,0912345678,,,,vi,yes\n", encoding="utf-8"
    )
    report = await import_customers(services.db, path)
    assert report.ok and report.created == 1


async def test_a_misspelt_header_is_an_error_not_a_silently_dropped_column(
    services: Services, tmp_path: Path
) -> None:
    rows = [{**customer_row(), "ocupation": "Giáo viên"}]
    report = await import_customers(services.db, write_csv(tmp_path / "c.csv", rows))
    assert [str(e) for e in report.errors] == ["row 1: unknown column 'ocupation' (column 9)"]


async def test_a_missing_required_header_is_named(services: Services, tmp_path: Path) -> None:
    rows = [{k: v for k, v in customer_row().items() if k != "region"}]
    report = await import_customers(services.db, write_csv(tmp_path / "c.csv", rows))
    assert [str(e) for e in report.errors] == ["row 1: missing required column 'region'"]


async def test_a_duplicate_code_names_the_earlier_row(services: Services, tmp_path: Path) -> None:
    rows = [customer_row("KH001"), customer_row("KH002"), customer_row("KH001")]
    report = await import_customers(services.db, write_csv(tmp_path / "c.csv", rows))
    assert [str(e) for e in report.errors] == ["row 4: code 'KH001' already appears on row 2"]


async def test_reimporting_an_existing_code_updates_the_customer(
    services: Services, tmp_path: Path
) -> None:
    first = [customer_row("KH001", marketing_consent="yes"), customer_row("KH002")]
    await import_customers(services.db, write_csv(tmp_path / "a.csv", first))
    before = await customers_in(services)

    second = [
        customer_row("KH001", name="Nguyễn Thị Lan Anh", region="Đà Nẵng", marketing_consent=""),
        customer_row("KH003"),
    ]
    report = await import_customers(services.db, write_csv(tmp_path / "b.csv", second))

    assert (report.created, report.updated) == (1, 1)
    after = await customers_in(services)
    assert set(after) == {"KH001", "KH002", "KH003"}
    assert after["KH001"].id == before["KH001"].id
    assert (after["KH001"].name, after["KH001"].region) == ("Nguyễn Thị Lan Anh", "Đà Nẵng")
    # A blank consent cell states nothing: the consent given before stays.
    assert after["KH001"].consent_telegram and after["KH001"].consent_email


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("code", "", "code is empty"),
        ("code", "K" * 41, "code is longer than 40 characters"),
        ("name", "", "name is empty"),
        ("kind", "robot", "kind 'robot' is not individual or organization"),
        ("phone", "", "phone is empty"),
        ("phone", "12345", "phone '12345' is not a phone number"),
        ("phone", "abc", "phone 'abc' is not a phone number"),
        ("email", "lan@", "email 'lan@' is not an e-mail address"),
        ("email", "lan example.com", "email 'lan example.com' is not an e-mail address"),
        ("birthday", "1990-13-01", "birthday '1990-13-01' is not a date (YYYY-MM-DD)"),
        ("birthday", "31/02/1990", "birthday '31/02/1990' is not a date (YYYY-MM-DD)"),
        ("language", "fr", "language 'fr' is not vi or en"),
        ("marketing_consent", "maybe", "marketing_consent 'maybe' is not yes or no"),
        ("size", "-1", "size '-1' must be at least 0"),
        ("size", "two", "size 'two' is not a whole number"),
        ("size", "2.5", "size '2.5' is not a whole number"),
    ],
)
async def test_customer_validation_rules(
    services: Services, tmp_path: Path, column: str, value: str, reason: str
) -> None:
    rows = [customer_row("KH000"), {**customer_row("KH001"), column: value}]
    report = await import_customers(services.db, write_csv(tmp_path / "c.csv", rows))
    assert [str(e) for e in report.errors] == [f"row 3: {reason}"]
    assert await customers_in(services) == {}


@pytest.mark.parametrize(
    ("column", "value", "attribute", "expected"),
    [
        ("kind", "Tổ chức", "kind", "organization"),
        ("kind", "doanh nghiệp", "kind", "organization"),
        ("kind", "CÁ NHÂN", "kind", "individual"),
        ("phone", "84912345678", "phone", "+84912345678"),
        ("phone", "+84 (91) 234-5678", "phone", "+84912345678"),
        ("birthday", "17/05/1990", "birthday", date(1990, 5, 17)),
        ("language", "EN", "language", "en"),
        ("marketing_consent", "Không", "consent_email", False),
        ("marketing_consent", "1", "consent_telegram", True),
        ("marketing_consent", "TRUE", "consent_email", True),
        ("size", "0", "size", 0),
    ],
)
async def test_customer_values_written_the_way_people_write_them(
    services: Services, tmp_path: Path, column: str, value: str, attribute: str, expected: Any
) -> None:
    rows = [customer_row("KH001", **{column: value})]
    report = await import_customers(services.db, write_csv(tmp_path / "c.csv", rows))
    assert report.ok, report.errors
    assert getattr((await customers_in(services))["KH001"], attribute) == expected


async def test_xlsx_cells_typed_by_the_spreadsheet_are_understood(
    services: Services, tmp_path: Path
) -> None:
    rows = [customer_row("KH001", birthday=datetime(1990, 5, 17), size=3, phone=912345678)]
    report = await import_customers(services.db, write_xlsx(tmp_path / "c.xlsx", rows))
    assert report.ok, report.errors
    customer = (await customers_in(services))["KH001"]
    assert (customer.birthday, customer.size, customer.phone) == (
        date(1990, 5, 17),
        3,
        "+84912345678",
    )


async def test_a_value_outside_the_header_is_reported(services: Services, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        ",".join(CUSTOMER_HEADER) + "\nKH001,individual,Lan,0912345678,,,Hà Nội,vi,surplus\n",
        encoding="utf-8",
    )
    report = await import_customers(services.db, path)
    assert [str(e) for e in report.errors] == [
        "row 2: has 9 values but the header has 8 columns "
        "(a value containing the separator must be in quotes)"
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("c.txt", None, "no such file"),
        ("c.json", "{}", "expected a .csv or .xlsx file"),
        ("c.csv", "", "is empty"),
        ("c.xlsx", "not a zip", "is not a readable XLSX file"),
    ],
)
async def test_an_unreadable_file_is_one_error(
    services: Services, tmp_path: Path, name: str, content: str | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ImportFileError, match=message):
        await import_customers(services.db, path)


async def test_a_csv_not_in_utf8_is_one_error(services: Services, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(",".join(CUSTOMER_HEADER).encode() + b"\nKH1,individual,Caf\xe9")
    with pytest.raises(ImportFileError, match="not UTF-8"):
        await import_customers(services.db, path)


async def test_imports_use_a_few_bulk_statements_not_one_per_row(
    services: Services, tmp_path: Path
) -> None:
    rows = [customer_row(f"KH{n:05d}", phone=f"09{n:08d}") for n in range(3_000)]
    path = write_csv(tmp_path / "c.csv", rows)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(services.db.engine.sync_engine, "before_cursor_execute", count)
    try:
        report = await import_customers(services.db, path)
        again = await import_customers(services.db, path)
    finally:
        event.remove(services.db.engine.sync_engine, "before_cursor_execute", count)

    assert (report.created, again.updated) == (3_000, 3_000)
    assert len(statements) < 30, statements


# --- orders -------------------------------------------------------------------------------


async def test_orders_are_imported_with_local_times_stored_in_utc(
    services: Services, tmp_path: Path
) -> None:
    await seed_customer(services, tmp_path)
    rows = [
        order_row(
            "DH001",
            placed_at="2026-01-02 10:00",
            delivered_at="04/01/2026 15:30",
            amount="1.250.000",
            margin="250,000",
            discount="50000 ₫",
            payment_terms="Thanh toán khi nhận hàng",
        ),
        order_row(
            "DH002",
            placed_at="2026-01-05T09:00:00+00:00",
            delivered_at="",
            status="shipping",
            amount="1250000 ₫",
            margin="0",
        ),
        order_row(
            "YC001",
            kind="inquiry",
            status="open",
            placed_at="06/01/2026",
            delivered_at="",
            amount="",
            margin="",
        ),
    ]
    report = await import_orders(services.db, write_csv(tmp_path / "o.csv", rows))
    assert (report.created, report.updated, report.errors) == (3, 0, [])

    orders = await orders_in(services)
    first = orders["DH001"]
    assert first.placed_at == datetime(2026, 1, 2, 3, 0, tzinfo=UTC)  # 10:00 in Hanoi
    assert first.delivered_at == datetime(2026, 1, 4, 8, 30, tzinfo=UTC)
    assert (first.amount, first.margin, first.discount) == (1_250_000, 250_000, 50_000)
    assert first.payment_terms == "Thanh toán khi nhận hàng"
    assert orders["DH002"].placed_at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert orders["DH002"].delivered_at is None
    assert orders["YC001"].placed_at == datetime(2026, 1, 5, 17, 0, tzinfo=UTC)
    assert (orders["YC001"].kind, orders["YC001"].amount) == ("inquiry", 0)
    customer = (await customers_in(services))["KH001"]
    assert report.customer_ids == {customer.id}  # whose classification is now stale


async def test_an_order_of_an_unknown_customer_is_rejected(
    services: Services, tmp_path: Path
) -> None:
    await seed_customer(services, tmp_path)
    rows = [order_row("DH001"), order_row("DH002", customer="KH999")]
    report = await import_orders(services.db, write_csv(tmp_path / "o.csv", rows))
    assert [str(e) for e in report.errors] == [
        "row 3: customer_code 'KH999' is not a known customer (import customers first)"
    ]
    assert await orders_in(services) == {}


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"kind": "sale"}, "kind 'sale' is not order or inquiry"),
        (
            {"status": "open"},
            "status 'open' is not valid for an order (new, confirmed, "
            "shipping, delivered, cancelled, returned)",
        ),
        (
            {"kind": "inquiry", "status": "delivered"},
            "status 'delivered' is not valid for an inquiry (open, quoted, converted, lost)",
        ),
        ({"status": ""}, "status is empty"),
        ({"placed_at": ""}, "placed_at is empty"),
        (
            {"placed_at": "32/01/2026"},
            "placed_at '32/01/2026' is not a date and time (YYYY-MM-DD HH:MM or dd/mm/yyyy HH:MM)",
        ),
        ({"delivered_at": "2026-01-01 09:00"}, "delivered_at is before placed_at"),
        ({"amount": ""}, "amount is empty"),
        ({"amount": "1250000.5"}, "amount '1250000.5' is not a whole number of đồng"),
        ({"amount": "12,5"}, "amount '12,5' is not a whole number of đồng"),
        ({"amount": "-1.250.000"}, "amount '-1.250.000' must not be negative"),
        ({"amount": "một triệu"}, "amount 'một triệu' is not an amount in đồng"),
        (
            {"amount": "1.250.000", "margin": "1.300.000"},
            "margin 1300000 is larger than amount 1250000",
        ),
        ({"discount": "-5"}, "discount '-5' must not be negative"),
        ({"product": "Quạt", "quantity": "0"}, "quantity '0' must be above 0"),
        ({"product": "Quạt", "quantity": "1.5"}, "quantity '1.5' is not a whole number"),
        ({"quantity": "2"}, "quantity is given without a product"),
    ],
)
async def test_order_validation_rules(
    services: Services, tmp_path: Path, fields: dict[str, str], reason: str
) -> None:
    await seed_customer(services, tmp_path)
    rows = [order_row("DH000"), order_row("DH001", **fields)]
    report = await import_orders(services.db, write_csv(tmp_path / "o.csv", rows))
    assert [str(e) for e in report.errors] == [f"row 3: {reason}"]
    assert await orders_in(services) == {}


@pytest.mark.parametrize(
    ("written", "amount"),
    [
        ("1.250.000", 1_250_000),
        ("1,250,000", 1_250_000),
        ("1250000 ₫", 1_250_000),
        ("1.250.000 đ", 1_250_000),
        ("1 250 000 VND", 1_250_000),
        ("0", 0),
        ("1,25 triệu", 1_250_000),
        ("500k", 500_000),
    ],
)
async def test_amounts_written_the_way_shops_write_them(
    services: Services, tmp_path: Path, written: str, amount: int
) -> None:
    await seed_customer(services, tmp_path)
    rows = [order_row("DH001", amount=written, margin="0")]
    report = await import_orders(services.db, write_csv(tmp_path / "o.csv", rows))
    assert report.ok, report.errors
    assert (await orders_in(services))["DH001"].amount == amount


async def test_an_xlsx_with_a_bad_order_row_imports_nothing(
    services: Services, tmp_path: Path
) -> None:
    await seed_customer(services, tmp_path)
    rows = [
        order_row(
            "DH001",
            placed_at=datetime(2026, 1, 2, 10),
            delivered_at=None,
            amount=1_250_000,
            margin=250_000,
        ),
        order_row(
            "DH002",
            placed_at=datetime(2026, 1, 3, 10),
            delivered_at=None,
            amount=1_250_000.5,
            margin=0,
        ),
    ]
    report = await import_orders(services.db, write_xlsx(tmp_path / "o.xlsx", rows))
    assert [str(e) for e in report.errors] == [
        "row 3: amount '1250000.5' is not a whole number of đồng"
    ]
    assert await orders_in(services) == {}

    rows.pop()
    report = await import_orders(services.db, write_xlsx(tmp_path / "o.xlsx", rows))
    assert report.ok
    assert (await orders_in(services))["DH001"].placed_at == datetime(2026, 1, 2, 3, tzinfo=UTC)


async def test_the_product_becomes_the_order_line_and_reimport_replaces_it(
    services: Services, tmp_path: Path
) -> None:
    await seed_customer(services, tmp_path)
    async with services.db.uow() as uow:
        uow.session.add(Product(code="SP-001", name="Nồi cơm điện Sharp", price=625_000))
        await uow.commit()
    rows = [
        order_row(
            "DH001",
            product="noi com dien sharp",
            quantity="2",
            amount="1.200.000",
            margin="200.000",
            discount="50.000",
        )
    ]
    await import_orders(services.db, write_csv(tmp_path / "a.csv", rows))
    async with services.db.uow() as uow:
        first = (
            await uow.session.execute(
                select(
                    OrderLine.product_id,
                    OrderLine.quantity,
                    OrderLine.unit_price,
                    OrderLine.discount,
                )
            )
        ).all()
        sharp = await uow.session.scalar(select(Product.id))
    assert [tuple(line) for line in first] == [(sharp, 2, 625_000, 50_000)]  # by its name

    rows = [
        order_row(
            "DH001",
            product="SP-001",
            quantity="1",
            amount="625.000",
            margin="100.000",
            status="returned",
        )
    ]
    report = await import_orders(services.db, write_csv(tmp_path / "b.csv", rows))

    assert (report.created, report.updated) == (0, 1)
    async with services.db.uow() as uow:
        lines = (
            await uow.session.execute(
                select(
                    OrderLine.product_id,
                    OrderLine.product_name,
                    OrderLine.quantity,
                    OrderLine.amount,
                )
            )
        ).all()
        product_id = await uow.session.scalar(select(Product.id))
    assert [tuple(line) for line in lines] == [(product_id, "SP-001", 1, 625_000)]
    order = (await orders_in(services))["DH001"]
    assert (order.status, order.amount, order.margin) == ("returned", 625_000, 100_000)


async def test_reimporting_orders_updates_them(services: Services, tmp_path: Path) -> None:
    await seed_customer(services, tmp_path)
    await seed_customer(services, tmp_path, "KH002")
    path = write_csv(tmp_path / "o.csv", [order_row("DH001"), order_row("DH002")])
    await import_orders(services.db, path)
    rows = [
        order_row("DH001", status="returned"),
        order_row("DH002", customer="KH002"),
        order_row("DH003"),
    ]
    report = await import_orders(services.db, write_csv(tmp_path / "o2.csv", rows))

    assert (report.created, report.updated) == (1, 2)
    orders = await orders_in(services)
    customers = await customers_in(services)
    assert orders["DH001"].status == "returned"
    assert orders["DH002"].customer_id == customers["KH002"].id
    async with services.db.uow() as uow:
        assert await uow.session.scalar(select(func.count(Order.id))) == 3


# --- the command ------------------------------------------------------------------------------


def test_the_import_command_prints_every_bad_row_and_exits_1(
    tmp_cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{tmp_cwd / 'cli.db'}")
    rows = [customer_row(f"KH{n:03d}") for n in range(1, 8)]
    rows[5]["birthday"] = "1990-13-01"
    rows[1]["phone"] = "12"
    write_csv(tmp_cwd / "bad.csv", rows)
    write_csv(tmp_cwd / "good.csv", [customer_row("KH001"), customer_row("KH002")])
    runner = CliRunner()

    bad = runner.invoke(app, ["import", "customers", "bad.csv"])
    good = runner.invoke(app, ["import", "customers", "good.csv"])
    again = runner.invoke(app, ["import", "customers", "good.csv"])
    missing = runner.invoke(app, ["import", "orders", "nothing.csv"])

    assert bad.exit_code == 1
    assert "row 3: phone '12' is not a phone number\n" in bad.stderr
    assert "row 7: birthday '1990-13-01' is not a date (YYYY-MM-DD)\n" in bad.stderr
    assert "2 bad row(s); nothing was imported" in bad.stderr
    assert good.exit_code == 0 and "created 2, updated 0" in good.stdout
    assert again.exit_code == 0 and "created 0, updated 2" in again.stdout
    assert missing.exit_code == 1 and "nothing.csv: no such file" in missing.stderr
