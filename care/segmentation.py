"""Segmentation: RFM scores and segments, value tiers by the 80/20 rule, and their changes.

RFM, per customer, from counted orders (``kind = 'order'``, not cancelled or returned)
placed up to the end of the as-of day:

- recency: days from the local day of the last purchase to the as-of day;
- frequency: number of orders;
- monetary: total order amount in VND.

Each is scored 1..5 by quintile over the customers who bought at least once (``NTILE(5)``
in SQL): R 5 = most recent, F 5 = most orders, M 5 = most spent. Ties inside a quintile
boundary are broken by the next measure (recency by frequency, frequency by amount,
amount by frequency) and then by customer id, so a run is reproducible.

Segments are named from the R and F scores; the first rule that matches wins:

============  ==========  ==========  ==================================================
segment       R score     F score     meaning
============  ==========  ==========  ==================================================
champions     4-5         4-5         bought recently and often
loyal         3-5         3-5         buy regularly (the rest of R >= 3 and F >= 3)
new           4-5         1           first purchase(s) recently
potential     3-5         1-2         recent, not yet frequent (the rest of R >= 3)
cant_lose     1-2         5           were among the most frequent, gone quiet
at_risk       1-2         3-4         used to buy regularly, not lately
hibernating   2           1-2         few purchases, long ago
lost          1           1-2         few purchases, longest ago
============  ==========  ==========  ==================================================

Customers who never bought have no scores and no segment.

Tiers follow the 80/20 rule on historical LTV (contribution margin, discounted: see
care.ltv), because tiers decide where human time and gifts go and margin, not revenue, is
what pays for them. Customers are ranked by LTV, highest first; those who together make the
first ``tier_cutoffs[0]`` (80%) of the total positive LTV are ``tier_names[0]``; the
next cut-offs give the following tiers; everyone else, including customers with no
positive LTV, is the base tier (the last name). Precisely: a customer is in the first
tier whose cut-off is above the share of value of the customers ranked before them.

The segment shown everywhere (``CustomerMetrics.segment``) is scored over all customers
together. Segments within individuals and within organizations are computed on demand
(``Segmentation.kind_segment_counts`` and the export), not stored: they change with every
run and nothing else reads them.

A full run (``recompute``) is set-based: one aggregation of the orders per customer in
SQL, the CLV models fitted and evaluated with numpy on arrays fetched in one query,
scores, segments and tiers in SQL window functions, and customer_metrics rewritten in
bulk. Tier and segment changes against the previous run are recorded in
``classification_changes`` (a customer's first classification is not a change).

``reclassify_customer`` re-scores one customer after a new order against the quintile
boundaries and value cut-offs of the last full run, read back from customer_metrics (the
lowest and highest value in each score, the lowest LTV in each tier), so nothing needs a
table of its own.
"""

from __future__ import annotations

import re
import time as timer
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import Date, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from care import ltv
from care.db import Database
from care.models import ClassificationChange, CustomerMetrics, UTCDateTime
from care.settings import Settings
from care.text import utcnow

Progress = Callable[[str, int, int], None]
"""Called as ``progress(step, done, total)`` while a run advances."""

STEPS = (
    "aggregating orders",
    "fitting BG/NBD and Gamma-Gamma",
    "predicting CLV",
    "scoring RFM and tiers",
    "recording changes",
    "counting",
    "writing customer metrics",
)


@dataclass(frozen=True)
class SegmentRule:
    name: str
    r: tuple[int, int]
    f: tuple[int, int]

    def matches(self, r: int, f: int) -> bool:
        return self.r[0] <= r <= self.r[1] and self.f[0] <= f <= self.f[1]


SEGMENT_RULES: tuple[SegmentRule, ...] = (
    SegmentRule("champions", (4, 5), (4, 5)),
    SegmentRule("loyal", (3, 5), (3, 5)),
    SegmentRule("new", (4, 5), (1, 1)),
    SegmentRule("potential", (3, 5), (1, 2)),
    SegmentRule("cant_lose", (1, 2), (5, 5)),
    SegmentRule("at_risk", (1, 2), (3, 4)),
    SegmentRule("hibernating", (2, 2), (1, 2)),
    SegmentRule("lost", (1, 1), (1, 2)),
)
SEGMENTS: tuple[str, ...] = tuple(rule.name for rule in SEGMENT_RULES)
KINDS = ("individual", "organization")
# Up to this many changed customers are re-scored one by one; more get a full run.
RECLASSIFY_ONE_BY_ONE = 200
EXPORT_COLUMNS = (
    "code", "kind", "name", "region", "recency_days", "frequency", "monetary", "r_score",
    "f_score", "m_score", "segment", "segment_in_kind", "tier", "historical_ltv",
    "expected_purchases_12m", "clv_12m",
)


