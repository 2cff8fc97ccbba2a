"""The management report: who the customers are, what they are worth, how they feel.

``Reports.data`` gathers the figures (mostly aggregated in SQL), ``charts_svg`` and
``charts_png`` draw them with matplotlib, ``Reports.html`` puts everything into one
self-contained HTML file: the charts are inline SVG (text drawn as paths, so no font or
network is needed to open it) and the styles are in the page.

Sections: tier and segment sizes (also within individuals and organizations), revenue
share by tier and the Pareto curve of lifetime value, the LTV distribution, complaints
per month and category, survey scores (CSAT, SERVQUAL, NPS), the Vulnerability Index of
each competitor campaign, and unmet demand: inquiries that did not become orders, people
who asked but never bought (to follow up), and questions the FAQ could not answer.

Segments and tiers are those of the latest ``carebot segment`` run (the report says which
day); everything dated is cut at the report's as-of day.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, cast
from zoneinfo import ZoneInfo

import numpy as np
from markupsafe import Markup
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from care.analytics.loyalty import Loyalty, Vulnerability
from care.analytics.segmentation import KINDS, SEGMENTS, Segmentation
from care.core.db import Database
from care.core.models import COUNTED_ORDERS, Complaint, Survey, UTCDateTime
from care.core.rendering import Renderer
from care.core.settings import Settings
from care.core.text import format_datetime, format_vnd, utcnow
from care.tickets import CATEGORY_ORDER, DIMENSIONS, SurveySummary, summarise_surveys

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

CHARTS = (
    "tiers",
    "segments",
    "revenue_by_tier",
    "pareto",
    "ltv",
    "complaints",
    "surveys",
    "vulnerability",
    "inquiries",
)
INQUIRY_STATUSES = ("open", "quoted", "converted", "lost")
PARETO_POINTS = 100
LTV_BINS = 24
PROSPECTS_SHOWN = 20
QUESTIONS_SHOWN = 10
COLOURS = ("#1f6f8b", "#e8a33d", "#99a8b2", "#6c4f70", "#3f8f5f", "#c8553d", "#8d99ae", "#2b2d42")
STYLE: dict[RcKeyType, object] = {
    "font.family": "DejaVu Sans",  # ships with matplotlib, covers Vietnamese
    "font.size": 9,
    "svg.fonttype": "path",
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@dataclass(frozen=True)
class Prospect:
    code: str
    name: str
    phone: str | None
    inquiries: int
    value: int
    last_at: datetime


@dataclass(frozen=True)
class UnmetDemand:
    inquiries_by_status: dict[str, int]
    unconverted: int
    unconverted_value: int
    prospects_total: int
    prospects: list[Prospect]
    unanswered_total: int
    unanswered_top: list[tuple[str, int]]


@dataclass
class ReportData:
    """Every figure of the report, language-neutral."""

    as_of: date
    generated_at: datetime
    segmentation_as_of: date | None
    customers: int
    buyers: int
    tier_names: list[str]
    tier_cutoffs: list[float]
    tiers: dict[str, int]
    segments: dict[str, int]
    segments_by_kind: dict[str, dict[str, int]]
    revenue_by_tier: dict[str, int]
    ltv_by_tier: dict[str, int]
    pareto: list[tuple[float, float]]  # (share of customers, cumulative share of LTV)
    ltv_histogram: list[tuple[int, int, int]]  # (from, to, customers)
    complaints_by_month: dict[date, dict[str, int]]
    surveys: SurveySummary
    vulnerabilities: list[Vulnerability]
    unmet: UnmetDemand
    extra: dict[str, object] = field(default_factory=dict)


class Reports:
    """Builds the report's figures, charts and HTML page."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        renderer: Renderer,
        segmentation: Segmentation,
        loyalty: Loyalty,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.renderer = renderer
        self.segmentation = segmentation
        self.loyalty = loyalty
        self.clock = clock
        self._drawing = asyncio.Lock()  # matplotlib's style is process-wide: one at a time

    async def data(self, as_of: date | None = None) -> ReportData:
        """Gather the figures; ``as_of`` cuts complaints, surveys and inquiries at that day."""
        zone = ZoneInfo(self.settings.timezone)
        now = self.clock()
        day = as_of or now.astimezone(zone).date()
        cutoff = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        first_month = _month_start(day, back=11)
        since = datetime.combine(first_month, time(0), tzinfo=zone).astimezone(UTC)
        counts = await self.segmentation.counts()
        async with self.db.uow() as uow:
            s = uow.session
            seg_as_of = (await s.execute(text("SELECT MAX(as_of) FROM customer_metrics"))).scalar()
            by_tier = (
                await s.execute(
                    text(
                        "SELECT tier, SUM(monetary), SUM(historical_ltv) FROM customer_metrics"
                        " GROUP BY tier"
                    )
                )
            ).all()
            pareto = await _pareto(s)
            histogram = await _ltv_histogram(s)
            complaints = (
                await s.execute(
                    select(Complaint.category, Complaint.created_at).where(
                        Complaint.created_at >= since, Complaint.created_at < cutoff
                    )
                )
            ).all()
            surveys = list(
                await s.scalars(
                    select(Survey).where(
                        Survey.answered_at.is_not(None), Survey.answered_at < cutoff
                    )
                )
            )
            summary = summarise_surveys(surveys)
            unmet = await _unmet(s, cutoff)
        if isinstance(seg_as_of, str):  # SQLite hands back the text of a raw DATE column
            seg_as_of = date.fromisoformat(seg_as_of)
        return ReportData(
            as_of=day,
            generated_at=now,
            segmentation_as_of=seg_as_of,
            customers=counts["customers"],
            buyers=counts["buyers"],
            tier_names=list(self.settings.tier_names),
            tier_cutoffs=list(self.settings.tier_cutoffs),
            tiers=counts["tiers"],
            segments=counts["segments"],
            segments_by_kind=await self.segmentation.kind_segment_counts(),
            revenue_by_tier={t: int(rev or 0) for t, rev, _ in by_tier if t},
            ltv_by_tier={t: int(v or 0) for t, _, v in by_tier if t},
            pareto=pareto,
            ltv_histogram=histogram,
            complaints_by_month=_by_month(complaints, zone, first_month, day),
            surveys=summary,
            vulnerabilities=await self.loyalty.vulnerabilities(today=day),
            unmet=unmet,
        )

    def labels(self, language: str | None = None) -> Callable[..., str]:
        """A lookup of the report's words in one language."""
        lang = self.renderer.language(language)

        def label(key: str, **context: object) -> str:
            return self.renderer.label_or(lang, key, key.rsplit(".", 1)[-1], **context)

        return label

    async def html(self, as_of: date | None = None, language: str | None = None) -> str:
        """The whole report as one self-contained HTML page."""
        data = await self.data(as_of)
        label = self.labels(language)
        async with self._drawing:  # in a worker thread, as for ``pngs``
            drawn = await asyncio.to_thread(charts_svg, data, label)
        charts = {name: Markup(svg) for name, svg in drawn.items()}  # noqa: S704 - SVG drawn by matplotlib, its text as paths
        template = self.renderer.env.get_template("report/report.html")
        lang = self.renderer.language(language)
        return template.render(
            lang=lang,
            d=data,
            charts=charts,
            t=label,
            generated=format_datetime(data.generated_at, self.settings.timezone),
            vnd=format_vnd,
            complaints_total=sum(sum(c.values()) for c in data.complaints_by_month.values()),
        )

    async def pngs(
        self, as_of: date | None = None, language: str | None = None
    ) -> dict[str, bytes]:
        """The same charts as PNG images, for the staff chat.

        Drawn in a worker thread: a second or two of matplotlib must not stall the bot's
        conversations with customers meanwhile.
        """
        data = await self.data(as_of)
        async with self._drawing:
            return await asyncio.to_thread(charts_png, data, self.labels(language))


