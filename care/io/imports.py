"""Customers and orders from CSV or XLSX files: validated whole, written whole.

A shop's spreadsheet is checked row by row before anything is written. A file with any
bad row imports nothing, and the report names every bad row (as numbered in the
spreadsheet: the header is row 1) with the reason, so the file can be fixed in one pass.
A good file is written in one transaction; a row whose code already exists updates that
record, so exporting, editing and re-importing is safe.

Files come from outside and may be hostile or broken: their size, rows and cells are
limited (``ImportLimits``), and rows are streamed (CSV row by row, XLSX in openpyxl's
read-only mode) and checked and written in slices inside that one transaction, so memory
stays bounded however long the file is. A bad row stops the writing, not the checking,
and the transaction is rolled back.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table as SqlTable
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from care.core.db import Database
from care.core.models import (
    Base,
    Customer,
    CustomerKind,
    Order,
    OrderKind,
    OrderLine,
    OrderStatus,
    Product,
)
from care.core.text import clean, fold, normalise_email, normalise_phone, parse_date, parse_vnd
from care.vouchers import VoucherProblem, VoucherRefused, Vouchers, normalise_code

T = TypeVar("T")

# Bulk statements are sent in slices: PostgreSQL and SQLite cap the parameters of one
# statement (32 767), and an IN list of 100 000 codes would pass that.
_CHUNK = 5_000
# Rows checked, and sent in one INSERT executemany, at a time: the event loop turns
# between two slices, so the bot keeps answering while a long file is imported.
_INSERT_PAGE = 1_000


# --- the report ------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """Why one row (numbered as in the spreadsheet: header = row 1) cannot be imported."""

    row: int
    reason: str
    unit: str = "row"  # "entry" in YAML files, which have no rows; "item" in API requests
    field: str | None = None  # the column (field) the reason is about, when it is one

    def __str__(self) -> str:
        return f"{self.unit} {self.row}: {self.reason}"


@dataclass
class ImportReport:
    """What an import did, or, when ``errors`` is not empty, why it did nothing.

    ``customer_ids`` are the customers whose records or orders changed: their
    classification (tier, segment, lifetime value) should be refreshed.
    """

    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    customer_ids: set[int] = field(default_factory=set)
    # Problems beyond the first MAX_LISTED_ERRORS, counted but not kept: a file of a
    # million bad rows must not fill the memory with its report.
    unlisted_errors: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def add_errors(self, errors: Iterable[RowError]) -> None:
        for error in errors:
            if len(self.errors) < MAX_LISTED_ERRORS:
                self.errors.append(error)
            else:
                self.unlisted_errors += 1


class ImportFileError(ValueError):
    """The file as a whole cannot be read: missing, not CSV/XLSX, not UTF-8, empty, too big."""


@dataclass(frozen=True)
class ImportLimits:
    """How much one import may read; each figure is a setting (CAREBOT_IMPORT_MAX_...).

    Without limits a file of a few hundred MB, a million rows or one cell of 100 MB would
    take the machine's memory and time before any error could be shown.
    """

    max_bytes: int = 50 * 1024 * 1024
    max_rows: int = 1_000_000
    max_cell: int = 1_000

    @classmethod
    def from_settings(cls, settings: Any) -> ImportLimits:
        return cls(
            max_bytes=settings.import_max_bytes,
            max_rows=settings.import_max_rows,
            max_cell=settings.import_max_cell,
        )


# An XLSX file is a zip archive: what it unpacks to is limited too (a "zip bomb" of a few
# MB can unpack to gigabytes), at this many times the file size limit.
_XLSX_UNPACKED_FACTOR = 10
# A file with more bad rows lists this many; the rest are counted.
MAX_LISTED_ERRORS = 1_000


# --- reading a table -----------------------------------------------------------------------


@dataclass
class Table:
    """A file's header and its data rows, numbered as a spreadsheet numbers them.

    ``strict_width``: in a CSV file every row must have as many values as the header (a
    short row lost its last values, a long one has a separator that should have been
    quoted); an XLSX row has no width of its own, its empty trailing cells are empty.
    """

    headers: list[str]
    rows: Iterable[tuple[int, Sequence[Any]]]
    strict_width: bool = False
    limits: ImportLimits = field(default_factory=ImportLimits)


def header_key(text: Any) -> str:
    """``" Customer Code"``, ``"customer_code"`` and ``"CUSTOMER-CODE"`` are one header."""
    return "_".join(fold(str(text or "")).split())


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):,.1f} MB"
    if size >= 1024:
        return f"{size / 1024:,.1f} KB"
    return f"{size:,} bytes"


def read_table(path: Path | str, limits: ImportLimits | None = None) -> Table:
    """Open a CSV (UTF-8, BOM or not, ``,`` or ``;``) or the first sheet of an XLSX file.

    Spreadsheet programs save CSV with a BOM and, in Vietnamese and most European
    locales, with semicolons; both must load without the shop changing its settings.
    The rows are read as they are iterated, never all at once.
    """
    path = Path(path)
    limits = limits or ImportLimits()
    if not path.exists():
        raise ImportFileError(f"{path}: no such file")
    if not path.is_file():
        raise ImportFileError(f"{path}: not a file")
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".xlsm", ".csv", ".txt"):
        raise ImportFileError(f"{path.name}: expected a .csv or .xlsx file")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise ImportFileError(
            f"{path.name} is {_size(size)}; one import takes at most "
            f"{_size(limits.max_bytes)} (CAREBOT_IMPORT_MAX_BYTES): split the file"
        )
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, limits)
    return _read_csv(path, limits)


def _read_csv(path: Path, limits: ImportLimits) -> Table:
    delimiter = _csv_delimiter(path)
    records = _csv_records(path, delimiter, limits)
    # Rows keep the numbers a spreadsheet shows, blank lines above the header included.
    for _, record in records:
        if any(cell.strip() for cell in record):
            return Table(record, records, strict_width=True, limits=limits)
    records.close()
    raise ImportFileError(f"{path.name} is empty")


def _csv_delimiter(path: Path) -> str:
    """``;`` when the first non-blank line has more of them than commas, else ``,``."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for line in handle:
                if line.strip():
                    return ";" if line.count(";") > line.count(",") else ","
    except UnicodeDecodeError as exc:
        raise _not_utf8(path) from exc
    raise ImportFileError(f"{path.name} is empty")