def segment_for(r: int | None, f: int | None) -> str | None:
    """The segment of an R and F score (None for a customer who never bought)."""
    if r is None or f is None:
        return None
    for rule in SEGMENT_RULES:
        if rule.matches(r, f):
            return rule.name
    raise ValueError(f"scores out of range: R={r}, F={f}")


def segment_case_sql(r: str, f: str) -> str:
    """The same rules as a SQL CASE, so Python and SQL can never disagree."""
    arms = " ".join(
        f"WHEN {r} BETWEEN {rule.r[0]} AND {rule.r[1]} AND {f} BETWEEN {rule.f[0]} "
        f"AND {rule.f[1]} THEN '{rule.name}'"
        for rule in SEGMENT_RULES
    )
    return f"CASE {arms} END"


def tier_case_sql(cutoffs: Sequence[float], value: str, before: str, total: str) -> str:
    """CASE choosing the tier from the value share of the customers ranked before."""
    arms = " ".join(
        f"WHEN {before} < {float(cut)!r} * {total} THEN :tier_{i}"
        for i, cut in enumerate(cutoffs)
    )
    return f"CASE WHEN {value} <= 0 THEN :tier_{len(cutoffs)} {arms} ELSE :tier_{len(cutoffs)} END"


def check_tiers(names: Sequence[str], cutoffs: Sequence[float]) -> None:
    """Refuse a tier configuration that cannot be meant (a clear error beats odd tiers)."""
    if len(names) != len(cutoffs) + 1:
        raise ValueError("tier_names needs exactly one name more than tier_cutoffs")
    if any(not 0 < c <= 1 for c in cutoffs) or list(cutoffs) != sorted(set(cutoffs)):
        raise ValueError("tier_cutoffs must rise strictly, each between 0 and 1")


# --------------------------------------------------------------------------- results


@dataclass
class RecomputeSummary:
    """What a full run did: the basis of the CLI summary and the nightly job's log line."""

    as_of: date
    customers: int
    buyers: int
    tiers: dict[str, int]
    segments: dict[str, int]
    segments_by_kind: dict[str, dict[str, int]]
    fit: ltv.ClvFit
    tier_changes: int
    segment_changes: int
    seconds: float
    step_seconds: dict[str, float] = field(default_factory=dict)
    step_cpu_seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Classification:
    """One customer's metrics after ``reclassify_customer``."""

    customer_id: int
    recency_days: int | None
    frequency: int
    monetary: int
    r_score: int | None
    f_score: int | None
    m_score: int | None
    segment: str | None
    tier: str
    historical_ltv: int


# --------------------------------------------------------------------------- SQL


def _aggregate_sql(dialect: str, period: str, *, one_customer: bool = False) -> str:
    """Per-customer purchase summary in one pass over the orders.

    Orders are first summed per customer and local day (purchases on one day are one
    purchase for CLV), then per customer. The first day's margin comes from a window over
    the day rows, so the mean margin of repeat purchases needs no second pass.
    """
    only = "AND customer_id = :customer_id" if one_customer else ""
    return f"""
        WITH {ltv.counted_orders_sql(dialect, period, where=only)},
        d AS (
            SELECT customer_id, day, MIN(period) AS period, COUNT(*) AS n,
                   SUM(amount) AS amount, SUM(margin) AS margin,
                   FIRST_VALUE(SUM(margin)) OVER (
                       PARTITION BY customer_id ORDER BY day
                   ) AS first_margin
            FROM o
            GROUP BY customer_id, day
        )
        SELECT customer_id, SUM(n) AS frequency, SUM(amount) AS monetary,
               SUM(margin) AS margin, MIN(day) AS first_day, MAX(day) AS last_day,
               COUNT(*) AS purchase_days, MIN(period) AS first_period,
               {ltv.ltv_sum_sql("margin", "period")} AS discounted,
               MAX(first_margin) AS first_margin
        FROM d
        GROUP BY customer_id
    """