# --------------------------------------------------------------------------- queries


def _month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


async def _pareto(s: AsyncSession) -> list[tuple[float, float]]:
    """Cumulative share of positive LTV by share of customers, in PARETO_POINTS steps."""
    rows = (
        await s.execute(
            text(
                f"""SELECT bucket, COUNT(*), SUM(v) FROM (
                        SELECT CASE WHEN historical_ltv > 0 THEN historical_ltv ELSE 0 END AS v,
                               NTILE({PARETO_POINTS}) OVER (
                                   ORDER BY historical_ltv DESC, customer_id) AS bucket
                        FROM customer_metrics) t
                    GROUP BY bucket ORDER BY bucket"""  # noqa: S608 - names and numbers from code, values bound
            )
        )
    ).all()
    customers = sum(int(n) for _, n, _ in rows)
    value = sum(int(v or 0) for _, _, v in rows)
    if not customers or value <= 0:
        return []
    points, seen, total = [(0.0, 0.0)], 0, 0
    for _, n, v in rows:
        seen += int(n)
        total += int(v or 0)
        points.append((seen / customers, total / value))
    return points


async def _ltv_histogram(s: AsyncSession) -> list[tuple[int, int, int]]:
    """Customers per LTV bin, bins evenly spaced on a log scale between min and max."""
    low, high = (
        await s.execute(
            text(
                "SELECT MIN(historical_ltv), MAX(historical_ltv) FROM customer_metrics"
                " WHERE historical_ltv > 0"
            )
        )
    ).one()
    if low is None:
        return []
    low, high = int(low), int(high)
    if low == high:
        return [
            (
                low,
                high,
                int(
                    (
                        await s.execute(
                            text("SELECT COUNT(*) FROM customer_metrics WHERE historical_ltv > 0")
                        )
                    ).scalar_one()
                ),
            )
        ]
    edges = np.unique(np.round(np.geomspace(low, high + 1, LTV_BINS + 1)).astype(np.int64))
    arms = " ".join(
        f"WHEN historical_ltv < {int(edge)} THEN {i}" for i, edge in enumerate(edges[1:])
    )
    rows: dict[int, int] = dict(
        (
            await s.execute(
                text(
                    f"SELECT CASE {arms} ELSE {len(edges) - 2} END AS bin, COUNT(*)"  # noqa: S608 - names and numbers from code, values bound
                    " FROM customer_metrics WHERE historical_ltv > 0 GROUP BY bin"
                )
            )
        ).all()
    )
    return [(int(edges[i]), int(edges[i + 1]), int(rows.get(i, 0))) for i in range(len(edges) - 1)]