def _not_utf8(path: Path) -> ImportFileError:
    return ImportFileError(f"{path.name} is not UTF-8 text (save it as 'CSV UTF-8' and try again)")


def _csv_records(
    path: Path, delimiter: str, limits: ImportLimits
) -> Generator[tuple[int, list[str]], None, None]:
    """The file's records one at a time, numbered from 1; the file is closed at the end."""
    number = 0
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            for number, record in enumerate(reader, start=1):
                yield number, record
        except UnicodeDecodeError as exc:
            raise _not_utf8(path) from exc
        except csv.Error as exc:
            # The csv module stops at a cell of 128 KB (far past our own limit, which
            # iter_rows applies) and at NUL bytes; reading cannot go on after either.
            if "field larger than field limit" in str(exc):
                reason = (
                    f"a cell is longer than {limits.max_cell:,} characters, the most a cell "
                    "holds (CAREBOT_IMPORT_MAX_CELL)"
                )
            else:
                reason = f"not readable as CSV ({exc})"
            raise ImportFileError(f"{path.name}, row {number + 1}: {reason}") from exc


def _read_xlsx(path: Path, limits: ImportLimits) -> Table:
    from openpyxl import load_workbook  # only imports that read XLSX pay for openpyxl

    _check_unpacked_size(path, limits)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl errors all mean "not readable"
        raise ImportFileError(f"{path.name} is not a readable XLSX file") from exc
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    for number, record in enumerate(rows, start=1):
        if any(_text(cell) for cell in record):
            headers = [_text(cell) for cell in record]
            return Table(headers, _xlsx_body(workbook, rows, number), limits=limits)
    workbook.close()
    raise ImportFileError(f"{path.name}: the first sheet is empty")


def _check_unpacked_size(path: Path, limits: ImportLimits) -> None:
    """Refuse an XLSX whose contents unpack to more than the limit allows.

    openpyxl keeps the shared strings (every text cell) in memory even in read-only
    mode, so what the archive unpacks to is checked before it is opened.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFileError(f"{path.name} is not a readable XLSX file") from exc
    allowed = limits.max_bytes * _XLSX_UNPACKED_FACTOR
    if unpacked > allowed:
        raise ImportFileError(
            f"{path.name} unpacks to {_size(unpacked)}; one import takes at most "
            f"{_size(allowed)} unpacked ({_XLSX_UNPACKED_FACTOR} x "
            "CAREBOT_IMPORT_MAX_BYTES): split the file"
        )


def _xlsx_body(workbook: Any, rows: Iterator[Any], header_row: int) -> Iterator[tuple[int, Any]]:
    try:
        yield from enumerate(rows, start=header_row + 1)
    finally:
        workbook.close()


# --- cell values ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A cell as text: XLSX cells come typed (numbers, dates), CSV cells as strings."""
    if value is None:
        return ""
    if type(value) is int:  # the API's JSON numbers: nothing to clean
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return clean(str(value))


def _cell(value: Any) -> str:
    """A value from a ``Row``: strings there are already cleaned."""
    return value if isinstance(value, str) else _text(value)


class CellError(ValueError):
    """A cell's value is wrong; the message is shown to the person who fixes the file."""


def _shown(value: Any) -> str:
    return f"'{_cell(value)}'"


def limited(limit: int) -> Callable[[str, Any], str]:
    def parse(column: str, value: Any) -> str:
        text = _cell(value)
        if len(text) > limit:
            raise CellError(f"{column} is longer than {limit} characters")
        return text

    return parse


_KINDS = {
    "individual": CustomerKind.INDIVIDUAL,
    "person": CustomerKind.INDIVIDUAL,
    "ca nhan": CustomerKind.INDIVIDUAL,
    "organization": CustomerKind.ORGANIZATION,
    "organisation": CustomerKind.ORGANIZATION,
    "company": CustomerKind.ORGANIZATION,
    "to chuc": CustomerKind.ORGANIZATION,
    "doanh nghiep": CustomerKind.ORGANIZATION,
    "cong ty": CustomerKind.ORGANIZATION,
}


# Kinds, yes/no and the like repeat on every row: fold each distinct spelling once.
_fold = lru_cache(maxsize=4096)(fold)


def _kind(column: str, value: Any) -> str:
    kind = _KINDS.get(_fold(_cell(value)))
    if kind is None:
        raise CellError(f"{column} {_shown(value)} is not individual or organization")
    return str(kind)


def _phone(column: str, value: Any) -> str:
    try:
        return normalise_phone(_cell(value))
    except ValueError:
        raise CellError(f"{column} {_shown(value)} is not a phone number") from None


def _email(column: str, value: Any) -> str:
    try:
        return normalise_email(_cell(value))
    except ValueError:
        raise CellError(f"{column} {_shown(value)} is not an e-mail address") from None