_AGG_COLUMNS = (
    "customer_id INTEGER PRIMARY KEY, frequency BIGINT, monetary BIGINT, margin BIGINT, "
    "first_day INTEGER, last_day INTEGER, purchase_days INTEGER, first_period INTEGER, "
    "discounted DOUBLE PRECISION, first_margin BIGINT"
)
_CLV_COLUMNS = (
    "customer_id INTEGER PRIMARY KEY, expected DOUBLE PRECISION, p_alive DOUBLE PRECISION, "
    "clv BIGINT"
)
_NEW_COLUMNS = (
    "customer_id INTEGER PRIMARY KEY, kind VARCHAR(20), recency_days INTEGER, frequency INTEGER, "
    "monetary BIGINT, r_score INTEGER, f_score INTEGER, m_score INTEGER, segment VARCHAR(30), "
    "tier VARCHAR(30), historical_ltv BIGINT, expected DOUBLE PRECISION, "
    "p_alive DOUBLE PRECISION, clv BIGINT"
)
_TEMP_TABLES = ("seg_agg", "seg_clv", "seg_new")
PG_WORK_MEM = "256MB"


def _score_sql(cutoffs: Sequence[float]) -> str:
    """New metrics of every customer: NTILE scores, segment, tier (all set-based)."""
    buyer = "(a.customer_id IS NOT NULL)"
    segment = segment_case_sql("r_score", "f_score")
    tier = tier_case_sql(cutoffs, "ltv", "COALESCE(value_before, 0)", "value_total")
    return f"""
        WITH base AS (
            SELECT c.id AS customer_id, c.kind, {buyer} AS buyer,
                   :as_of_day - a.last_day AS recency_days,
                   COALESCE(a.frequency, 0) AS frequency,
                   COALESCE(a.monetary, 0) AS monetary,
                   COALESCE({ltv.ltv_finish_sql("a.discounted", "a.first_period")}, 0) AS ltv,
                   v.expected, v.p_alive, v.clv
            FROM customers c
            LEFT JOIN seg_agg a ON a.customer_id = c.id
            LEFT JOIN seg_clv v ON v.customer_id = c.id
            WHERE c.erased_at IS NULL
        ),
        scored AS (
            SELECT base.*,
                CASE WHEN buyer THEN NTILE(5) OVER (
                    PARTITION BY buyer ORDER BY recency_days DESC, frequency, customer_id
                ) END AS r_score,
                CASE WHEN buyer THEN NTILE(5) OVER (
                    PARTITION BY buyer ORDER BY frequency, monetary, customer_id
                ) END AS f_score,
                CASE WHEN buyer THEN NTILE(5) OVER (
                    PARTITION BY buyer ORDER BY monetary, frequency, customer_id
                ) END AS m_score,
                SUM(CASE WHEN ltv > 0 THEN ltv ELSE 0 END) OVER (
                    ORDER BY ltv DESC, customer_id
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                ) AS value_before,
                SUM(CASE WHEN ltv > 0 THEN ltv ELSE 0 END) OVER () AS value_total
            FROM base
        )
        SELECT customer_id, kind, recency_days, frequency, monetary, r_score, f_score, m_score,
               {segment} AS segment, {tier} AS tier, ltv AS historical_ltv, expected,
               p_alive, clv
        FROM scored
    """


_CHANGES_SQL = """
    INSERT INTO classification_changes (customer_id, field, old_value, new_value, changed_at, as_of)
    SELECT n.customer_id, :field, m.{column}, n.{column}, :now, :as_of
    FROM seg_new n JOIN customer_metrics m ON m.customer_id = n.customer_id
    WHERE COALESCE(m.{column}, '') <> COALESCE(n.{column}, '')
"""

_WRITE_SQL = """
    INSERT INTO customer_metrics (
        customer_id, as_of, recency_days, frequency, monetary, r_score, f_score, m_score,
        segment, tier, historical_ltv, expected_purchases_12m, p_alive, clv_12m, computed_at
    )
    SELECT customer_id, :as_of, recency_days, frequency, monetary, r_score, f_score, m_score,
           segment, tier, historical_ltv, expected, p_alive, clv, :now
    FROM seg_new ORDER BY customer_id
"""


