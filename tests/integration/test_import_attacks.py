"""Broken and hostile import files: each is refused with the row and the reason, and
nothing of it lands in the database.

Short and long rows, a row holding only a code, empty required cells, oversized cells,
files and archives over the size limit, too many rows: what a careless export or an
attacker hands to `carebot import`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from care.core.models import Customer, Order
from care.io.imports import (
    MAX_LISTED_ERRORS,
    ImportFileError,
    ImportLimits,
    import_customers,
    import_orders,
)
from care.services import Services
from tests.integration.test_importers import (
    CUSTOMER_HEADER,
    ORDER_HEADER,
    WRITERS,
    customer_row,
    order_row,
    seed_customer,
    write_csv,
)


async def count(services: Services, model: type) -> int:
    async with services.db.uow() as uow:
        return await uow.session.scalar(select(func.count()).select_from(model)) or 0


def write_lines(path: Path, header: list[str], *lines: str) -> Path:
    """A CSV written by hand, for rows a csv writer would never produce."""
    path.write_text(",".join(header) + "\n" + "".join(f"{line}\n" for line in lines), "utf-8")
    return path


def write_xlsx_rows(path: Path, header: list[str], *rows: list[Any]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


GOOD = "KH001,individual,Lan,0912345678,lan@example.com,1990-05-17,Hà Nội,vi"


# --- rows of the wrong shape ---------------------------------------------------------------


async def test_a_row_missing_its_last_columns_is_refused_not_padded(
    services: Services, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "c.csv", CUSTOMER_HEADER, GOOD, "KH002,individual,Minh,")

    report = await import_customers(services.db, path)

    assert [str(e) for e in report.errors] == [
        "row 3: has 4 values but the header has 8 columns (values missing at the end of the row?)"
    ]
    assert await count(services, Customer) == 0


async def test_a_row_with_extra_columns_is_refused(services: Services, tmp_path: Path) -> None:
    long_row = GOOD.replace("KH001", "KH002") + ",,"
    path = write_lines(tmp_path / "c.csv", CUSTOMER_HEADER, GOOD, long_row)

    report = await import_customers(services.db, path)

    assert [str(e) for e in report.errors] == [
        "row 3: has 10 values but the header has 8 columns "
        "(a value containing the separator must be in quotes)"
    ]
    assert await count(services, Customer) == 0


async def test_a_csv_row_holding_only_a_code_is_a_row_error(
    services: Services, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "c.csv", CUSTOMER_HEADER, GOOD, "KH002")

    report = await import_customers(services.db, path)

    assert [str(e) for e in report.errors] == [
        "row 3: has 1 values but the header has 8 columns (values missing at the end of the row?)"
    ]
    assert await count(services, Customer) == 0


async def test_an_xlsx_row_holding_only_a_code_names_each_empty_required_cell(
    services: Services, tmp_path: Path
) -> None:
    path = write_xlsx_rows(tmp_path / "c.xlsx", CUSTOMER_HEADER, GOOD.split(","), ["KH002"])

    report = await import_customers(services.db, path)

    assert [str(e) for e in report.errors] == [
        "row 3: kind is empty",
        "row 3: name is empty",
        "row 3: phone is empty",
    ]
    assert await count(services, Customer) == 0


async def test_an_order_row_holding_only_a_code_is_a_row_error(
    services: Services, tmp_path: Path
) -> None:
    await seed_customer(services, tmp_path)
    good = ",".join(order_row().values())
    path = write_lines(tmp_path / "o.csv", ORDER_HEADER, good, "DH002")

    report = await import_orders(services.db, path)

    assert [str(e) for e in report.errors] == [
        "row 3: has 1 values but the header has 8 columns (values missing at the end of the row?)"
    ]
    assert await count(services, Order) == 0


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("column", ["code", "kind", "name", "phone"])
async def test_an_empty_required_cell_is_refused(
    services: Services, tmp_path: Path, kind: str, column: str
) -> None:
    rows = [customer_row("KH001"), customer_row("KH002")]
    rows[1][column] = ""
    report = await import_customers(services.db, WRITERS[kind](tmp_path / f"c.{kind}", rows))

    assert [str(e) for e in report.errors] == [f"row 3: {column} is empty"]
    assert await count(services, Customer) == 0


# --- limits -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
async def test_a_cell_over_the_limit_is_refused_naming_its_column(
    services: Services, tmp_path: Path, kind: str
) -> None:
    rows = [customer_row("KH001"), customer_row("KH002", region="x" * 1_001)]
    report = await import_customers(services.db, WRITERS[kind](tmp_path / f"c.{kind}", rows))

    assert [str(e) for e in report.errors] == [
        "row 3: column 'region' has 1,001 characters; a cell holds at most 1,000 "
        "(CAREBOT_IMPORT_MAX_CELL)"
    ]
    assert await count(services, Customer) == 0


async def test_a_cell_beyond_what_the_csv_reader_takes_is_one_clear_error(
    services: Services, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "c.csv", CUSTOMER_HEADER, GOOD, GOOD + "x" * 200_000)

    with pytest.raises(ImportFileError, match=r"^c.csv, row 3: a cell is longer than 1,000 "):
        await import_customers(services.db, path)
    assert await count(services, Customer) == 0


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
async def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    services: Services, tmp_path: Path, kind: str
) -> None:
    path = WRITERS[kind](tmp_path / f"c.{kind}", [customer_row(f"KH{n:03d}") for n in range(200)])
    limits = ImportLimits(max_bytes=path.stat().st_size - 1)

    refused = r"one import takes at most .* \(CAREBOT_IMPORT_MAX_BYTES\)"
    with pytest.raises(ImportFileError, match=refused):
        await import_customers(services.db, path, limits=limits)
    assert await count(services, Customer) == 0


async def test_an_xlsx_that_unpacks_to_too_much_is_refused(
    services: Services, tmp_path: Path
) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", "a" * 5_000_000)  # about 5 KB packed

    refused = r"bomb.xlsx unpacks to 4.8 MB; .* at most 1.9 MB unpacked"
    with pytest.raises(ImportFileError, match=refused):
        await import_customers(services.db, path, limits=ImportLimits(max_bytes=200_000))


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
async def test_too_many_rows_are_refused_at_the_first_row_over(
    services: Services, tmp_path: Path, kind: str
) -> None:
    rows = [customer_row(f"KH{n:03d}") for n in range(1, 6)]
    path = WRITERS[kind](tmp_path / f"c.{kind}", rows)

    report = await import_customers(services.db, path, limits=ImportLimits(max_rows=4))

    assert [str(e) for e in report.errors] == [
        "row 6: the file has more than 4 rows; one import takes at most that many "
        "(CAREBOT_IMPORT_MAX_ROWS): split the file"
    ]
    assert await count(services, Customer) == 0


# --- all or nothing, however long the file ------------------------------------------------


async def test_a_bad_row_after_thousands_of_good_ones_leaves_nothing_imported(
    services: Services, tmp_path: Path
) -> None:
    """Good rows are written in slices inside the one transaction; a late bad row undoes them."""
    rows = [customer_row(f"KH{n:05d}", phone=f"09{n:08d}") for n in range(12_000)]
    rows[-1]["phone"] = "12"

    report = await import_customers(services.db, write_csv(tmp_path / "c.csv", rows))

    assert [str(e) for e in report.errors] == ["row 12001: phone '12' is not a phone number"]
    assert await count(services, Customer) == 0


async def test_a_code_repeated_in_different_slices_is_caught(
    services: Services, tmp_path: Path
) -> None:
    rows = [customer_row(f"KH{n:05d}", phone=f"09{n:08d}") for n in range(6_000)]
    rows[-1]["code"] = "KH00001"

    report = await import_customers(services.db, write_csv(tmp_path / "c.csv", rows))

    assert [str(e) for e in report.errors] == ["row 6001: code 'KH00001' already appears on row 3"]
    assert await count(services, Customer) == 0


async def test_a_file_of_bad_rows_lists_the_first_thousand_and_counts_the_rest(
    services: Services, tmp_path: Path
) -> None:
    path = write_lines(tmp_path / "c.csv", CUSTOMER_HEADER, *(["KH1"] * (MAX_LISTED_ERRORS + 5)))

    report = await import_customers(services.db, path)

    assert len(report.errors) == MAX_LISTED_ERRORS
    assert report.unlisted_errors == 5
    assert await count(services, Customer) == 0


# --- the command: one line per bad row, never a traceback -----------------------------------


def test_the_command_answers_broken_and_oversized_files_in_plain_lines(
    tmp_cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.setenv("CAREBOT_DATABASE_URL", f"sqlite:///{tmp_cwd / 'cli.db'}")
    write_lines(tmp_cwd / "short.csv", CUSTOMER_HEADER, GOOD, "KH002")
    write_csv(tmp_cwd / "big.csv", [customer_row(f"KH{n:03d}") for n in range(50)])
    runner = CliRunner()

    short = runner.invoke(app, ["import", "customers", "short.csv"])
    monkeypatch.setenv("CAREBOT_IMPORT_MAX_BYTES", "1000")
    big = runner.invoke(app, ["import", "customers", "big.csv"])

    assert short.exit_code == 1 and big.exit_code == 1
    assert short.stderr.splitlines() == [
        "row 3: has 1 values but the header has 8 columns (values missing at the end of the row?)",
        "error: short.csv: 1 bad row(s); nothing was imported",
    ]
    assert big.stderr.splitlines() == [
        "error: big.csv is 4.3 KB; one import takes at most 1,000 bytes "
        "(CAREBOT_IMPORT_MAX_BYTES): split the file"
    ]
    assert "Traceback" not in short.output + big.output