def _date(column: str, value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(_cell(value))  # the documented form, parsed in C
    except ValueError:
        pass
    try:
        return parse_date(_cell(value))
    except ValueError:
        raise CellError(f"{column} {_shown(value)} is not a date (YYYY-MM-DD)") from None


def parse_language(column: str, value: Any) -> str:
    language = _cell(value).lower()
    if language not in ("vi", "en"):
        raise CellError(f"{column} {_shown(value)} is not vi or en")
    return language


_YES = {"yes", "y", "true", "1", "co", "x"}
_NO = {"no", "n", "false", "0", "khong"}


def _yes_no(column: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    folded = _fold(_cell(value))
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    raise CellError(f"{column} {_shown(value)} is not yes or no")


def _whole(column: str, value: Any, *, positive: bool = False) -> int:
    if isinstance(value, bool):
        raise CellError(f"{column} {_shown(value)} is not a whole number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        text = _cell(value)
        if not re.fullmatch(r"-?\d+", text):
            raise CellError(f"{column} {_shown(value)} is not a whole number")
        number = int(text)
    if number < 0 or (positive and number == 0):
        raise CellError(f"{column} {_shown(value)} must be {'above' if positive else 'at least'} 0")
    return number


def _count(column: str, value: Any) -> int:
    return _whole(column, value)


def _quantity(column: str, value: Any) -> int:
    return _whole(column, value, positive=True)


def _vnd(column: str, value: Any) -> int:
    """Whole đồng: typed XLSX numbers as they are, text as ``parse_vnd`` reads it."""
    if isinstance(value, float) and not value.is_integer():
        raise CellError(f"{column} {_shown(value)} is not a whole number of đồng")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise CellError(f"{column} {_shown(value)} must not be negative")
        return int(value)
    try:
        return parse_vnd(_cell(value))
    except ValueError as exc:
        raise CellError(f"{column} {exc}") from None


_LOCAL_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y")


def _moment(zone: ZoneInfo) -> Callable[[str, Any], datetime]:
    """Times as ISO or dd/mm/yyyy [HH:MM]; without an offset they are the shop's local time."""

    def parse(column: str, value: Any) -> datetime:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime.combine(value, time())
        else:
            text = _cell(value)
            parsed: datetime | None = None
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                for fmt in _LOCAL_FORMATS:
                    try:
                        parsed = datetime.strptime(text, fmt)
                        break
                    except ValueError:
                        continue
            if parsed is None:
                raise CellError(
                    f"{column} {_shown(value)} is not a date and time "
                    "(YYYY-MM-DD HH:MM or dd/mm/yyyy HH:MM)"
                )
            moment = parsed
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment.astimezone(ZoneInfo("UTC"))

    return parse


# --- rows ---------------------------------------------------------------------------------


class Row:
    """One data row being validated; collects every problem instead of stopping at one."""

    def __init__(self, number: int, cells: dict[str, Any], unit: str = "row") -> None:
        self.number = number
        self.unit = unit  # "row" of a file, "item" of an API request
        self.raw = cells  # as in the file: for long texts whose line breaks matter
        # Cleaned once here, not in every check and parser that reads the cell.
        self.cells = {
            key: clean(value) if isinstance(value, str) else value for key, value in cells.items()
        }
        self.problems: list[str] = []
        self.fields: dict[int, str] = {}  # problem's position -> the column it is about

    def problem(self, column: str | None, text: str) -> None:
        """Note what is wrong, and with which column (the API names it in its answer)."""
        if column is not None:
            self.fields[len(self.problems)] = column
        self.problems.append(text)

    def has(self, column: str) -> bool:
        return column in self.cells

    def blank(self, column: str) -> bool:
        value = self.cells.get(column)
        if value is None or value == "":
            return True
        return not isinstance(value, str) and _text(value) == ""

    def is_empty(self) -> bool:
        return all(_cell(value) == "" for value in self.cells.values())

    def get(
        self,
        column: str,
        parse: Callable[[str, Any], T],
        *,
        required: bool = False,
        default: T | None = None,
    ) -> T | None:
        value = self.cells.get(column)
        if value is None or value == "" or (not isinstance(value, str) and _text(value) == ""):
            if required:
                self.problem(column, f"{column} is empty")
                return None
            return default
        try:
            return parse(column, value)
        except CellError as exc:
            self.problem(column, str(exc))
            return None


@dataclass(frozen=True)
class Columns:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def known(self) -> tuple[str, ...]:
        return self.required + self.optional


CUSTOMER_COLUMNS = Columns(
    required=("code", "kind", "name", "phone", "email", "birthday", "region", "language"),
    optional=("contact_person", "address", "occupation", "size", "marketing_consent"),
)
ORDER_COLUMNS = Columns(
    required=(
        "code",
        "customer_code",
        "kind",
        "status",
        "placed_at",
        "delivered_at",
        "amount",
        "margin",
    ),
    optional=("product", "quantity", "discount", "payment_terms", "delivery_date", "voucher"),
)


def check_headers(table: Table, columns: Columns) -> tuple[list[str | None], list[RowError]]:
    """Map each column of the file to a known field, or explain what is wrong with the header.

    Unknown headers are errors, not ignored: a typo ("birtday") would otherwise drop a
    whole column of data without anyone noticing.
    """
    errors: list[RowError] = []
    keys: list[str | None] = []
    seen: set[str] = set()
    for position, raw in enumerate(table.headers, start=1):
        key = header_key(raw)
        if not key:
            keys.append(None)
            continue
        if key not in columns.known:
            errors.append(RowError(1, f"unknown column '{clean(str(raw))}' (column {position})"))
        elif key in seen:
            errors.append(RowError(1, f"column '{key}' appears twice"))
        seen.add(key)
        keys.append(key)
    for missing in columns.required:
        if missing not in seen:
            errors.append(RowError(1, f"missing required column '{missing}'"))
    return keys, errors


def iter_rows(table: Table, keys: list[str | None]) -> Iterator[Row | RowError]:
    """Data rows as named cells; blank rows are skipped, broken rows are errors.

    A row is an error, never silently padded or cut, when (CSV) it has fewer or more
    values than the header, when a value stands under no header, or when a cell is longer
    than the limit. Past the row limit the file is refused at that row and reading stops.
    """
    limits = table.limits
    read = 0
    try:
        for number, record in table.rows:
            read += 1
            if read > limits.max_rows:
                yield RowError(
                    number,
                    f"the file has more than {limits.max_rows:,} rows; one import takes at "
                    "most that many (CAREBOT_IMPORT_MAX_ROWS): split the file",
                )
                return
            problem = _shape_problem(record, keys, table.strict_width, limits.max_cell)
            if problem == "blank":
                continue
            if problem:
                yield RowError(number, problem)
                continue
            cells: dict[str, Any] = {}
            for position, key in enumerate(keys):
                if key is not None:
                    cells[key] = record[position] if position < len(record) else None
            yield Row(number, cells)
    finally:
        close = getattr(table.rows, "close", None)
        if close is not None:
            close()  # the file or workbook, when reading stops early


def _shape_problem(
    record: Sequence[Any], keys: list[str | None], strict_width: bool, max_cell: int
) -> str | None:
    """Why a record cannot be a row, ``"blank"`` for a blank one, None for a good one."""
    if not any(_text(value) if not isinstance(value, str) else value.strip() for value in record):
        return "blank"
    for position, value in enumerate(record):
        if isinstance(value, str) and len(value) > max_cell:
            name = keys[position] if position < len(keys) and keys[position] else None
            column = f"column '{name}'" if name else f"column {position + 1}"
            return (
                f"{column} has {len(value):,} characters; a cell holds at most "
                f"{max_cell:,} (CAREBOT_IMPORT_MAX_CELL)"
            )
    if strict_width and len(record) != len(keys):
        fewer = len(record) < len(keys)
        hint = (
            "(values missing at the end of the row?)"
            if fewer
            else "(a value containing the separator must be in quotes)"
        )
        return f"has {len(record)} values but the header has {len(keys)} columns {hint}"
    for position, value in enumerate(record):
        if (position >= len(keys) or keys[position] is None) and _text(value):
            return f"has a value in column {position + 1}, which has no header"
    return None


def _check_duplicate(row: Row, code: str | None, seen: dict[str, int]) -> None:
    if code is None:
        return
    earlier = seen.get(code)
    if earlier is not None:
        row.problem("code", f"code '{code}' already appears on {row.unit} {earlier}")
    else:
        seen[code] = row.number


def row_errors(row: Row, unit: str = "row") -> list[RowError]:
    return [
        RowError(row.number, problem, unit, row.fields.get(position))
        for position, problem in enumerate(row.problems)
    ]


# --- customers -------------------------------------------------------------------------------


_CUSTOMER_FIELDS: dict[str, Callable[[str, Any], Any]] = {
    "kind": _kind,
    "name": limited(200),
    "phone": _phone,
    "email": _email,
    "birthday": _date,
    "region": limited(100),
    "contact_person": limited(200),
    "address": limited(500),
    "occupation": limited(200),
    "size": _count,
}


def _customer_values(row: Row) -> tuple[str | None, dict[str, Any]]:
    code = row.get("code", limited(40), required=True)
    values: dict[str, Any] = {}
    for column, parse in _CUSTOMER_FIELDS.items():
        if row.has(column):
            values[column] = row.get(column, parse, required=column in ("kind", "name", "phone"))
    if row.has("language") or row.unit == "row":  # an API update may leave it as it is
        values["language"] = row.get("language", parse_language, default="vi")
    # Consent is stated or not: a blank cell keeps what the customer told us before.
    if row.has("marketing_consent") and not row.blank("marketing_consent"):
        consent = row.get("marketing_consent", _yes_no)
        values["consent_telegram"] = values["consent_email"] = consent
    return code, values


async def import_customers(
    db: Database, path: Path | str, *, limits: ImportLimits | None = None, check_only: bool = False
) -> ImportReport:
    """Create or update customers from a file; all rows or none (see the module doc).
    With ``check_only`` nothing is kept: the report says what the import would do.

    Raises ImportFileError only when the file itself cannot be read or is over a limit;
    bad rows are in the report's ``errors`` and nothing is written.
    """
    table = read_table(path, limits)
    keys, errors = check_headers(table, CUSTOMER_COLUMNS)
    if errors:
        return ImportReport(errors=errors)
    report = ImportReport()
    seen: dict[str, int] = {}
    async with db.uow() as uow:
        for rows in _slices(iter_rows(table, keys)):
            parsed = _check_rows(rows, seen, report, _customer_values)
            if report.errors:
                continue  # from the first bad row on, the rest is only checked
            await _write_customers(uow.session, parsed, report)
        if report.errors:
            return _failed(report)
        if not check_only:
            await uow.commit()
    return report


def _check_rows(
    rows: list[Row | RowError],
    seen: dict[str, int],
    report: ImportReport,
    values_of: Callable[[Row], tuple[str | None, dict[str, Any]]],
) -> list[tuple[str, dict[str, Any]]]:
    """One slice of rows checked by ``values_of`` (customers' or products' columns); the
    good ones' values, the bad ones' errors in ``report``."""
    parsed: list[tuple[str, dict[str, Any]]] = []
    for row in rows:
        if isinstance(row, RowError):
            report.add_errors([row])
            continue
        code, values = values_of(row)
        _check_duplicate(row, code, seen)
        if row.problems:
            report.add_errors(row_errors(row))
        elif code is not None:
            parsed.append((code, values))
    return parsed


async def _write_customers(
    session: AsyncSession, parsed: list[tuple[str, dict[str, Any]]], report: ImportReport
) -> None:
    existing = await code_map(session, Customer.code, Customer.id, [code for code, _ in parsed])
    new_rows: list[dict[str, Any]] = []
    changed_rows: list[dict[str, Any]] = []
    for code, values in parsed:
        customer_id = existing.get(code)
        if customer_id is None:
            values.setdefault("consent_telegram", False)
            values.setdefault("consent_email", False)
            values.setdefault("language", "vi")
            values.setdefault("kind", CustomerKind.INDIVIDUAL.value)
            new_rows.append({"code": code, "source": "import", **values})
        else:
            changed_rows.append({"id": customer_id, **values})
            report.customer_ids.add(customer_id)
    await insert_rows(session, Customer, _uniform(new_rows))
    await _update(session, Customer, changed_rows)
    if new_rows:
        created = await code_map(
            session, Customer.code, Customer.id, [row["code"] for row in new_rows]
        )
        report.customer_ids.update(created.values())
    report.created += len(new_rows)
    report.updated += len(changed_rows)


def _failed(report: ImportReport) -> ImportReport:
    """What is returned for a file with bad rows: its errors, and nothing done."""
    return ImportReport(errors=report.errors, unlisted_errors=report.unlisted_errors)


def _slices(items: Iterable[T], size: int = _INSERT_PAGE) -> Iterator[list[T]]:
    """``items`` in lists of ``size``, read as they are needed."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- orders ----------------------------------------------------------------------------------

_STATUSES = {
    OrderKind.ORDER: (
        OrderStatus.NEW,
        OrderStatus.CONFIRMED,
        OrderStatus.SHIPPING,
        OrderStatus.DELIVERED,
        OrderStatus.CANCELLED,
        OrderStatus.RETURNED,
    ),
    OrderKind.INQUIRY: (
        OrderStatus.OPEN,
        OrderStatus.QUOTED,
        OrderStatus.CONVERTED,
        OrderStatus.LOST,
    ),
}


def _order_kind(column: str, value: Any) -> str:
    kind = _text(value).lower()
    if kind not in (OrderKind.ORDER, OrderKind.INQUIRY):
        raise CellError(f"{column} {_shown(value)} is not order or inquiry")
    return kind


@dataclass
class _OrderRow:
    code: str
    customer_id: int
    values: dict[str, Any]
    product: str | None
    quantity: int
    # The order's lines as the API sends them (product, quantity, unit_price, discount,
    # amount); None when the row names at most one product, as a file's row does.
    lines: list[dict[str, Any]] | None = None
    row: int = 0
    voucher: str | None = None


def _order_values(
    row: Row, customers: dict[str, int], moment: Callable[[str, Any], datetime]
) -> _OrderRow | None:
    code = row.get("code", limited(40), required=True)
    customer_code = row.get("customer_code", limited(40), required=True)
    customer_id = customers.get(customer_code) if customer_code else None
    if customer_code and customer_id is None:
        row.problem(
            "customer_code",
            f"customer_code '{customer_code}' is not a known customer (import customers first)",
        )
    kind = row.get("kind", _order_kind, required=True)
    status = _cell(row.cells.get("status")).lower()
    if not status:
        row.problem("status", "status is empty")
    elif kind and status not in _STATUSES[OrderKind(kind)]:
        allowed = ", ".join(_STATUSES[OrderKind(kind)])
        row.problem("status", f"status '{status}' is not valid for an {kind} ({allowed})")
    placed_at = row.get("placed_at", moment, required=True)
    delivered_at = row.get("delivered_at", moment)
    if placed_at and delivered_at and delivered_at < placed_at:
        row.problem("delivered_at", "delivered_at is before placed_at")
    # An order without an amount would silently count as zero revenue; an inquiry may have none.
    money_required = kind == OrderKind.ORDER
    amount = row.get("amount", _vnd, required=money_required, default=0)
    margin = row.get("margin", _vnd, required=money_required, default=0)
    if amount is not None and margin is not None and margin > amount:
        row.problem("margin", f"margin {margin} is larger than amount {amount}")
    values: dict[str, Any] = {
        "kind": kind,
        "status": status,
        "placed_at": placed_at,
        "delivered_at": delivered_at,
        "amount": amount,
        "margin": margin,
    }
    if row.has("discount"):
        values["discount"] = row.get("discount", _vnd, default=0)
    if row.has("payment_terms"):
        values["payment_terms"] = row.get("payment_terms", limited(200)) or None
    if row.has("delivery_date"):
        values["delivery_date"] = row.get("delivery_date", _date)
    voucher = row.get("voucher", limited(20)) if row.has("voucher") else None
    if voucher:
        if normalise_code(voucher) is None:
            row.problems.append(f"voucher '{voucher}' is not a voucher code")
        elif kind == OrderKind.INQUIRY:
            row.problems.append("an inquiry cannot redeem a voucher")
    product = row.get("product", limited(200)) if row.has("product") else None
    quantity = row.get("quantity", _quantity, default=1) if row.has("quantity") else 1
    if not product and row.has("quantity") and not row.blank("quantity"):
        row.problem("quantity", "quantity is given without a product")
    lines = _order_lines(row, amount or 0) if row.has("lines") else None
    if row.problems or code is None or customer_id is None:
        return None
    return _OrderRow(
        code,
        customer_id,
        values,
        product or None,
        quantity or 1,
        lines,
        row.number,
        voucher or None,
    )


_LINE_FIELDS = ("product", "quantity", "unit_price", "discount", "amount")


def _order_lines(row: Row, order_amount: int) -> list[dict[str, Any]] | None:
    """The ``lines`` of an order sent by the API: each checked with the cell parsers of a
    file's columns, each problem named ``lines[i].field``. A line's amount defaults to
    quantity x unit price - discount; a single line without prices carries the order's."""
    items = row.cells.get("lines")
    if items is None:
        return []
    if not isinstance(items, list):
        row.problem("lines", "lines is not a list of order lines")
        return None
    lines: list[dict[str, Any]] = []
    for position, item in enumerate(items):
        name = f"lines[{position}]"
        if not isinstance(item, dict):
            row.problem(name, f"{name} is not an order line (an object with a product)")
            continue
        line = Row(row.number, item, row.unit)
        unknown = sorted(set(item) - set(_LINE_FIELDS))
        for key in unknown:
            line.problem(key, f"unknown field '{key}'")
        product = line.get("product", limited(200), required=True)
        quantity = line.get("quantity", _quantity, default=1) or 1
        unit_price = line.get("unit_price", _vnd)
        discount = line.get("discount", _vnd, default=0) or 0
        amount = line.get("amount", _vnd)
        if amount is None:
            if unit_price is not None:
                amount = unit_price * quantity - discount
            elif len(items) == 1:
                amount = order_amount
            else:
                amount = 0
        if unit_price is None:
            unit_price = (amount + discount) // quantity
        for position_in_line, problem in enumerate(line.problems):
            field_name = line.fields.get(position_in_line)
            shown = f"{name}.{field_name}" if field_name else name
            text = problem.replace(field_name, shown, 1) if field_name else problem
            row.problem(shown, text)
        if not line.problems:
            lines.append(
                {
                    "product_name": product,
                    "quantity": quantity,
                    "unit_price": unit_price,
                    "discount": discount,
                    "amount": amount,
                }
            )
    return lines


def _parse_orders(
    path: Path | str, customers: dict[str, int], moment: Callable[[str, Any], datetime]
) -> tuple[list[_OrderRow], list[RowError]]:
    """Every good row as an order, and every bad row's errors (no database)."""
    table = read_table(path)
    keys, errors = check_headers(table, ORDER_COLUMNS)
    if errors:
        return [], errors
    seen: dict[str, int] = {}
    parsed: list[_OrderRow] = []
    for row in iter_rows(table, keys):
        if isinstance(row, RowError):
            errors.append(row)
            continue
        order = _order_values(row, customers, moment)
        _check_duplicate(row, _cell(row.cells.get("code")) or None, seen)
        if row.problems:
            errors.extend(row_errors(row))
        elif order is not None:
            parsed.append(order)
    return parsed, errors


async def import_orders(
    db: Database,
    path: Path | str,
    *,
    timezone: str = "Asia/Ho_Chi_Minh",
    limits: ImportLimits | None = None,
    check_only: bool = False,
    vouchers: Vouchers | None = None,
) -> ImportReport:
    """Create or update orders and inquiries of known customers; all rows or none. With
    ``check_only`` nothing is kept: the report says what the import would do.

    An order whose ``voucher`` cell holds a code redeems it (``vouchers`` given); a code
    refused (expired, used, another customer's...) is that row's error, and the file
    imports nothing.

    Times without an offset are read in ``timezone`` (the shop's) and stored in UTC.
    The report's ``customer_ids`` are the customers whose classification is now stale.
    Reading and checking the file runs in a worker thread, as for customers.
    """
    table = read_table(path, limits)
    keys, errors = check_headers(table, ORDER_COLUMNS)
    if errors:
        return ImportReport(errors=errors)
    moment = _moment(ZoneInfo(timezone))
    report = ImportReport()
    seen: dict[str, int] = {}
    async with db.uow() as uow:
        session = uow.session
        for rows in _slices(iter_rows(table, keys)):
            codes = {_cell(row.cells.get("customer_code")) for row in rows if isinstance(row, Row)}
            customers = await code_map(session, Customer.code, Customer.id, sorted(codes))
            parsed = _check_orders(rows, customers, moment, seen, report)
            if report.errors:
                continue  # from the first bad row on, the rest is only checked
            await _write_orders(session, parsed, report)
            await _redeem(session, parsed, report, vouchers)
        if report.errors:
            return _failed(report)
        if not check_only:
            await uow.commit()
    return report


def _check_orders(
    rows: list[Row | RowError],
    customers: dict[str, int],
    moment: Callable[[str, Any], datetime],
    seen: dict[str, int],
    report: ImportReport,
) -> list[_OrderRow]:
    parsed: list[_OrderRow] = []
    for row in rows:
        if isinstance(row, RowError):
            report.add_errors([row])
            continue
        order = _order_values(row, customers, moment)
        _check_duplicate(row, _cell(row.cells.get("code")) or None, seen)
        if row.problems:
            report.add_errors(row_errors(row))
        elif order is not None:
            parsed.append(order)
    return parsed


async def _write_orders(
    session: AsyncSession, parsed: list[_OrderRow], report: ImportReport
) -> dict[str, int]:
    """Insert the new orders, update the known ones, write their lines; returns the ids
    of the orders that existed before (code -> id)."""
    existing = await code_map(session, Order.code, Order.id, [order.code for order in parsed])
    new_rows: list[dict[str, Any]] = []
    changed_rows: list[dict[str, Any]] = []
    for order in parsed:
        order_id = existing.get(order.code)
        if order_id is None:
            new_rows.append(
                {
                    "discount": 0,
                    "payment_terms": None,
                    **order.values,
                    "code": order.code,
                    "customer_id": order.customer_id,
                }
            )
        else:
            changed_rows.append({"id": order_id, "customer_id": order.customer_id, **order.values})
        report.customer_ids.add(order.customer_id)
    await insert_rows(session, Order, _uniform(new_rows))
    await _update(session, Order, changed_rows)
    await _write_lines(session, parsed, existing)
    report.created += len(new_rows)
    report.updated += len(changed_rows)
    return existing


async def _redeem(
    session: AsyncSession, parsed: list[_OrderRow], report: ImportReport, vouchers: Vouchers | None
) -> None:
    """The vouchers the orders carry, redeemed in the import's transaction."""
    carrying = [order for order in parsed if order.voucher]
    if not carrying:
        return
    if vouchers is None:
        report.add_errors(
            RowError(o.row, "vouchers cannot be redeemed by this import") for o in carrying
        )
        return
    orders = {
        o.code: o
        for o in await session.scalars(
            select(Order).where(Order.code.in_([o.code for o in carrying]))
        )
    }
    for row in carrying:
        assert row.voucher is not None
        try:
            await vouchers.redeem_in(session, row.voucher, orders[row.code])
        except (VoucherRefused, VoucherProblem) as exc:
            report.add_errors([RowError(row.row, f"voucher {exc}")])


async def _write_lines(
    session: AsyncSession, orders: list[_OrderRow], existing: dict[str, int]
) -> None:
    """A row's product (or an API order's list of lines) becomes the order's lines;
    re-importing replaces them. A line names a product by code or by name; one the
    catalogue does not know keeps its name and no product."""
    with_lines = [order for order in orders if order.product or order.lines is not None]
    if not with_lines:
        return
    order_ids = await code_map(session, Order.code, Order.id, [order.code for order in with_lines])
    stale = [existing[o.code] for o in with_lines if o.code in existing]
    for chunk in _chunks(stale):
        await session.execute(delete(OrderLine).where(OrderLine.order_id.in_(chunk)))
    by_code, by_name = await _product_lookup(session)
    lines = []
    for order in with_lines:
        for line in _lines_of(order):
            name = line["product_name"]
            product_id = by_code.get(name.casefold()) or by_name.get(fold(name))
            lines.append({"order_id": order_ids[order.code], "product_id": product_id, **line})
    await insert_rows(session, OrderLine, lines)


def _lines_of(order: _OrderRow) -> list[dict[str, Any]]:
    if order.lines is not None:
        return order.lines
    amount = order.values["amount"] or 0
    discount = order.values.get("discount") or 0
    return [
        {
            "product_name": order.product or "",
            "quantity": order.quantity,
            "unit_price": (amount + discount) // order.quantity,
            "discount": discount,
            "amount": amount,
        }
    ]


async def _product_lookup(session: AsyncSession) -> tuple[dict[str, int], dict[str, int]]:
    by_code: dict[str, int] = {}
    by_name: dict[str, int] = {}
    for product_id, code, name in await session.execute(
        select(Product.id, Product.code, Product.name)
    ):
        by_code[code.casefold()] = product_id
        by_name.setdefault(fold(name), product_id)
    return by_code, by_name


# --- bulk helpers -----------------------------------------------------------------------------


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def code_map(
    session: AsyncSession, code_column: Any, id_column: Any, codes: Sequence[str] | None = None
) -> dict[str, int]:
    """code -> id in one query (or one per slice of ``codes``), never one per row."""
    if codes is None:
        return dict((await session.execute(select(code_column, id_column))).all())
    found: dict[str, int] = {}
    for chunk in _chunks(list(codes)):
        result = await session.execute(select(code_column, id_column).where(code_column.in_(chunk)))
        found.update(result.all())
    return found


def _uniform(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every row the same keys, so the insert runs as one executemany."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return [{key: row.get(key) for key in keys} for row in rows]


async def insert_rows(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """INSERT the rows as one executemany per slice, through the table (SQL, not the ORM's
    bulk insert, which costs several times the database's own work on every row)."""
    table = cast(SqlTable, model.__table__)
    for chunk in _chunks(rows, _INSERT_PAGE):
        await session.execute(insert(table), list(chunk))


async def _update(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Bulk UPDATE by primary key; rows with the same columns are sent together."""
    for chunk in _chunks(rows):
        await session.execute(update(model), list(chunk))


# --- products ----------------------------------------------------------------------------

PRODUCT_COLUMNS = Columns(
    required=("code", "name", "price"),
    optional=("category", "active", "added_on", "featured"),
)


def _product_values(row: Row) -> tuple[str | None, dict[str, Any]]:
    code = row.get("code", limited(40), required=True)
    values: dict[str, Any] = {
        "name": row.get("name", limited(200), required=True),
        "price": row.get("price", _vnd, required=True),
    }
    if row.has("category"):
        values["category"] = row.get("category", limited(100)) or None
    if row.has("active"):
        values["active"] = row.get("active", _yes_no, default=True)
    if row.has("added_on"):
        values["added_on"] = row.get("added_on", _date)
    if row.has("featured"):
        values["featured"] = row.get("featured", _yes_no, default=False)
    return code, values


async def _write_products(
    session: AsyncSession,
    parsed: list[tuple[str, dict[str, Any]]],
    report: ImportReport,
    today: date,
) -> None:
    existing = await code_map(session, Product.code, Product.id, [code for code, _ in parsed])
    new_rows: list[dict[str, Any]] = []
    changed_rows: list[dict[str, Any]] = []
    for code, values in parsed:
        product_id = existing.get(code)
        if product_id is None:
            values.setdefault("active", True)
            values.setdefault("featured", False)
            if values.get("added_on") is None:
                values["added_on"] = today  # new to the catalogue today
            new_rows.append({"code": code, "category": None, **values})
        else:
            changed_rows.append({"id": product_id, **values})
    await insert_rows(session, Product, _uniform(new_rows))
    await _update(session, Product, changed_rows)
    await _link_lines(session, parsed)
    report.created += len(new_rows)
    report.updated += len(changed_rows)


async def _link_lines(session: AsyncSession, parsed: list[tuple[str, dict[str, Any]]]) -> None:
    """Order lines that named a product (by code or name) before it was in the catalogue
    now point to it."""
    ids = await code_map(session, Product.code, Product.id, [code for code, _ in parsed])
    spellings: dict[str, int] = {}
    for code, values in parsed:
        spellings[code] = ids[code]
        spellings.setdefault(values["name"], ids[code])
    changes: list[dict[str, Any]] = []
    for chunk in _chunks(list(spellings)):
        result = await session.execute(
            select(OrderLine.id, OrderLine.product_name).where(
                OrderLine.product_id.is_(None), OrderLine.product_name.in_(chunk)
            )
        )
        changes += [{"id": id_, "product_id": spellings[name]} for id_, name in result]
    await _update(session, OrderLine, changes)


async def import_products(
    db: Database,
    path: Path | str,
    *,
    today: date,
    limits: ImportLimits | None = None,
) -> ImportReport:
    """Create or update products (the catalogue) from a file; all rows or none. A new
    product without ``added_on`` was added ``today``."""
    table = read_table(path, limits)
    keys, errors = check_headers(table, PRODUCT_COLUMNS)
    if errors:
        return ImportReport(errors=errors)
    report = ImportReport()
    seen: dict[str, int] = {}
    async with db.uow() as uow:
        for rows in _slices(iter_rows(table, keys)):
            parsed = _check_rows(rows, seen, report, _product_values)
            if report.errors:
                continue
            await _write_products(uow.session, parsed, report, today)
        if report.errors:
            return _failed(report)
        await uow.commit()
    return report


# --- records from the HTTP API -------------------------------------------------------------
#
# A system pushes JSON objects whose fields are named as a file's columns. Each object
# becomes a ``Row`` (numbered by its index in the request, from 0) and goes through the
# same checks and the same writing as a file's row, with the same messages; each problem
# names its field. All items or none: the caller commits only a report without errors.

CUSTOMER_REQUIRED = ("code", "kind", "name", "phone")
ORDER_REQUIRED = ("code", "customer_code", "kind", "status", "placed_at")
PRODUCT_REQUIRED = ("code", "name", "price")


def record_rows(
    records: Sequence[Any],
    columns: Columns,
    required: Sequence[str],
    *,
    nested: Sequence[str] = (),
    limits: ImportLimits | None = None,
) -> list[Row | RowError]:
    """API items as rows: unknown fields, missing required fields, values that are not
    text, numbers or booleans, and texts over the cell limit are problems of the item."""
    limits = limits or ImportLimits()
    known = set(columns.known)
    nested_keys = set(nested)
    longest = limits.max_cell
    rows: list[Row | RowError] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            rows.append(RowError(index, "is not an object", "item"))
            continue
        cells: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        for key, value in record.items():
            if key in nested_keys:
                cells[key] = value
            elif key not in known:
                problems.append((str(key), f"unknown field '{key}'"))
            elif isinstance(value, dict | list):
                problems.append((key, f"{key} is not a text or a number"))
            elif isinstance(value, str) and len(value) > longest:
                problems.append(
                    (
                        key,
                        f"{key} has {len(value):,} characters; a value holds at most "
                        f"{longest:,} (CAREBOT_IMPORT_MAX_CELL)",
                    )
                )
            else:
                cells[key] = value
        row = Row(index, cells, "item")
        for key, problem in problems:
            row.problem(key, problem)
            if key in known:
                row.cells[key] = None
        for key in required:  # the checks of a file's cells say "KEY is empty"
            row.cells.setdefault(key, None)
        rows.append(row)
    return rows


async def upsert_customer_records(
    session: AsyncSession, records: Sequence[Any], *, limits: ImportLimits | None = None
) -> ImportReport:
    """Create or update customers from API items in the caller's transaction; the caller
    commits when the report has no errors (nothing was written otherwise)."""
    rows = record_rows(records, CUSTOMER_COLUMNS, CUSTOMER_REQUIRED, limits=limits)
    report = ImportReport()
    parsed = _check_rows(rows, {}, report, _customer_values)
    if report.errors:
        return _failed(report)
    await _write_customers(session, parsed, report)
    return report


@dataclass(frozen=True)
class WrittenOrder:
    """An order an API request wrote: what the care programme needs to know of it."""

    code: str
    kind: str
    status: str
    existed: bool  # updated, not created


async def upsert_order_records(
    session: AsyncSession,
    records: Sequence[Any],
    *,
    timezone: str,
    limits: ImportLimits | None = None,
) -> tuple[ImportReport, list[WrittenOrder]]:
    """Create or update orders and inquiries from API items in the caller's transaction;
    also what was written. Nothing is written when the report has errors."""
    rows = record_rows(records, ORDER_COLUMNS, ORDER_REQUIRED, nested=("lines",), limits=limits)
    codes = {_cell(row.cells.get("customer_code")) for row in rows if isinstance(row, Row)}
    customers = await code_map(session, Customer.code, Customer.id, sorted(codes))
    report = ImportReport()
    parsed = _check_orders(rows, customers, _moment(ZoneInfo(timezone)), {}, report)
    if report.errors:
        return _failed(report), []
    existing = await _write_orders(session, parsed, report)
    return report, [
        WrittenOrder(o.code, o.values["kind"], o.values["status"], o.code in existing)
        for o in parsed
    ]


async def upsert_product_records(
    session: AsyncSession,
    records: Sequence[Any],
    *,
    today: date,
    limits: ImportLimits | None = None,
) -> ImportReport:
    """Create or update products from API items in the caller's transaction."""
    rows = record_rows(records, PRODUCT_COLUMNS, PRODUCT_REQUIRED, limits=limits)
    report = ImportReport()
    parsed = _check_rows(rows, {}, report, _product_values)
    if report.errors:
        return _failed(report)
    await _write_products(session, parsed, report, today)
    return report