def _by_month(
    rows: Sequence[tuple[str, datetime]], zone: ZoneInfo, first: date, last_day: date
) -> dict[date, dict[str, int]]:
    months: dict[date, dict[str, int]] = {}
    month = first
    while month <= last_day:
        months[month] = dict.fromkeys(CATEGORY_ORDER, 0)
        month = _month_start(month, back=-1)
    for category, created in rows:
        local = created.astimezone(zone)
        key = date(local.year, local.month, 1)
        if key in months:
            bucket = months[key]
            bucket[category] = bucket.get(category, 0) + 1
    return months


async def _unmet(s: AsyncSession, cutoff: datetime) -> UnmetDemand:
    bound = [bindparam("cutoff", type_=UTCDateTime())]
    by_status: dict[str, int] = dict(
        (
            await s.execute(
                text(
                    "SELECT status, COUNT(*) FROM orders WHERE kind = 'inquiry'"
                    " AND placed_at < :cutoff GROUP BY status"
                ).bindparams(*bound),
                {"cutoff": cutoff},
            )
        ).all()
    )
    unconverted, value = (
        await s.execute(
            text(
                "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM orders WHERE kind = 'inquiry'"
                " AND status <> 'converted' AND placed_at < :cutoff"
            ).bindparams(*bound),
            {"cutoff": cutoff},
        )
    ).one()
    counted = COUNTED_ORDERS.replace("kind", "x.kind").replace("status", "x.status")
    prospects_sql = f"""
        FROM customers c JOIN orders o ON o.customer_id = c.id
        WHERE c.erased_at IS NULL AND o.kind = 'inquiry' AND o.placed_at < :cutoff
          AND NOT EXISTS (
              SELECT 1 FROM orders x
              WHERE x.customer_id = c.id AND {counted} AND x.placed_at < :cutoff)
    """  # noqa: S608 - names and numbers from code, values bound
    prospects_total = (
        await s.execute(
            text(f"SELECT COUNT(DISTINCT c.id) {prospects_sql}").bindparams(*bound),
            {"cutoff": cutoff},
        )
    ).scalar_one()
    prospect_rows = (
        await s.execute(
            text(
                f"SELECT c.code, c.name, c.phone, COUNT(*), COALESCE(SUM(o.amount), 0),"
                f" MAX(o.placed_at) AS last_at {prospects_sql}"
                f" GROUP BY c.id, c.code, c.name, c.phone"
                f" ORDER BY last_at DESC, c.code LIMIT {PROSPECTS_SHOWN}"
            ).bindparams(*bound),
            {"cutoff": cutoff},
        )
    ).all()
    unanswered_where = "answered_by_entry_id IS NULL AND created_at < :cutoff"
    unanswered_total = (
        await s.execute(
            text(f"SELECT COUNT(*) FROM unanswered_questions WHERE {unanswered_where}").bindparams(  # noqa: S608 - names and numbers from code, values bound
                *bound
            ),
            {"cutoff": cutoff},
        )
    ).scalar_one()
    top = (
        await s.execute(
            text(
                f"SELECT MIN(text), COUNT(*) AS n FROM unanswered_questions"  # noqa: S608 - names and numbers from code, values bound
                f" WHERE {unanswered_where} GROUP BY folded"
                f" ORDER BY n DESC, MIN(text) LIMIT {QUESTIONS_SHOWN}"
            ).bindparams(*bound),
            {"cutoff": cutoff},
        )
    ).all()
    return UnmetDemand(
        inquiries_by_status={k: int(by_status.get(k, 0)) for k in INQUIRY_STATUSES},
        unconverted=int(unconverted),
        unconverted_value=int(value),
        prospects_total=int(prospects_total),
        prospects=[
            Prospect(code, name, phone, int(n), int(v), _as_datetime(last))
            for code, name, phone, n, v, last in prospect_rows
        ],
        unanswered_total=int(unanswered_total),
        unanswered_top=[(question, int(n)) for question, n in top],
    )


