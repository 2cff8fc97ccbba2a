"""`carebot report`: the management report as one self-contained HTML file.

``carebot report`` (or ``carebot report html``) writes the HTML report; other report kinds
join this sub-app as commands of their own (``app.command("complaints")(...)``), and a
bare ``carebot report`` keeps writing the HTML.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.common import console, fail, run
from bot.cli.complaints_report import complaints
from bot.cli.products_report import products
from bot.cli.segment import parse_day
from bot.cli.staff_report import staff

if TYPE_CHECKING:
    from care.services import Services

app = typer.Typer(
    help="Reports: the HTML management report (the default) and others.",
    invoke_without_command=True,
)

OUT = typer.Option(Path("report.html"), "--out", "-o", help="Where to write the HTML file.")
AS_OF = typer.Option(
    None, "--as-of", help="Cut complaints, surveys and inquiries at this day (dd/mm/yyyy)."
)
LANG = typer.Option(None, "--lang", help="vi or en (default: CAREBOT_DEFAULT_LANGUAGE).")


@app.callback()
def report(
    ctx: typer.Context, out: Path = OUT, as_of: str | None = AS_OF, lang: str | None = LANG
) -> None:
    """Write the HTML report unless another report kind is asked for."""
    if ctx.invoked_subcommand is None:
        write_html(out, as_of, lang)


@app.command("html")
def html(out: Path = OUT, as_of: str | None = AS_OF, lang: str | None = LANG) -> None:
    """Tiers, segments, value, complaints, satisfaction, loyalty and unmet demand."""
    write_html(out, as_of, lang)


app.command("complaints")(complaints)
app.command("products")(products)
app.command("staff")(staff)


@app.command("charts")
def charts(
    folder: Path = typer.Argument(..., help="Folder for the PNG files (created if missing)."),
    as_of: str | None = AS_OF,
    lang: str | None = LANG,
) -> None:
    """The report's charts as PNG files, one per chart."""
    day = parse_day(as_of)
    _check_lang(lang)
    folder.mkdir(parents=True, exist_ok=True)

    async def body(services: Services) -> dict[str, bytes]:
        return await services.reports.pngs(day, lang)

    pngs = run(body)
    for name, png in pngs.items():
        (folder / f"{name}.png").write_bytes(png)
    console.print(f"wrote {len(pngs)} charts to {folder}")


def write_html(out: Path, as_of: str | None, lang: str | None) -> None:
    day = parse_day(as_of)
    _check_lang(lang)
    if out.suffix.lower() not in (".html", ".htm"):
        fail("the report file must end in .html")
    if not out.parent.exists():
        fail(f"no such folder: {out.parent}")

    async def body(services: Services) -> str:
        return await services.reports.html(day, lang)

    with console.status("building the report"):
        page = run(body)
    out.write_text(page, encoding="utf-8")
    console.print(f"wrote {out} ({len(page) / 1024:,.0f} KB)")


def _check_lang(lang: str | None) -> None:
    if lang is not None and lang not in ("vi", "en"):
        fail("--lang must be vi or en")