def kind_segments_sql(source: str | None = None) -> str:
    """RFM segments scored within each kind (individuals, organizations), on demand.

    ``source`` is a table with customer_id, kind, recency_days, frequency and monetary;
    by default the stored metrics joined to the customers.
    """
    segment = segment_case_sql("r", "f")
    source = source or (
        "(SELECT m.customer_id, c.kind, m.recency_days, m.frequency, m.monetary"
        " FROM customer_metrics m JOIN customers c ON c.id = m.customer_id)"
    )
    return f"""
        WITH k AS (
            SELECT customer_id, kind,
                NTILE(5) OVER (PARTITION BY kind
                               ORDER BY recency_days DESC, frequency, customer_id) AS r,
                NTILE(5) OVER (PARTITION BY kind
                               ORDER BY frequency, monetary, customer_id) AS f
            FROM {source} src
            WHERE frequency > 0
        )
        SELECT customer_id, kind, {segment} AS segment FROM k
    """


# --------------------------------------------------------------------------- the service


class Segmentation:
    """Full recomputation, one-customer reclassification, and the counts built on them."""

    def __init__(
        self, db: Database, settings: Settings, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        # The models of the last full run in this process, so that reclassify_customer can
        # refresh a customer's CLV between nightly runs.
        self.last_fit: ltv.ClvFit | None = None

    def frame(self, as_of: date | None = None) -> ltv.Frame:
        return ltv.frame_for(
            as_of,
            self.clock(),
            timezone=self.settings.timezone,
            period=self.settings.ltv_period,
            discount_rate=self.settings.ltv_discount_rate,
        )

    @property
    def tier_names(self) -> list[str]:
        return list(self.settings.tier_names)

    # ----------------------------------------------------------------- full run

    async def recompute(
        self, as_of: date | None = None, progress: Progress | None = None
    ) -> RecomputeSummary:
        """Recompute RFM, segments, LTV, CLV and tiers of every customer as of a day.

        ``as_of`` computes as if today were that day: later orders are ignored. Without it,
        today in the shop's time zone. The nightly job calls this without arguments.
        """
        names, cutoffs = self.tier_names, list(self.settings.tier_cutoffs)
        check_tiers(names, cutoffs)
        frame = self.frame(as_of)
        dialect = self.db.dialect
        started = timer.perf_counter()
        steps: dict[str, float] = {}
        cpu: dict[str, float] = {}
        marks = [started, timer.process_time()]

        def step_done(index: int) -> None:
            now, now_cpu = timer.perf_counter(), timer.process_time()
            steps[STEPS[index]] = now - marks[0]
            cpu[STEPS[index]] = now_cpu - marks[1]
            marks[:] = [now, now_cpu]
            if progress:
                following = STEPS[index + 1] if index + 1 < len(STEPS) else "done"
                progress(following, index + 1, len(STEPS))

        if progress:
            progress(STEPS[0], 0, len(STEPS))
        params = {
            **ltv.frame_params(frame, dialect),
            "cutoff": frame.cutoff,
            "as_of": frame.as_of,
            "now": self.clock(),
            **{f"tier_{i}": name for i, name in enumerate(names)},
        }
        async with self.db.uow() as uow:
            session = uow.session
            try:
                await _prepare(session, dialect)
                await _fill(session, dialect, "seg_agg",
                            _aggregate_sql(dialect, frame.period), params)
                step_done(0)

                agg = await _fetch_array(
                    session,
                    "SELECT customer_id, purchase_days, first_day, last_day, margin,"
                    " first_margin FROM seg_agg",
                    6,
                )
                inputs = ltv.clv_inputs(
                    agg[:, 1], agg[:, 2], agg[:, 3], agg[:, 4], agg[:, 5], frame.as_of_day
                )
                fit = ltv.fit_clv(inputs, seed=frame.as_of_day)
                step_done(1)

                prediction = ltv.predict(
                    fit,
                    inputs,
                    monthly_discount_rate=ltv.rate_per_month(
                        frame.discount_rate, frame.period
                    ),
                )
                await _bulk_insert(session, "seg_clv", _clv_rows(agg[:, 0], prediction))
                del agg, inputs, prediction
                step_done(2)

                await _fill(session, dialect, "seg_new", _score_sql(cutoffs), params)
                step_done(3)

                tier_changes = await _record_changes(session, "tier", params)
                segment_changes = await _record_changes(session, "segment", params)
                step_done(4)

                counts = await _counts(session, "seg_new", names)
                by_kind = await _kind_counts(session, "seg_new")
                step_done(5)

                await _execute(session, "DELETE FROM customer_metrics", {})
                await _execute(session, _WRITE_SQL, params)
                await uow.commit()
                step_done(6)
            finally:
                await _drop_temp(session, dialect)
        self.last_fit = fit
        return RecomputeSummary(
            as_of=frame.as_of,
            customers=counts["customers"],
            buyers=counts["buyers"],
            tiers=counts["tiers"],
            segments=counts["segments"],
            segments_by_kind=by_kind,
            fit=fit,
            tier_changes=tier_changes,
            segment_changes=segment_changes,
            seconds=timer.perf_counter() - started,
            step_seconds=steps,
            step_cpu_seconds=cpu,
        )

    # ----------------------------------------------------------------- one customer

    async def reclassify(self, customer_ids: Collection[int]) -> int:
        """Re-classify the customers whose orders changed (after an import, say).

        A few are re-scored one by one against the last run's boundaries; past
        ``RECLASSIFY_ONE_BY_ONE`` a full recomputation is cheaper and fairer. Returns how
        many customers were re-classified.
        """
        if not customer_ids:
            return 0
        if len(customer_ids) > RECLASSIFY_ONE_BY_ONE:
            return (await self.recompute()).customers
        for customer_id in customer_ids:
            await self.reclassify_customer(customer_id)
        return len(customer_ids)

    async def reclassify_customer(self, customer_id: int) -> Classification | None:
        """Re-score one customer now, against the boundaries of the last full run.

        Called when an order is placed or changes status, so tier-based service (SLA,
        offers) follows at once instead of the next night. Recency is measured today
        while the boundaries are those of the last run: close enough for one day, and the
        nightly run puts everyone on the same footing again. Before any full run there
        are no boundaries: the customer gets the base tier and no scores. Returns None for
        an unknown or erased customer.
        """
        names, cutoffs = self.tier_names, list(self.settings.tier_cutoffs)
        check_tiers(names, cutoffs)
        frame = self.frame()
        dialect = self.db.dialect
        params = {
            **ltv.frame_params(frame, dialect),
            "cutoff": frame.cutoff,
            "customer_id": customer_id,
        }
        async with self.db.uow() as uow:
            session = uow.session
            alive = await session.execute(
                text("SELECT 1 FROM customers WHERE id = :id AND erased_at IS NULL"),
                {"id": customer_id},
            )
            if alive.first() is None:
                return None
            result = await _execute(
                session, _aggregate_sql(dialect, frame.period, one_customer=True), params
            )
            row = result.mappings().first()
            bounds = await _boundaries(session)
            new = _classify_one(customer_id, row, frame, bounds, names)
            clv_values = self._clv_for(row, frame)
            old = await session.get(CustomerMetrics, customer_id)
            now = self.clock()
            if old is not None:
                for field_name, before, after in (
                    ("tier", old.tier, new.tier),
                    ("segment", old.segment, new.segment),
                ):
                    if before != after:
                        session.add(
                            ClassificationChange(
                                customer_id=customer_id, field=field_name, old_value=before,
                                new_value=after, changed_at=now, as_of=frame.as_of,
                            )
                        )
            metrics = old or CustomerMetrics(customer_id=customer_id)
            metrics.as_of = frame.as_of
            metrics.recency_days = new.recency_days
            metrics.frequency = new.frequency
            metrics.monetary = new.monetary
            metrics.r_score, metrics.f_score, metrics.m_score = (
                new.r_score, new.f_score, new.m_score,
            )
            metrics.segment = new.segment
            metrics.tier = new.tier
            metrics.historical_ltv = new.historical_ltv
            if clv_values is not None:
                (metrics.expected_purchases_12m, metrics.p_alive, metrics.clv_12m) = clv_values
            metrics.computed_at = now
            if old is None:
                session.add(metrics)
            await uow.commit()
        return new

    def _clv_for(
        self, row: Any, frame: ltv.Frame
    ) -> tuple[float | None, float | None, int | None] | None:
        """CLV of one customer with the models of the last run; None = keep what is stored."""
        if self.last_fit is None:
            return None
        if row is None:
            return (None, None, None)
        inputs = ltv.clv_inputs(
            np.array([row["purchase_days"]]), np.array([row["first_day"]]),
            np.array([row["last_day"]]), np.array([row["margin"]]),
            np.array([row["first_margin"]]), frame.as_of_day,
        )
        prediction = ltv.predict(
            self.last_fit, inputs,
            monthly_discount_rate=ltv.rate_per_month(frame.discount_rate, frame.period),
        )
        return (
            _none_if_nan(prediction.expected_purchases[0]),
            _none_if_nan(prediction.p_alive[0]),
            None if np.isnan(prediction.clv[0]) else round(float(prediction.clv[0])),
        )

    # ----------------------------------------------------------------- counts

    async def counts(self) -> dict[str, Any]:
        """Customers per tier and per segment, from the stored metrics."""
        async with self.db.uow() as uow:
            return await _counts(uow.session, "customer_metrics", self.tier_names)

    async def kind_segment_counts(self) -> dict[str, dict[str, int]]:
        """Segments scored within individuals and within organizations separately."""
        async with self.db.uow() as uow:
            return await _kind_counts(uow.session, None)

    async def customer_rows(self) -> AsyncIterator[tuple[Any, ...]]:
        """One row per customer in ``EXPORT_COLUMNS`` order, streamed (any number of rows).

        Metrics are those of the last run; ``segment_in_kind`` is the segment scored among
        customers of the same kind, computed now.
        """
        sql = f"""
            SELECT c.code, c.kind, c.name, c.region, m.recency_days, m.frequency, m.monetary,
                   m.r_score, m.f_score, m.m_score, m.segment, k.segment, m.tier,
                   m.historical_ltv, m.expected_purchases_12m, m.clv_12m
            FROM customers c
            LEFT JOIN customer_metrics m ON m.customer_id = c.id
            LEFT JOIN ({kind_segments_sql()}) k ON k.customer_id = c.id
            WHERE c.erased_at IS NULL
            ORDER BY c.code
        """
        async with self.db.uow() as uow:
            result = await uow.session.stream(text(sql))
            async for row in result:
                values = list(row)
                if values[14] is not None:
                    values[14] = round(float(values[14]), 4)
                yield tuple(values)

    async def metrics_of(self, customer_id: int) -> CustomerMetrics | None:
        async with self.db.uow() as uow:
            found = await uow.session.get(CustomerMetrics, customer_id)
            uow.session.expunge_all()  # plain values once the session closes
            return found

    async def changes(
        self, *, since: datetime | None = None, field: str | None = None,
        new_value: str | None = None, limit: int = 1000,
    ) -> list[ClassificationChange]:
        """Recorded changes, newest first: e.g. segment became at_risk since last week."""
        query = select(ClassificationChange).order_by(
            ClassificationChange.changed_at.desc(), ClassificationChange.id.desc()
        )
        if since is not None:
            query = query.where(ClassificationChange.changed_at >= since)
        if field is not None:
            query = query.where(ClassificationChange.field == field)
        if new_value is not None:
            query = query.where(ClassificationChange.new_value == new_value)
        async with self.db.uow() as uow:
            found = list((await uow.session.scalars(query.limit(limit))).all())
            uow.session.expunge_all()  # plain values once the session closes
            return found


# --------------------------------------------------------------------------- helpers


def _classify_one(
    customer_id: int, row: Any, frame: ltv.Frame, bounds: dict[str, Any], names: list[str]
) -> Classification:
    base = names[-1]
    if row is None:
        return Classification(customer_id, None, 0, 0, None, None, None, None, base, 0)
    recency = frame.as_of_day - int(row["last_day"])
    frequency, monetary = int(row["frequency"]), int(row["monetary"])
    value = frame.ltv(float(row["discounted"]), int(row["first_period"]))
    r = _score_low_is_best(recency, bounds["r"])
    f = _score_high_is_best(frequency, bounds["f"])
    m = _score_high_is_best(monetary, bounds["m"])
    tier = base
    if value > 0:
        for name in names[:-1]:
            floor = bounds["tier"].get(name)
            if floor is not None and value >= floor:
                tier = name
                break
    return Classification(
        customer_id, recency, frequency, monetary, r, f, m, segment_for(r, f), tier, value
    )


def _score_low_is_best(value: int, bounds: dict[int, tuple[int, int]]) -> int | None:
    """Recency score: the best quintile whose largest recency is not below the value."""
    if not bounds:
        return None
    for score in range(5, 0, -1):
        if score in bounds and value <= bounds[score][1]:
            return score
    return 1


def _score_high_is_best(value: int, bounds: dict[int, tuple[int, int]]) -> int | None:
    """Frequency/monetary score: the best quintile whose smallest value is reached."""
    if not bounds:
        return None
    for score in range(5, 0, -1):
        if score in bounds and value >= bounds[score][0]:
            return score
    return 1


async def _boundaries(session: AsyncSession) -> dict[str, Any]:
    """Quintile ranges and tier floors of the last full run, read from customer_metrics."""
    out: dict[str, Any] = {}
    for key, score, column in (
        ("r", "r_score", "recency_days"),
        ("f", "f_score", "frequency"),
        ("m", "m_score", "monetary"),
    ):
        rows = await session.execute(
            text(
                f"SELECT {score}, MIN({column}), MAX({column}) FROM customer_metrics"
                f" WHERE {score} IS NOT NULL GROUP BY {score}"
            )
        )
        out[key] = {int(s): (int(lo), int(hi)) for s, lo, hi in rows.all()}
    rows = await session.execute(
        text(
            "SELECT tier, MIN(historical_ltv) FROM customer_metrics"
            " WHERE historical_ltv > 0 GROUP BY tier"
        )
    )
    out["tier"] = {tier: int(lo) for tier, lo in rows.all()}
    return out


_TYPED = {"cutoff": UTCDateTime, "now": UTCDateTime, "as_of": Date}


def _names(sql: str) -> set[str]:
    return set(re.findall(r"(?<!:):(\w+)", sql))


def _bound(sql: str) -> Any:
    """text() with the types that need converting for the driver (times and dates)."""
    used = _names(sql)
    binds = [bindparam(name, type_=kind()) for name, kind in _TYPED.items() if name in used]
    statement = text(sql)
    return statement.bindparams(*binds) if binds else statement


async def _execute(session: AsyncSession, sql: str, params: dict[str, Any]) -> Any:
    used = _names(sql)
    return await session.execute(_bound(sql), {k: v for k, v in params.items() if k in used})


async def _prepare(session: AsyncSession, dialect: str) -> None:
    """Work tables for this run (temporary: private to this connection).

    On PostgreSQL seg_agg and seg_new are created by ``_fill`` instead.
    """
    await _drop_temp(session, dialect)
    if dialect == "postgresql":
        # For this transaction only: the run sorts and hashes million-row sets a few
        # times, and with the default 4 MB each of them spills to disk; JIT compilation
        # costs seconds per statement and buys nothing on these plans.
        await session.execute(text(f"SET LOCAL work_mem = '{PG_WORK_MEM}'"))
        await session.execute(text("SET LOCAL jit = off"))
        await session.execute(
            text(f"CREATE TEMPORARY TABLE seg_clv ({_CLV_COLUMNS}) ON COMMIT DROP")
        )
        return
    for table, columns in (
        ("seg_agg", _AGG_COLUMNS),
        ("seg_clv", _CLV_COLUMNS),
        ("seg_new", _NEW_COLUMNS),
    ):
        await session.execute(text(f"CREATE TEMPORARY TABLE {table} ({columns})"))
    await _ensure_sqlite_exp(session)


async def _fill(
    session: AsyncSession, dialect: str, table: str, select_sql: str, params: dict[str, Any]
) -> None:
    """Put the rows of a query into a work table.

    PostgreSQL runs the query of CREATE TABLE AS with parallel workers but never that of
    INSERT ... SELECT, which makes the aggregation of the orders two to three times
    slower; SQLite gets a table declared beforehand, whose integer primary key makes the
    later joins rowid lookups.
    """
    if dialect == "postgresql":
        sql = f"CREATE TEMPORARY TABLE {table} ON COMMIT DROP AS {select_sql}"
    else:
        sql = f"INSERT INTO {table} {select_sql}"
    await _execute(session, sql, params)


async def _drop_temp(session: AsyncSession, dialect: str) -> None:
    for table in _TEMP_TABLES:
        if dialect == "postgresql":
            # After a commit ON COMMIT DROP has removed them; after a failure the
            # transaction is aborted and the rollback removes them.
            continue
        await session.execute(text(f"DROP TABLE IF EXISTS temp.{table}"))


async def _ensure_sqlite_exp(session: AsyncSession) -> None:
    """SQLite builds without the math functions get exp() from Python."""
    try:
        await session.execute(text("SELECT exp(0)"))
    except Exception:
        import math

        raw = await (await session.connection()).get_raw_connection()
        await raw.driver_connection.create_function("exp", 1, math.exp, deterministic=True)


async def _fetch_array(session: AsyncSession, sql: str, width: int) -> np.ndarray:
    """Rows of numbers as one float array, read through the driver (no ORM rows)."""
    raw = await (await session.connection()).get_raw_connection()
    driver = raw.driver_connection
    if hasattr(driver, "fetch"):  # asyncpg
        rows = await driver.fetch(sql)
        values = [tuple(r) for r in rows]
    else:
        cursor = await driver.execute(sql)
        values = await cursor.fetchall()
        await cursor.close()
    if not values:
        return np.empty((0, width))
    return np.array(values, dtype=float)


async def _bulk_insert(session: AsyncSession, table: str, rows: list[tuple]) -> None:
    """Many rows into a work table: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    raw = await (await session.connection()).get_raw_connection()
    driver = raw.driver_connection
    if hasattr(driver, "copy_records_to_table"):
        await driver.copy_records_to_table(table, records=rows)
    else:
        marks = ", ".join("?" * len(rows[0]))
        await driver.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)


def _clv_rows(ids: np.ndarray, prediction: ltv.ClvPrediction) -> list[tuple]:
    clv = prediction.clv
    clv_int: list[int | None] = [
        None if v != v else int(v) for v in np.round(clv).tolist()
    ]
    expected = [None if v != v else v for v in prediction.expected_purchases.tolist()]
    alive = [None if v != v else v for v in prediction.p_alive.tolist()]
    return list(zip(ids.astype(np.int64).tolist(), expected, alive, clv_int, strict=True))


async def _record_changes(session: AsyncSession, column: str, params: dict[str, Any]) -> int:
    result = await _execute(
        session, _CHANGES_SQL.format(column=column), {**params, "field": column}
    )
    return max(int(result.rowcount or 0), 0)


async def _counts(session: AsyncSession, table: str, names: list[str]) -> dict[str, Any]:
    total, buyers = (
        await session.execute(
            text(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN frequency > 0 THEN 1 ELSE 0 END), 0)"
                f" FROM {table}"
            )
        )
    ).one()
    tiers = dict(
        (await session.execute(text(f"SELECT tier, COUNT(*) FROM {table} GROUP BY tier"))).all()
    )
    segments = dict(
        (
            await session.execute(
                text(
                    f"SELECT segment, COUNT(*) FROM {table} WHERE segment IS NOT NULL"
                    " GROUP BY segment"
                )
            )
        ).all()
    )
    return {
        "customers": int(total),
        "buyers": int(buyers),
        "tiers": {name: int(tiers.get(name, 0)) for name in names},
        "segments": {name: int(segments.get(name, 0)) for name in SEGMENTS},
    }


async def _kind_counts(session: AsyncSession, table: str | None) -> dict[str, dict[str, int]]:
    sql = (
        f"SELECT kind, segment, COUNT(*) FROM ({kind_segments_sql(table)}) ks"
        " GROUP BY kind, segment"
    )
    out = {kind: dict.fromkeys(SEGMENTS, 0) for kind in KINDS}
    for kind, segment, n in (await session.execute(text(sql))).all():
        out.setdefault(kind, dict.fromkeys(SEGMENTS, 0))[segment] = int(n)
    return out


def _none_if_nan(value: float) -> float | None:
    return None if value != value else float(value)