def _as_datetime(value: object) -> datetime:
    """An aggregate of a time column comes back untyped from SQLite (text, naive UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


# --------------------------------------------------------------------------- charts


Label = Callable[..., str]


def _figure(width: float = 7.5, height: float = 3.4) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)  # the Agg canvas: no GUI, no pyplot state, thread-safe
    return figure


def _no_data(ax: Axes, label: Label) -> None:
    figure = cast(Figure, ax.figure)  # every chart's axes sit on a Figure, not a SubFigure
    width, _ = figure.get_size_inches()
    figure.set_size_inches(width, 1.6)
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        label("report.no_data"),
        ha="center",
        va="center",
        fontsize=12,
        color="#777777",
        transform=ax.transAxes,
    )


def _plain(text_: str) -> str:
    """Staff-typed text drawn literally (matplotlib reads $...$ as mathematics)."""
    return text_.replace("$", r"\$")


def _tier_label(label: Label, tier: str) -> str:
    text_ = label(f"segmentation.tier.{tier}")
    return text_ if text_ != tier else tier.capitalize()


def chart_tiers(d: ReportData, label: Label) -> Figure:
    fig = _figure(9.0, 3.2)
    ax = fig.subplots()
    counts = [d.tiers.get(t, 0) for t in d.tier_names]
    if not any(counts):
        _no_data(ax, label)
        return fig
    bars = ax.bar([_tier_label(label, t) for t in d.tier_names], counts, color=COLOURS)
    ax.bar_label(bars, labels=[f"{c:,}".replace(",", ".") for c in counts], padding=2)
    ax.set_ylabel(label("report.axis.customers"))
    return fig


def chart_segments(d: ReportData, label: Label) -> Figure:
    fig = _figure(10.0, 4.4)
    ax = fig.subplots()
    if not any(d.segments.values()):
        _no_data(ax, label)
        return fig
    names = [label(f"segmentation.segment.{s}") for s in SEGMENTS]
    y = np.arange(len(SEGMENTS))
    series = [(label("report.legend.together"), d.segments)]
    series += [(label(f"segmentation.kind.{k}"), d.segments_by_kind.get(k, {})) for k in KINDS]
    height = 0.8 / len(series)
    for i, (name, values) in enumerate(series):
        ax.barh(
            y + i * height,
            [values.get(s, 0) for s in SEGMENTS],
            height=height,
            label=name,
            color=COLOURS[i],
        )
    ax.set_yticks(y + height * (len(series) - 1) / 2, names)
    ax.invert_yaxis()
    ax.set_xlabel(label("report.axis.customers"))
    ax.legend(frameon=False, fontsize=8)
    return fig


def chart_revenue_by_tier(d: ReportData, label: Label) -> Figure:
    fig = _figure(9.0, 3.4)
    ax = fig.subplots()
    customers = np.array([d.tiers.get(t, 0) for t in d.tier_names], dtype=float)
    revenue = np.array([d.revenue_by_tier.get(t, 0) for t in d.tier_names], dtype=float)
    if customers.sum() == 0 or revenue.sum() <= 0:
        _no_data(ax, label)
        return fig
    x = np.arange(len(d.tier_names))
    ax.bar(
        x - 0.2,
        100 * customers / customers.sum(),
        0.4,
        label=label("report.legend.customers"),
        color=COLOURS[2],
    )
    bars = ax.bar(
        x + 0.2,
        100 * revenue / revenue.sum(),
        0.4,
        label=label("report.legend.revenue"),
        color=COLOURS[0],
    )
    ax.bar_label(bars, fmt="%.0f%%", padding=2, fontsize=8)
    ax.set_xticks(x, [_tier_label(label, t) for t in d.tier_names])
    ax.set_ylabel(label("report.axis.share"))
    ax.legend(frameon=False)
    return fig


def chart_pareto(d: ReportData, label: Label) -> Figure:
    fig = _figure(9.0, 3.8)
    ax = fig.subplots()
    if not d.pareto:
        _no_data(ax, label)
        return fig
    xs, ys = zip(*d.pareto, strict=True)
    ax.plot([100 * x for x in xs], [100 * y for y in ys], color=COLOURS[0], linewidth=2)
    ax.plot([0, 100], [0, 100], color="#bbbbbb", linestyle=":", linewidth=1)
    for i, cut in enumerate(d.tier_cutoffs):
        ax.axhline(
            100 * cut,
            color=COLOURS[1],
            linestyle="--",
            linewidth=0.8,
            label=label("report.legend.cutoff") if i == 0 else None,
        )
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 101)
    ax.set_xlabel(label("report.axis.customer_share"))
    ax.set_ylabel(label("report.axis.value_share"))
    ax.legend(frameon=False, loc="lower right")
    return fig


def chart_ltv(d: ReportData, label: Label) -> Figure:
    fig = _figure(9.0, 3.4)
    ax = fig.subplots()
    if not d.ltv_histogram:
        _no_data(ax, label)
        return fig
    lefts = [lo for lo, _, _ in d.ltv_histogram]
    widths = [max(hi - lo, 1) for lo, hi, _ in d.ltv_histogram]
    ax.bar(
        lefts,
        [n for _, _, n in d.ltv_histogram],
        width=widths,
        align="edge",
        color=COLOURS[0],
        edgecolor="white",
        linewidth=0.5,
    )
    ax.set_xscale("log")
    ax.set_xlabel(label("report.axis.ltv"))
    ax.set_ylabel(label("report.axis.customers"))
    return fig


def chart_complaints(d: ReportData, label: Label) -> Figure:
    fig = _figure(10.0, 3.8)
    ax = fig.subplots()
    months = list(d.complaints_by_month)
    categories = list(dict.fromkeys(c for counts in d.complaints_by_month.values() for c in counts))
    if not months or not any(sum(c.values()) for c in d.complaints_by_month.values()):
        _no_data(ax, label)
        return fig
    x = np.arange(len(months))
    bottom = np.zeros(len(months))
    for i, category in enumerate(categories):
        values = np.array([d.complaints_by_month[m].get(category, 0) for m in months])
        if not values.any():
            continue
        ax.bar(
            x,
            values,
            bottom=bottom,
            label=label(f"report.category.{category}"),
            color=COLOURS[i % len(COLOURS)],
        )
        bottom += values
    ax.set_xticks(x, [f"{m:%m/%Y}" for m in months], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(label("report.axis.complaints"))
    ax.legend(frameon=False, fontsize=8, ncols=2)
    return fig


def chart_surveys(d: ReportData, label: Label) -> Figure:
    fig = _figure(10.0, 3.4)
    s = d.surveys
    if not s.responses and not s.nps_responses:
        _no_data(fig.subplots(), label)
        return fig
    left, right = fig.subplots(1, 2, width_ratios=[3, 1])
    names = [label("report.csat")] + [label(f"report.dimension.{k}") for k in DIMENSIONS]
    values = [s.csat_mean] + [s.dimensions.get(k) for k in DIMENSIONS]
    y = np.arange(len(names))
    bars = left.barh(y, [v or 0 for v in values], color=[COLOURS[1]] + [COLOURS[0]] * 5)
    left.bar_label(bars, labels=["" if v is None else f"{v:.2f}" for v in values], padding=2)
    left.set_yticks(y, names)
    left.invert_yaxis()
    left.set_xlim(0, 5.4)
    left.set_xlabel(label("report.axis.score"))
    nps = s.nps or 0.0
    right.bar([label("report.nps")], [nps], color=COLOURS[4] if nps >= 0 else COLOURS[5])
    right.axhline(0, color="#555555", linewidth=0.8)
    right.set_ylim(-100, 100)
    right.set_ylabel(label("report.axis.nps"))
    if s.nps is not None:
        right.text(0, nps + (5 if nps >= 0 else -12), f"{s.nps:.0f}", ha="center")
    return fig


def chart_vulnerability(d: ReportData, label: Label) -> Figure:
    fig = _figure(9.0, 3.2)
    ax = fig.subplots()
    shown = [(v.campaign, v.index) for v in d.vulnerabilities if v.index is not None]
    if not shown:
        _no_data(ax, label)
        return fig
    names = [f"{_plain(c.competitor)}\n{_plain(c.region)}" for c, _ in shown]
    indexes = [index for _, index in shown]
    bars = ax.bar(names, indexes, color=COLOURS[5])
    ax.bar_label(bars, labels=[f"{index:.1f}%" for index in indexes], padding=2)
    ax.set_ylim(0, max(100.0, max(indexes) * 1.1))
    ax.set_ylabel(label("report.axis.vi"))
    return fig


def chart_inquiries(d: ReportData, label: Label) -> Figure:
    fig = _figure(9.0, 3.0)
    ax = fig.subplots()
    counts = [d.unmet.inquiries_by_status.get(k, 0) for k in INQUIRY_STATUSES]
    if not any(counts):
        _no_data(ax, label)
        return fig
    colours = [COLOURS[1], COLOURS[1], COLOURS[4], COLOURS[5]]
    bars = ax.bar([label(f"report.inquiry.{k}") for k in INQUIRY_STATUSES], counts, color=colours)
    ax.bar_label(bars, padding=2)
    ax.set_ylabel(label("report.axis.inquiries"))
    return fig


_DRAW: dict[str, Callable[[ReportData, Label], Figure]] = {
    "tiers": chart_tiers,
    "segments": chart_segments,
    "revenue_by_tier": chart_revenue_by_tier,
    "pareto": chart_pareto,
    "ltv": chart_ltv,
    "complaints": chart_complaints,
    "surveys": chart_surveys,
    "vulnerability": chart_vulnerability,
    "inquiries": chart_inquiries,
}


def _draw(name: str, d: ReportData, label: Label) -> Figure:
    figure = _DRAW[name](d, label)
    figure.suptitle(label(f"report.chart.{name}"), fontsize=11, fontweight="bold")
    return figure


def charts_svg(d: ReportData, label: Label) -> dict[str, str]:
    """Each chart as an inline ``<svg>`` element (no XML prolog, text as paths)."""
    out: dict[str, str] = {}
    for name in CHARTS:
        # A fixed salt per chart keeps element ids stable and distinct between charts.
        with rc_context({**STYLE, "svg.hashsalt": f"carebot-{name}"}):
            buffer = io.StringIO()
            _draw(name, d, label).savefig(buffer, format="svg")
        svg = buffer.getvalue()
        out[name] = svg[svg.index("<svg") :]
    return out


def charts_png(d: ReportData, label: Label, dpi: int = 150) -> dict[str, bytes]:
    """Each chart as PNG bytes (Agg), for sending as photos."""
    out: dict[str, bytes] = {}
    for name in CHARTS:
        with rc_context(STYLE):
            buffer = io.BytesIO()
            _draw(name, d, label).savefig(buffer, format="png", dpi=dpi)
        out[name] = buffer.getvalue()
    return out
