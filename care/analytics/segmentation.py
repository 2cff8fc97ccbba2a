"""Segmentation: RFM scores and segments, value tiers by the 80/20 rule, and their changes.

RFM, per customer, from counted orders (``kind = 'order'``, not cancelled or returned)
placed up to the end of the as-of day:

- recency: days from the local day of the last purchase to the as-of day;
- frequency: number of orders;
- monetary: total order amount in VND.

Each is scored 1..5 by quintile over the customers who bought at least once, as SQL's
``NTILE(5)`` does it (the first quintiles take the remainder): R 5 = most recent, F 5 =
most orders, M 5 = most spent. Ties inside a quintile boundary are broken by the next
measure (recency by frequency, frequency by amount, amount by frequency) and then by
customer id, so a run is reproducible.

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
care.analytics.ltv), because tiers decide where human time and gifts go and margin, not revenue, is
what pays for them. Customers are ranked by LTV, highest first; those who together make the
first ``tier_cutoffs[0]`` (80%) of the total positive LTV are ``tier_names[0]``; the
next cut-offs give the following tiers; everyone else, including customers with no
positive LTV, is the base tier (the last name). Precisely: a customer is in the first
tier whose cut-off is above the share of value of the customers ranked before them.

The segment shown everywhere (``CustomerMetrics.segment``) is scored over all customers
together. Segments within individuals and within organizations are computed on demand
(``Segmentation.kind_segment_counts`` and the export), not stored: they change with every
run and nothing else reads them.

A full run (``recompute``) runs inside the bot's process (the nightly job), so it is made
never to hold up a conversation: a worker process (care.core.workers), at a lower priority than
the bot, reads and computes; the bot's process then writes.

1. Reading, in the worker on a connection of its own (SQLite sums in the process that
   queries it), one transaction that writes nothing (one snapshot): one pass of SQL over
   the counted orders, in the order of the index on them (``ix_orders_counted``: by
   customer, then time), so the database sums each customer as it reads and never
   sorts; it yields one row of numbers per customer who bought, fetched as numpy arrays
   (binary COPY on PostgreSQL, summed into a temporary table first on SQLite). Local
   days and months come from a per-run table of days on SQLite, and from a fixed UTC
   offset on PostgreSQL wherever the zone has kept one (care.analytics.ltv). Every customer's id
   and kind is fetched, and so are the tiers and segments the previous run stored.
2. Computing, in the worker: the CLV models are fitted and evaluated on those arrays
   (care.analytics.ltv, care.analytics.clv); scores, segments, tiers, the changes against
   the previous run and the counts are computed with numpy on whole arrays (no loop over
   customers). Only the results cross back to the bot's process.
3. Writing: customer_metrics is rewritten in bulk, the changes go to
   ``classification_changes`` (a customer's first classification is not a change), and
   the run itself, with the models it fitted, to ``segmentation_runs``. On PostgreSQL
   that is one transaction (COPY); on SQLite, where a writer holds the whole database,
   it is a short transaction per slice of customers, so that the bot's own writes (every
   message it receives is logged) never wait long (see ``Segmentation._write``).

``reclassify_customer`` re-scores one customer after a new order against the quintile
boundaries and value cut-offs of the last full run, read back from customer_metrics (the
lowest and highest value in each score, the lowest LTV in each tier), and predicts their
CLV with the models of the latest row of ``segmentation_runs``, so a restart between
nightly runs loses nothing.
"""

from __future__ import annotations

import asyncio
import functools
import io
import itertools
import math
import re
import time as timer
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Date, Table, bindparam, make_url, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import AddConstraint, DropConstraint

from care.analytics import clv, ltv
from care.core.db import Database, driver_connection
from care.core.models import (
    ClassificationChange,
    CustomerMetrics,
    SegmentationRun,
    UTCDateTime,
)
from care.core.settings import Settings
from care.core.text import utcnow
from care.core.workers import worker

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
    "code",
    "kind",
    "name",
    "region",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "segment",
    "segment_in_kind",
    "tier",
    "historical_ltv",
    "expected_purchases_12m",
    "clv_12m",
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
    """The same rules as a SQL CASE, for whoever reads the scores in SQL (the benchmark's
    DuckDB floor); a test holds it to ``segment_for``."""
    arms = " ".join(
        f"WHEN {r} BETWEEN {rule.r[0]} AND {rule.r[1]} AND {f} BETWEEN {rule.f[0]} "
        f"AND {rule.f[1]} THEN '{rule.name}'"
        for rule in SEGMENT_RULES
    )
    return f"CASE {arms} END"


def tier_case_sql(cutoffs: Sequence[float], value: str, before: str, total: str) -> str:
    """The tier rule as a SQL CASE on the value share of the customers ranked before, for
    whoever ranks in SQL (the benchmark's DuckDB floor); a test holds it to ``tier_codes``."""
    arms = " ".join(
        f"WHEN {before} < {float(cut)!r} * {total} THEN :tier_{i}" for i, cut in enumerate(cutoffs)
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


# --------------------------------------------------------------------------- whole arrays


def ntile(order: NDArray[np.intp], buckets: int = 5) -> NDArray[np.int8]:
    """SQL's ``NTILE(buckets)`` over the rows taken in ``order`` (their positions, first first).

    As in SQL the groups differ in size by at most one and the first ``n % buckets`` are
    the larger ones. Returns each row's group (1..buckets) at the row's own position.
    """
    n = order.size
    size, extra = divmod(n, buckets)
    rank = np.arange(n)
    in_larger = extra * (size + 1)
    group = np.where(
        rank < in_larger, rank // (size + 1), extra + (rank - in_larger) // max(size, 1)
    )
    scores = np.empty(n, dtype=np.int8)
    scores[order] = group + 1
    return scores


def r_scores(ids: NDArray[Any], recency: NDArray[Any], frequency: NDArray[Any]) -> NDArray[np.int8]:
    """Recency quintiles: longest ago first, ties by fewer orders, then by id."""
    return ntile(np.lexsort((ids, frequency, -recency)))


def f_scores(
    ids: NDArray[Any], frequency: NDArray[Any], monetary: NDArray[Any]
) -> NDArray[np.int8]:
    """Frequency quintiles: fewest orders first, ties by amount, then by id."""
    return ntile(np.lexsort((ids, monetary, frequency)))


def m_scores(
    ids: NDArray[Any], monetary: NDArray[Any], frequency: NDArray[Any]
) -> NDArray[np.int8]:
    """Monetary quintiles: least spent first, ties by number of orders, then by id."""
    return ntile(np.lexsort((ids, frequency, monetary)))


def segment_codes(r: NDArray[np.int8], f: NDArray[np.int8]) -> NDArray[np.int8]:
    """Index in ``SEGMENTS`` of each R and F score pair, by ``segment_for`` itself."""
    table = np.array(
        [[SEGMENTS.index(str(segment_for(rr, ff))) for ff in range(1, 6)] for rr in range(1, 6)],
        dtype=np.int8,
    )
    return table[r - 1, f - 1]


def tier_codes(
    ids: NDArray[Any], values: NDArray[np.int64], cutoffs: Sequence[float]
) -> NDArray[np.int8]:
    """Index of each customer's tier; ``len(cutoffs)`` is the base tier.

    Customers are ranked by value, highest first, then by id; a customer is in the first
    tier whose cut-off is above the share of the total positive value of those ranked
    before them. Customers without positive value are in the base tier.
    """
    order = np.lexsort((ids, -values))
    ranked = values[order]
    positive = np.maximum(ranked, 0)
    before = np.cumsum(positive) - positive
    total = int(positive.sum())
    limits = np.array([_share_limit(cut, total) for cut in cutoffs], dtype=np.int64)
    tiers = np.searchsorted(limits, before, side="right")
    tiers[ranked <= 0] = len(cutoffs)
    codes = np.empty(values.size, dtype=np.int8)
    codes[order] = tiers
    return codes


def _share_limit(cutoff: float, total: int) -> int:
    """The whole VND amount below which a value is under ``cutoff`` of ``total``.

    ``before < cutoff * total`` holds for a whole number exactly when ``before`` is below
    the ceiling of the product; the cut-off is taken as the decimal it is written as
    (0.8 is 4/5), so no binary rounding moves a customer across a boundary.
    """
    return math.ceil(Fraction(repr(float(cutoff))) * total)


def kind_segment_codes(
    kinds: NDArray[Any],
    ids: NDArray[Any],
    recency: NDArray[Any],
    frequency: NDArray[Any],
    monetary: NDArray[Any],
) -> NDArray[np.int8]:
    """Segments scored among the buyers of the same kind (arrays of buyers only)."""
    codes = np.empty(ids.size, dtype=np.int8)
    for kind in np.unique(kinds):
        mine = kinds == kind
        r = r_scores(ids[mine], recency[mine], frequency[mine])
        f = f_scores(ids[mine], frequency[mine], monetary[mine])
        codes[mine] = segment_codes(r, f)
    return codes


def _by_id(ids: NDArray[Any]) -> NDArray[np.intp]:
    """The order that sorts rows by id (the rows usually come sorted already)."""
    return np.argsort(ids, kind="stable")


# --------------------------------------------------------------------------- SQL


_PURCHASES = np.dtype(
    [
        ("customer_id", np.int64),
        ("frequency", np.int64),
        ("monetary", np.int64),
        ("margin", np.int64),
        ("first_day", np.int64),
        ("last_day", np.int64),
        ("purchase_days", np.int64),
        ("discounted", np.float64),
        ("first_margin", np.int64),
        ("undated", np.int64),
    ]
)
_CUSTOMERS = np.dtype([("id", np.int64), ("kind", np.int64)])
_STORED = np.dtype([("customer_id", np.int64), ("tier", np.int64), ("segment", np.int64)])
_BUYERS = np.dtype(
    [
        ("customer_id", np.int64),
        ("kind", np.int64),
        ("recency_days", np.int64),
        ("frequency", np.int64),
        ("monetary", np.int64),
    ]
)
_METRIC_COLUMNS = (
    "customer_id",
    "as_of",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "segment",
    "tier",
    "historical_ltv",
    "expected_purchases_12m",
    "p_alive",
    "clv_12m",
    "computed_at",
)
_CHANGE_COLUMNS = ("customer_id", "field", "old_value", "new_value", "changed_at", "as_of")
_CHANGES_TABLE = "classification_changes"
DAYS_TABLE = "seg_days"
SUMS_TABLE = "seg_purchases"
PG_WORK_MEM = "256MB"
WRITE_CHUNK = 10_000
"""Rows built and written at a time, so memory stays flat however many customers there
are; building them holds Python's lock for a few milliseconds, not tens."""
FETCH_CHUNK = 2_000
"""Rows SQLite hands over at a time: turning them into numpy runs on the event loop, so
each piece must take a millisecond or two, not the tens a hundred thousand take; and
rows that live that briefly never reach the garbage collector's oldest generation."""
SQLITE_SLICE = 2_000
"""Customers whose metrics one SQLite transaction replaces: some 20 ms of holding the
database's one write lock, which the bot's writes wait for."""
SQLITE_YIELD = 2.0
"""After each slice the lock is left free this many times as long as the slice held it."""


def _purchases_sql(
    dialect: str,
    period: str,
    *,
    one_customer: bool = False,
    days_table: str | None = None,
    offset_since: bool = False,
) -> str:
    """Per-customer purchase summary in one pass over the counted orders.

    The index on counted orders hands them over grouped by customer in time order, so
    the database aggregates as it reads, without sorting. Purchases on one local day are
    one purchase for CLV (``purchase_days``); the margin of the first day, which the mean
    repeat margin leaves out, is summed afterwards from the few orders around that day.
    """
    orders = ltv.counted_orders_sql(
        dialect,
        period,
        where="AND o.customer_id = :customer_id" if one_customer else "",
        days_table=days_table,
        offset_since=offset_since,
    )
    day_of_f = ltv.local_day_sql(dialect, "f.placed_at", offset_since=offset_since)
    return f"""
        WITH p AS (
            SELECT o.customer_id, COUNT(*) AS frequency, SUM(o.amount) AS monetary,
                   SUM(o.margin) AS margin, MIN({orders.day}) AS first_day,
                   MAX({orders.day}) AS last_day, COUNT(DISTINCT {orders.day}) AS purchase_days,
                   SUM(o.margin * {orders.factor}) AS discounted,
                   {orders.undated} AS undated
            {orders.source}
            GROUP BY o.customer_id
        )
        SELECT CAST(customer_id AS BIGINT) AS customer_id,
               CAST(frequency AS BIGINT) AS frequency, CAST(monetary AS BIGINT) AS monetary,
               CAST(margin AS BIGINT) AS margin, CAST(first_day AS BIGINT) AS first_day,
               CAST(last_day AS BIGINT) AS last_day,
               CAST(purchase_days AS BIGINT) AS purchase_days,
               CAST(discounted AS DOUBLE PRECISION) AS discounted,
               CAST((
                   SELECT SUM(f.margin) FROM orders f
                   WHERE f.customer_id = p.customer_id AND {ltv.counted_condition("f")}
                     AND f.placed_at >= {ltv.day_start_sql(dialect, "p.first_day - 1")}
                     AND f.placed_at < {ltv.day_start_sql(dialect, "p.first_day + 2")}
                     AND {day_of_f} = p.first_day
               ) AS BIGINT) AS first_margin,
               CAST(undated AS BIGINT) AS undated
        FROM p
    """  # noqa: S608 - names and numbers from code, values bound


def _codes_sql(column: str, vocabulary: Sequence[str], prefix: str) -> tuple[str, dict[str, str]]:
    """``column`` as its index in ``vocabulary`` (-1 for NULL), with the bind parameters."""
    if not vocabulary:
        return "CAST(-1 AS BIGINT)", {}
    arms = " ".join(f"WHEN :{prefix}_{i} THEN {i}" for i in range(len(vocabulary)))
    params = {f"{prefix}_{i}": value for i, value in enumerate(vocabulary)}
    return f"CAST(CASE {column} {arms} ELSE -1 END AS BIGINT)", params


# --------------------------------------------------------------------------- the run's data


@dataclass(frozen=True)
class Scored:
    """Every (not erased) customer's new metrics, as arrays in id order.

    Scores are 0 and the segment -1 for customers who never bought; ``expected``,
    ``p_alive`` and ``clv`` are NaN where there is no estimate.
    """

    ids: NDArray[np.int64]
    buyer: NDArray[np.bool_]
    recency: NDArray[np.int64]
    frequency: NDArray[np.int64]
    monetary: NDArray[np.int64]
    r: NDArray[np.int8]
    f: NDArray[np.int8]
    m: NDArray[np.int8]
    segment: NDArray[np.int8]
    tier: NDArray[np.int8]
    ltv: NDArray[np.int64]
    expected: NDArray[np.float64]
    p_alive: NDArray[np.float64]
    clv: NDArray[np.float64]


@dataclass(frozen=True)
class _RunData:
    """What a run reads before it computes (see ``Segmentation._read``)."""

    purchases: NDArray[Any]
    customers: NDArray[Any]
    kinds: list[str]
    stored: NDArray[Any]
    vocabularies: dict[str, list[str]]
    stamps: tuple[Any, Any]  # the run's time and day as the driver takes them


def score(
    customers: NDArray[Any],
    purchases: NDArray[Any],
    prediction: ltv.ClvPrediction,
    frame: ltv.Frame,
    cutoffs: Sequence[float],
) -> Scored:
    """RFM scores, segments, LTV and tiers of every customer, from the run's arrays.

    ``purchases`` (sorted by id) may hold erased customers, who are in the CLV fit but
    get no metrics; ``prediction`` is aligned with ``purchases``.
    """
    ids = customers["id"]
    found, buyer = _positions(purchases["customer_id"], ids)
    mine = purchases[found[buyer]]
    n = ids.size

    def spread(values: NDArray[Any], empty: float | int, dtype: Any) -> NDArray[Any]:
        out = np.full(n, empty, dtype=dtype)
        out[buyer] = values
        return out

    recency = spread(frame.as_of_day - mine["last_day"], 0, np.int64)
    frequency = spread(mine["frequency"], 0, np.int64)
    monetary = spread(mine["monetary"], 0, np.int64)
    first_period = ltv.periods_of_days(mine["first_day"], frame.period)
    values = spread(frame.ltvs(mine["discounted"], first_period), 0, np.int64)
    buyer_ids = ids[buyer]
    r = spread(r_scores(buyer_ids, recency[buyer], frequency[buyer]), 0, np.int8)
    f = spread(f_scores(buyer_ids, frequency[buyer], monetary[buyer]), 0, np.int8)
    m = spread(m_scores(buyer_ids, monetary[buyer], frequency[buyer]), 0, np.int8)
    segment = spread(segment_codes(r[buyer], f[buyer]), -1, np.int8)
    return Scored(
        ids=ids,
        buyer=buyer,
        recency=recency,
        frequency=frequency,
        monetary=monetary,
        r=r,
        f=f,
        m=m,
        segment=segment,
        tier=tier_codes(ids, values, cutoffs),
        ltv=values,
        expected=spread(prediction.expected_purchases[found[buyer]], np.nan, np.float64),
        p_alive=spread(prediction.p_alive[found[buyer]], np.nan, np.float64),
        clv=spread(prediction.clv[found[buyer]], np.nan, np.float64),
    )


def _positions(
    known: NDArray[np.int64], ids: NDArray[np.int64]
) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """Where each id is in the sorted ``known``, and whether it is there at all."""
    if known.size == 0:
        return np.zeros(ids.size, dtype=np.intp), np.zeros(ids.size, dtype=bool)
    found = np.minimum(np.searchsorted(known, ids), known.size - 1)
    return found, known[found] == ids


def _changed(
    old: NDArray[Any], vocabulary: Sequence[str], new: NDArray[Any], names: Sequence[str]
) -> NDArray[np.bool_]:
    """Whether each stored value differs from the new one (NULL and '' count as equal).

    ``old`` indexes ``vocabulary`` (-1 for NULL), ``new`` indexes ``names`` (-1 for none).
    """
    blank, unknown = -1, len(names)
    keys = np.array(
        [names.index(v) if v in names else (blank if v == "" else unknown) for v in vocabulary]
        + [blank],
        dtype=np.int64,
    )
    changed: NDArray[np.bool_] = keys[old] != new
    return changed


@dataclass(frozen=True)
class FieldChanges:
    """The customers whose tier (or segment) differs from the one the previous run
    stored, as arrays: labels are indexes into ``old_labels`` and ``new_labels``."""

    field: str
    ids: NDArray[np.int64]  # sorted
    old: NDArray[np.int64]
    new: NDArray[np.int64]
    old_labels: list[str | None]
    new_labels: list[str | None]

    def __len__(self) -> int:
        return int(self.ids.size)

    def rows(
        self, low: int | None, high: int | None, now: Any, as_of: Any
    ) -> list[tuple[Any, ...]]:
        """The changes of customers with an id in [low, high) as rows to insert
        (``_CHANGE_COLUMNS``; ``now`` and ``as_of`` as the driver takes them)."""
        first = 0 if low is None else int(np.searchsorted(self.ids, low))
        last = len(self) if high is None else int(np.searchsorted(self.ids, high))
        old = np.array(self.old_labels, dtype=object)[self.old[first:last]]
        new = np.array(self.new_labels, dtype=object)[self.new[first:last]]
        return [
            (customer_id, self.field, before, after, now, as_of)
            for customer_id, before, after in zip(
                self.ids[first:last].tolist(), old.tolist(), new.tolist(), strict=True
            )
        ]


def changes_of(
    stored: NDArray[Any], vocabularies: dict[str, list[str]], scored: Scored, names: Sequence[str]
) -> list[FieldChanges]:
    """The tier and segment changes against the stored metrics.

    ``stored`` holds the previous run's codes (see ``_fetch_stored``). A customer's first
    classification is not a change, and erased customers have none.
    """
    found, present = _positions(scored.ids, stored["customer_id"])
    ids = stored["customer_id"][present]
    out = []
    for field_name, new, labels in (
        ("tier", scored.tier, list(names)),
        ("segment", scored.segment, list(SEGMENTS)),
    ):
        old = stored[field_name][present]
        new = new[found[present]]
        vocabulary = vocabularies[field_name]
        changed = _changed(old, vocabulary, new, labels)
        out.append(
            FieldChanges(
                field_name,
                ids[changed],
                old[changed].astype(np.int64),
                new[changed].astype(np.int64),
                [*vocabulary, None],
                [*labels, None],
            )
        )
    return out


def metric_rows(
    scored: Scored, names: Sequence[str], as_of: Any, now: Any, start: int, stop: int
) -> Iterator[tuple[Any, ...]]:
    """Rows ``start:stop`` of customer_metrics (``_METRIC_COLUMNS`` order)."""
    part = slice(start, stop)
    buyer = scored.buyer[part]
    count = int(buyer.size)
    no_clv = np.isnan(scored.clv[part])
    clv = np.where(no_clv, 0.0, np.round(scored.clv[part])).astype(np.int64)
    columns = [
        scored.ids[part].tolist(),
        [as_of] * count,
        _nullable(scored.recency[part], ~buyer),
        scored.frequency[part].tolist(),
        scored.monetary[part].tolist(),
        _nullable(scored.r[part], ~buyer),
        _nullable(scored.f[part], ~buyer),
        _nullable(scored.m[part], ~buyer),
        np.array([*SEGMENTS, None], dtype=object)[scored.segment[part]].tolist(),
        np.array(list(names), dtype=object)[scored.tier[part]].tolist(),
        scored.ltv[part].tolist(),
        _nullable(scored.expected[part], np.isnan(scored.expected[part])),
        _nullable(scored.p_alive[part], np.isnan(scored.p_alive[part])),
        _nullable(clv, no_clv),
        [now] * count,
    ]
    # The rows are made one at a time as the driver takes them: a list of thousands of
    # tuples alive at once would be promoted through the garbage collector's generations
    # and set off full collections, which hold the interpreter lock for a tenth of a second.
    return zip(*columns, strict=True)


def _nullable(values: NDArray[Any], missing: NDArray[np.bool_]) -> list[Any]:
    """Plain Python values, None where ``missing``."""
    out = values.astype(object)
    out[missing] = None
    plain: list[Any] = out.tolist()
    return plain


def _counts_of(codes: NDArray[Any], labels: Sequence[str]) -> dict[str, int]:
    counts = np.bincount(codes[codes >= 0].astype(np.int64), minlength=len(labels))
    return {label: int(n) for label, n in zip(labels, counts.tolist(), strict=False)}


def _kind_counts_of(
    kinds: NDArray[Any], vocabulary: Sequence[str], segments: NDArray[Any]
) -> dict[str, dict[str, int]]:
    """Buyers per segment within each kind: every kind of ``KINDS``, and any other kind
    that has buyers."""
    out = {kind: dict.fromkeys(SEGMENTS, 0) for kind in KINDS}
    for code, kind in enumerate(vocabulary):
        mine = kinds == code
        if kind in out or mine.any():
            out[kind] = _counts_of(segments[mine], SEGMENTS)
    return out


async def read_run_data(db: Database, frame: ltv.Frame, now: datetime) -> _RunData:
    """Everything a run computes from, read in one transaction (one snapshot) that
    writes nothing: on SQLite a transaction that reads and later writes fails when
    someone else (the bot) has written in between."""
    dialect = db.dialect
    params: dict[str, Any] = {**ltv.frame_params(frame, dialect), "cutoff": frame.cutoff}
    if dialect == "postgresql":
        params["offset_since"] = ltv.offset_constant_since(frame.timezone, frame.cutoff)
    async with db.uow() as uow:
        session = uow.session
        try:
            await _prepare(session, dialect, frame)
            purchases = await _fetch_purchases(session, dialect, frame.period, params)
            customers, kinds = await _fetch_customers(session)
            stored, vocabularies = await _fetch_stored(session)
            stamps = await _driver_values(session, now, frame.as_of)
        finally:
            await _drop_temp(session, dialect)
    return _RunData(purchases, customers, kinds, stored, vocabularies, stamps)


def read_alone(url: str, schema: str | None, frame: ltv.Frame, now: datetime) -> _RunData:
    """``read_run_data`` in a worker process, on a connection of its own.

    SQLite runs inside the process that queries it: summing ten million orders is seconds
    of processor time, which belongs in the worker, not beside the bot. On PostgreSQL the
    server sums, and the worker reads the result.
    """

    async def read() -> _RunData:
        db = Database(url, schema=schema)
        try:
            return await read_run_data(db, frame, now)
        finally:
            await db.dispose()

    return asyncio.run(read())


@dataclass(frozen=True)
class _Computed:
    """What a worker hands back from ``compute``: the run's results and its steps' times."""

    stamps: tuple[Any, Any]
    fit: ltv.ClvFit
    scored: Scored
    changes: list[FieldChanges]
    by_kind: dict[str, dict[str, int]]
    seconds: list[float]  # wall time of STEPS[0] to STEPS[5]


def compute(
    source: str | _RunData,
    schema: str | None,
    frame: ltv.Frame,
    now: datetime,
    cutoffs: Sequence[float],
    names: Sequence[str],
) -> _Computed:
    """A run's steps before writing, in one call to a worker process: reading (from the
    database at the URL ``source``, or the data read already), fitting, predicting,
    scoring, the changes and the counts. Only the results cross back to the bot's
    process, once: handing a million customers' arrays over costs a copy each way under
    the bot's interpreter lock."""
    marks = [timer.perf_counter()]
    data = read_alone(source, schema, frame, now) if isinstance(source, str) else source
    marks.append(timer.perf_counter())
    fit = fit_models(data.purchases, frame.as_of_day)
    marks.append(timer.perf_counter())
    prediction = predict_clv(fit, data.purchases, frame)
    marks.append(timer.perf_counter())
    scored = score(data.customers, data.purchases, prediction, frame, cutoffs)
    marks.append(timer.perf_counter())
    changes = changes_of(data.stored, data.vocabularies, scored, names)
    marks.append(timer.perf_counter())
    by_kind = kind_counts(data.customers["kind"], data.kinds, scored)
    marks.append(timer.perf_counter())
    seconds = [later - earlier for earlier, later in itertools.pairwise(marks)]
    return _Computed(data.stamps, fit, scored, changes, by_kind, seconds)


def _worker_url(db: Database) -> str | None:
    """The database's URL as a worker process can open it (a SQLite file by its absolute
    path); None for a database only this process can see (SQLite in memory)."""
    url = make_url(db.url)
    if url.get_backend_name() != "sqlite":
        return db.url
    if url.database in (None, "", ":memory:") or url.query:
        return None
    return url.set(database=str(Path(url.database).resolve())).render_as_string(hide_password=False)


def fit_models(purchases: NDArray[Any], as_of_day: int) -> ltv.ClvFit:
    """The CLV models fitted on the run's purchase summaries (a worker's step)."""
    return ltv.fit_clv(_clv_inputs(purchases, as_of_day), seed=as_of_day)


def predict_clv(fit: ltv.ClvFit, purchases: NDArray[Any], frame: ltv.Frame) -> ltv.ClvPrediction:
    """Every buyer's CLV with the run's models (a worker's step)."""
    return ltv.predict(
        fit,
        _clv_inputs(purchases, frame.as_of_day),
        monthly_discount_rate=ltv.rate_per_month(frame.discount_rate, frame.period),
    )


def _clv_inputs(purchases: NDArray[Any], as_of_day: int) -> ltv.ClvInputs:
    return ltv.clv_inputs(
        purchases["purchase_days"],
        purchases["first_day"],
        purchases["last_day"],
        purchases["margin"],
        purchases["first_margin"],
        as_of_day,
    )


def kind_counts(
    kinds: NDArray[Any], vocabulary: Sequence[str], scored: Scored
) -> dict[str, dict[str, int]]:
    """Buyers per segment scored within each kind (a worker's step); ``kinds`` are the
    codes of every customer's kind, aligned with ``scored``."""
    buyer = scored.buyer
    return _kind_counts_of(
        kinds[buyer],
        vocabulary,
        kind_segment_codes(
            kinds[buyer],
            scored.ids[buyer],
            scored.recency[buyer],
            scored.frequency[buyer],
            scored.monetary[buyer],
        ),
    )


class _StepClock:
    """Wall and CPU time of each of a run's ``STEPS``, reported to ``progress`` as it goes."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.started = timer.perf_counter()
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self._marks = (self.started, timer.process_time())
        if progress:
            progress(STEPS[0], 0, len(STEPS))

    def done(self, index: int) -> None:
        now, now_cpu = timer.perf_counter(), timer.process_time()
        self.seconds[STEPS[index]] = now - self._marks[0]
        self.cpu_seconds[STEPS[index]] = now_cpu - self._marks[1]
        self._marks = (now, now_cpu)
        if self.progress:
            following = STEPS[index + 1] if index + 1 < len(STEPS) else "done"
            self.progress(following, index + 1, len(STEPS))

    def replay(self, seconds: Sequence[float]) -> None:
        """The first steps, done elsewhere (in a worker) and timed there: their wall
        times as measured there, this process's CPU meanwhile shared out in proportion."""
        now, now_cpu = timer.perf_counter(), timer.process_time()
        total = sum(seconds) or 1.0
        for index, step_seconds in enumerate(seconds):
            self.seconds[STEPS[index]] = step_seconds
            self.cpu_seconds[STEPS[index]] = (now_cpu - self._marks[1]) * step_seconds / total
            if self.progress:
                self.progress(STEPS[index + 1], index + 1, len(STEPS))
        self._marks = (now, now_cpu)

    def elapsed(self) -> float:
        return timer.perf_counter() - self.started


# --------------------------------------------------------------------------- the service


class Segmentation:
    """Full recomputation, one-customer reclassification, and the counts built on them."""

    def __init__(
        self, db: Database, settings: Settings, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

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
        today in the shop's time zone. The nightly job calls this without arguments, in the
        bot's process: every step that costs CPU runs in a worker thread (see the module's
        docstring), so the bot keeps answering meanwhile.
        """
        names, cutoffs = self.tier_names, list(self.settings.tier_cutoffs)
        check_tiers(names, cutoffs)
        frame = self.frame(as_of)
        clock = _StepClock(progress)
        now = self.clock()
        async with worker() as work:
            source: str | _RunData | None = _worker_url(self.db)
            if source is None:  # a database only this process sees: read here
                source = await read_run_data(self.db, frame, now)
            done = await work(compute, source, self.db.schema, frame, now, cutoffs, names)
        clock.replay(done.seconds)
        fit, scored, changes = done.fit, done.scored, done.changes

        tier_changes, segment_changes = (len(field) for field in changes)
        run = _run_record(frame.as_of, now, 0.0, scored, fit, tier_changes, segment_changes)
        await self._write(scored, changes, names, done.stamps, run, clock)
        clock.done(6)
        return RecomputeSummary(
            as_of=frame.as_of,
            customers=int(scored.ids.size),
            buyers=int(scored.buyer.sum()),
            tiers=_counts_of(scored.tier, names),
            segments=_counts_of(scored.segment, SEGMENTS),
            segments_by_kind=done.by_kind,
            fit=fit,
            tier_changes=tier_changes,
            segment_changes=segment_changes,
            seconds=clock.elapsed(),
            step_seconds=clock.seconds,
            step_cpu_seconds=clock.cpu_seconds,
        )

    async def _write(
        self,
        scored: Scored,
        changes: list[FieldChanges],
        names: Sequence[str],
        stamps: tuple[Any, Any],
        run: SegmentationRun,
        clock: _StepClock,
    ) -> None:
        """Store the run: the changes, every customer's metrics, the run's record.

        The rows are built a slice of customers at a time in a worker thread (a few
        milliseconds each, the next slice while the database stores the previous one).
        PostgreSQL stores them in one transaction, which nobody waits for but readers of
        customer_metrics (see ``_write_metrics``). SQLite has one writer at a time, and a
        customer's message waits for whoever writes: there each slice's metrics and
        changes are a short transaction of its own (``SQLITE_SLICE`` customers), and the
        bot's writes slip in between. Meanwhile readers see some customers with the new
        figures and the rest with the previous ones (a failure half-way leaves it so until
        the next run); the run's record, written last, says when a run completed.
        """
        now, as_of = stamps
        postgresql = self.db.dialect == "postgresql"
        slices = _slices(scored.ids, WRITE_CHUNK if postgresql else SQLITE_SLICE)
        builders = [
            functools.partial(
                _slice_rows, scored, changes, names, now, as_of, low, high, start, stop
            )
            for start, stop, low, high in slices
        ]
        if postgresql:
            async with self.db.uow() as uow:
                await _write_metrics(uow.session, _built_ahead(builders))
                run.seconds = clock.elapsed()
                uow.session.add(run)
                await uow.commit()
            return
        index = 0
        async for metrics, changed in _built_ahead(builders):
            _, _, low, high = slices[index]
            index += 1
            held = timer.perf_counter()
            async with self.db.uow() as uow:
                await _replace_metrics(uow.session, low, high, metrics)
                await _bulk_insert(uow.session, _CHANGES_TABLE, _CHANGE_COLUMNS, changed)
                await uow.commit()
            # SQLite's lock is not fair: a writer waiting for it polls it now and then, and
            # would never find it free if the next slice took it at once.
            await asyncio.sleep(SQLITE_YIELD * (timer.perf_counter() - held))
        async with self.db.uow() as uow:
            run.seconds = clock.elapsed()
            uow.session.add(run)
            await uow.commit()

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
        nightly run puts everyone on the same footing again. The CLV is predicted with the
        models the last run fitted (kept in ``segmentation_runs``). Before any full run
        there are no boundaries and no models: the customer gets the base tier, no scores,
        and keeps the CLV stored. Returns None for an unknown or erased customer.
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
                session, _purchases_sql(dialect, frame.period, one_customer=True), params
            )
            row = result.mappings().first()
            bounds = await _boundaries(session)
            new = _classify_one(customer_id, row, frame, bounds, names)
            fit = await _latest_fit(session)
            clv_values = None if fit is None else _clv_of(row, frame, fit)
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
                                customer_id=customer_id,
                                field=field_name,
                                old_value=before,
                                new_value=after,
                                changed_at=now,
                                as_of=frame.as_of,
                            )
                        )
            metrics = old or CustomerMetrics(customer_id=customer_id)
            metrics.as_of = frame.as_of
            metrics.recency_days = new.recency_days
            metrics.frequency = new.frequency
            metrics.monetary = new.monetary
            metrics.r_score, metrics.f_score, metrics.m_score = (
                new.r_score,
                new.f_score,
                new.m_score,
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

    # ----------------------------------------------------------------- counts

    async def counts(self) -> dict[str, Any]:
        """Customers per tier and per segment, from the stored metrics."""
        async with self.db.uow() as uow:
            return await _counts(uow.session, "customer_metrics", self.tier_names)

    async def kind_segment_counts(self) -> dict[str, dict[str, int]]:
        """Segments scored within individuals and within organizations separately."""
        async with self.db.uow() as uow:
            buyers, kinds, codes = await _stored_kind_segments(uow.session)
        return _kind_counts_of(buyers["kind"], kinds, codes)

    async def customer_rows(self) -> AsyncIterator[tuple[Any, ...]]:
        """One row per customer in ``EXPORT_COLUMNS`` order, streamed (any number of rows).

        Metrics are those of the last run; ``segment_in_kind`` is the segment scored among
        customers of the same kind, computed now.
        """
        sql = """
            SELECT c.id, c.code, c.kind, c.name, c.region, m.recency_days, m.frequency,
                   m.monetary, m.r_score, m.f_score, m.m_score, m.segment, m.tier,
                   m.historical_ltv, m.expected_purchases_12m, m.clv_12m
            FROM customers c
            LEFT JOIN customer_metrics m ON m.customer_id = c.id
            WHERE c.erased_at IS NULL
            ORDER BY c.code
        """
        labels = np.array([*SEGMENTS, None], dtype=object)
        async with self.db.uow() as uow:
            buyers, _, codes = await _stored_kind_segments(uow.session)
            in_kind = np.full(int(buyers["customer_id"].max(initial=0)) + 1, -1, dtype=np.int8)
            in_kind[buyers["customer_id"]] = codes
            result = await uow.session.stream(text(sql))
            async for row in result:
                customer_id, *values = row
                values.insert(
                    11, labels[in_kind[customer_id]] if customer_id < in_kind.size else None
                )
                if values[14] is not None:
                    values[14] = round(float(values[14]), 4)
                yield tuple(values)

    async def metrics_of(self, customer_id: int) -> CustomerMetrics | None:
        async with self.db.uow() as uow:
            found = await uow.session.get(CustomerMetrics, customer_id)
            uow.session.expunge_all()  # plain values once the session closes
            return found

    async def last_run(self) -> SegmentationRun | None:
        """The latest full run: its day, size, duration and fitted models."""
        async with self.db.uow() as uow:
            found = await _latest_run(uow.session)
            uow.session.expunge_all()  # plain values once the session closes
            return found

    async def changes(
        self,
        *,
        since: datetime | None = None,
        field: str | None = None,
        new_value: str | None = None,
        limit: int = 1000,
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


# --------------------------------------------------------------------------- one customer


def _classify_one(
    customer_id: int, row: Any, frame: ltv.Frame, bounds: dict[str, Any], names: list[str]
) -> Classification:
    base = names[-1]
    if row is None:
        return Classification(customer_id, None, 0, 0, None, None, None, None, base, 0)
    recency = frame.as_of_day - int(row["last_day"])
    frequency, monetary = int(row["frequency"]), int(row["monetary"])
    first_period = ltv.periods_of_days(np.array([row["first_day"]]), frame.period)
    value = frame.ltv(float(row["discounted"]), int(first_period[0]))
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


def _clv_of(
    row: Any, frame: ltv.Frame, fit: ltv.ClvFit
) -> tuple[float | None, float | None, int | None]:
    """One customer's expected purchases, P(alive) and CLV with a run's models."""
    if row is None:
        return (None, None, None)
    inputs = ltv.clv_inputs(
        np.array([row["purchase_days"]]),
        np.array([row["first_day"]]),
        np.array([row["last_day"]]),
        np.array([row["margin"]]),
        np.array([row["first_margin"]]),
        frame.as_of_day,
    )
    prediction = ltv.predict(
        fit,
        inputs,
        monthly_discount_rate=ltv.rate_per_month(frame.discount_rate, frame.period),
    )
    return (
        _none_if_nan(prediction.expected_purchases[0]),
        _none_if_nan(prediction.p_alive[0]),
        None if np.isnan(prediction.clv[0]) else round(float(prediction.clv[0])),
    )


def _score_low_is_best(value: int, bounds: dict[int, tuple[int, int]]) -> int | None:
    """Recency score: the best quintile whose largest recency is not below the value."""
    if not bounds:
        return None
    for score_ in range(5, 0, -1):
        if score_ in bounds and value <= bounds[score_][1]:
            return score_
    return 1


def _score_high_is_best(value: int, bounds: dict[int, tuple[int, int]]) -> int | None:
    """Frequency/monetary score: the best quintile whose smallest value is reached."""
    if not bounds:
        return None
    for score_ in range(5, 0, -1):
        if score_ in bounds and value >= bounds[score_][0]:
            return score_
    return 1


async def _boundaries(session: AsyncSession) -> dict[str, Any]:
    """Quintile ranges and tier floors of the last full run, read from customer_metrics."""
    out: dict[str, Any] = {}
    for key, score_, column in (
        ("r", "r_score", "recency_days"),
        ("f", "f_score", "frequency"),
        ("m", "m_score", "monetary"),
    ):
        rows = await session.execute(
            text(
                f"SELECT {score_}, MIN({column}), MAX({column}) FROM customer_metrics"  # noqa: S608 - names and numbers from code, values bound
                f" WHERE {score_} IS NOT NULL GROUP BY {score_}"
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


# --------------------------------------------------------------------------- runs and their fits


def _run_record(
    as_of: date,
    now: datetime,
    seconds: float,
    scored: Scored,
    fit: ltv.ClvFit,
    tier_changes: int,
    segment_changes: int,
) -> SegmentationRun:
    """A run's row in segmentation_runs: what it did and the models it fitted."""
    run = SegmentationRun(
        as_of=as_of,
        computed_at=now,
        seconds=seconds,
        customers=int(scored.ids.size),
        buyers=int(scored.buyer.sum()),
        tier_changes=tier_changes,
        segment_changes=segment_changes,
        time_unit=ltv.CLV_TIME_UNIT,
        bgnbd_problem=fit.bgnbd_problem,
        gamma_gamma_problem=fit.gamma_gamma_problem,
    )
    if (bg := fit.bgnbd) is not None:
        run.time_unit = bg.time_unit
        run.bgnbd_r, run.bgnbd_alpha, run.bgnbd_a, run.bgnbd_b = bg.r, bg.alpha, bg.a, bg.b
        run.bgnbd_log_likelihood, run.bgnbd_customers = bg.log_likelihood, bg.n_customers
    if (gg := fit.gamma_gamma) is not None:
        run.gamma_gamma_p, run.gamma_gamma_q, run.gamma_gamma_gamma = gg.p, gg.q, gg.gamma
        run.gamma_gamma_log_likelihood = gg.log_likelihood
        run.gamma_gamma_customers = gg.n_customers
    return run


def fit_of_run(run: SegmentationRun) -> ltv.ClvFit:
    """The models a run fitted, as the run had them."""
    bgnbd = gamma_gamma = None
    if run.bgnbd_r is not None:
        bgnbd = clv.BgNbdParams(
            r=run.bgnbd_r,
            alpha=_given(run.bgnbd_alpha),
            a=_given(run.bgnbd_a),
            b=_given(run.bgnbd_b),
            log_likelihood=_given(run.bgnbd_log_likelihood),
            n_customers=int(_given(run.bgnbd_customers)),
            time_unit=run.time_unit,
        )
    if run.gamma_gamma_p is not None:
        gamma_gamma = clv.GammaGammaParams(
            p=run.gamma_gamma_p,
            q=_given(run.gamma_gamma_q),
            gamma=_given(run.gamma_gamma_gamma),
            log_likelihood=_given(run.gamma_gamma_log_likelihood),
            n_customers=int(_given(run.gamma_gamma_customers)),
        )
    return ltv.ClvFit(bgnbd, gamma_gamma, run.bgnbd_problem, run.gamma_gamma_problem)


def _given(value: float | int | None) -> float:
    if value is None:
        raise ValueError("segmentation run with a partly stored model")
    return float(value)


async def _latest_run(session: AsyncSession) -> SegmentationRun | None:
    query = select(SegmentationRun).order_by(SegmentationRun.id.desc()).limit(1)
    return (await session.scalars(query)).first()


async def _latest_fit(session: AsyncSession) -> ltv.ClvFit | None:
    """The models of the latest full run, or None before the first one."""
    run = await _latest_run(session)
    return None if run is None else fit_of_run(run)


# --------------------------------------------------------------------------- reading and writing


_TYPED = {"cutoff": UTCDateTime, "now": UTCDateTime, "as_of": Date, "offset_since": UTCDateTime}


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


async def _prepare(session: AsyncSession, dialect: str, frame: ltv.Frame) -> None:
    """Settings and work tables for this run (temporary: private to this connection)."""
    await _drop_temp(session, dialect)
    if dialect == "postgresql":
        # For this transaction only: where the planner sorts the orders instead of
        # reading the index on counted orders (before vacuum has marked the table's pages
        # all-visible, say), the sort stays in memory rather than spilling at the default
        # 4 MB; JIT compilation costs seconds per statement and buys nothing here.
        await session.execute(text(f"SET LOCAL work_mem = '{PG_WORK_MEM}'"))
        await session.execute(text("SET LOCAL jit = off"))
        return
    await session.execute(
        text(f"CREATE TEMPORARY TABLE {DAYS_TABLE} (day INTEGER PRIMARY KEY, factor DOUBLE)")
    )
    await _bulk_insert(session, DAYS_TABLE, ("day", "factor"), ltv.factor_days(frame))
    await _ensure_sqlite_exp(session)


async def _drop_temp(session: AsyncSession, dialect: str) -> None:
    if dialect == "sqlite":
        await session.execute(text(f"DROP TABLE IF EXISTS temp.{DAYS_TABLE}"))
        await session.execute(text(f"DROP TABLE IF EXISTS temp.{SUMS_TABLE}"))


async def _ensure_sqlite_exp(session: AsyncSession) -> None:
    """SQLite builds without the math functions get exp() from Python."""
    try:
        await session.execute(text("SELECT exp(0)"))
    except Exception:
        driver = await driver_connection(session)
        await driver.create_function("exp", 1, math.exp, deterministic=True)


async def _fetch_purchases(
    session: AsyncSession, dialect: str, period: str, params: dict[str, Any]
) -> NDArray[Any]:
    """Every customer's purchase summary (erased customers too: they count for the CLV
    fit), sorted by id.

    SQLite looks each order's day up in the run's table of days since 1970; should any
    order be older, the summary is read again with the days worked out per order.
    """
    if dialect == "postgresql":
        sql = _purchases_sql(dialect, period, offset_since=True)
        rows = await _fetch_rows(session, sql, params, _PURCHASES)
    else:
        sql = _purchases_sql(dialect, period, days_table=DAYS_TABLE)
        rows = await _fetch_summed(session, sql, params)
        if rows["undated"].any():
            rows = await _fetch_summed(session, _purchases_sql(dialect, period), params)
    return rows[_by_id(rows["customer_id"])]


async def _fetch_summed(session: AsyncSession, sql: str, params: dict[str, Any]) -> NDArray[Any]:
    """The purchase summaries on SQLite, summed into a temporary table first.

    Summing runs in SQLite's C code for seconds. Inside one statement it keeps Python's
    interpreter lock released throughout; handing over each row as it is summed would
    take the lock back tens of thousands of times a second, away from the bot's loop.
    """
    await session.execute(text(f"DROP TABLE IF EXISTS temp.{SUMS_TABLE}"))
    await _execute(session, f"CREATE TEMPORARY TABLE {SUMS_TABLE} AS {sql}", params)
    rows = await _fetch_rows(session, f"SELECT * FROM temp.{SUMS_TABLE}", {}, _PURCHASES)  # noqa: S608 - our own table name
    await session.execute(text(f"DROP TABLE temp.{SUMS_TABLE}"))
    return rows


async def _fetch_customers(session: AsyncSession) -> tuple[NDArray[Any], list[str]]:
    """Every customer not erased, sorted by id, with their kind as a code; and the kinds
    the codes index, taken from the data."""
    kinds = await _distinct(session, "kind", "customers WHERE erased_at IS NULL")
    kind, params = _codes_sql("kind", kinds, "kind")
    sql = f"SELECT CAST(id AS BIGINT), {kind} FROM customers WHERE erased_at IS NULL"  # noqa: S608 - names and numbers from code, values bound
    rows = await _fetch_rows(session, sql, params, _CUSTOMERS)
    return rows[_by_id(rows["id"])], kinds


async def _fetch_stored(session: AsyncSession) -> tuple[NDArray[Any], dict[str, list[str]]]:
    """The tier and segment the previous run stored, as codes, sorted by customer id; and
    the values the codes index (``tier``, ``segment``), taken from the data."""
    vocabularies = {
        column: await _distinct(session, column, f"customer_metrics WHERE {column} IS NOT NULL")
        for column in ("tier", "segment")
    }
    tier, tier_params = _codes_sql("tier", vocabularies["tier"], "tier")
    segment, segment_params = _codes_sql("segment", vocabularies["segment"], "segment")
    sql = f"SELECT CAST(customer_id AS BIGINT), {tier}, {segment} FROM customer_metrics"  # noqa: S608 - names and numbers from code, values bound
    rows = await _fetch_rows(session, sql, {**tier_params, **segment_params}, _STORED)
    return rows[_by_id(rows["customer_id"])], vocabularies


async def _stored_kind_segments(
    session: AsyncSession,
) -> tuple[NDArray[Any], list[str], NDArray[Any]]:
    """The buyers of the stored metrics, their kinds' vocabulary, and their segments
    scored within their kind."""
    kinds = await _distinct(session, "kind", "customers")
    kind, params = _codes_sql("c.kind", kinds, "kind")
    sql = f"""
        SELECT CAST(m.customer_id AS BIGINT), {kind}, CAST(m.recency_days AS BIGINT),
               CAST(m.frequency AS BIGINT), CAST(m.monetary AS BIGINT)
        FROM customer_metrics m JOIN customers c ON c.id = m.customer_id
        WHERE m.frequency > 0
    """  # noqa: S608 - names and numbers from code, values bound
    buyers = await _fetch_rows(session, sql, params, _BUYERS)
    codes = await asyncio.to_thread(
        kind_segment_codes,
        buyers["kind"],
        buyers["customer_id"],
        buyers["recency_days"],
        buyers["frequency"],
        buyers["monetary"],
    )
    return buyers, kinds, codes


async def _distinct(session: AsyncSession, column: str, source: str) -> list[str]:
    rows = await session.execute(text(f"SELECT DISTINCT {column} FROM {source}"))  # noqa: S608 - names and numbers from code, values bound
    return sorted(str(value) for (value,) in rows.all() if value is not None)


async def _write_metrics(
    session: AsyncSession, pieces: AsyncIterator[tuple[list[Any], list[Any]]]
) -> None:
    """Replace customer_metrics on PostgreSQL with the run's rows, and record the changes,
    a piece (metric rows, change rows) at a time, in the caller's transaction.

    The foreign key to customers is set aside for the load and restored before the
    commit, as the model declares it (a failure rolls everything back, it included).
    Checked row by row it locks each customer's row and doubles the time of the load;
    added back, it checks all rows in one join (they come from the customers table). The
    table is then locked anyway, so it is emptied with TRUNCATE, which leaves no million
    dead rows behind for vacuum. Until the commit, readers of customer_metrics and
    writers of customers wait (seconds, once a night); readers then see the new rows.
    """
    set_aside = list(cast(Table, CustomerMetrics.__table__).foreign_key_constraints)
    for item in set_aside:
        await session.execute(DropConstraint(item))
    await session.execute(text("TRUNCATE customer_metrics"))
    async for metrics, changed in pieces:
        await _bulk_insert(session, "customer_metrics", _METRIC_COLUMNS, metrics)
        await _bulk_insert(session, _CHANGES_TABLE, _CHANGE_COLUMNS, changed)
    for item in set_aside:
        await session.execute(AddConstraint(item))


def _slice_rows(
    scored: Scored,
    changes: list[FieldChanges],
    names: Sequence[str],
    now: Any,
    as_of: Any,
    low: int | None,
    high: int | None,
    start: int,
    stop: int,
) -> tuple[Iterator[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The metric rows ``start:stop`` and the change rows of ids in [low, high)."""
    metrics = metric_rows(scored, names, as_of, now, start, stop)
    changed = [row for field in changes for row in field.rows(low, high, now, as_of)]
    return metrics, changed


async def _built_ahead(builders: Sequence[Callable[[], Any]]) -> AsyncIterator[Any]:
    """What each builder builds, in order, each built in a worker thread (the first
    too), the next while the database stores the previous one."""
    following: asyncio.Task[Any] | None = None
    try:
        for index, builder in enumerate(builders):
            current = await (following or asyncio.to_thread(builder))
            following = (
                asyncio.create_task(asyncio.to_thread(builders[index + 1]))
                if index + 1 < len(builders)
                else None
            )
            yield current
    finally:
        if following is not None:
            following.cancel()


def _slices(ids: NDArray[np.int64], size: int) -> list[tuple[int, int, int | None, int | None]]:
    """(start, stop, low, high) of each slice of ``size`` rows of the sorted ``ids``.

    Together the slices' id ranges [low, high) cover every id there is (None: unbounded),
    so replacing each range also removes the metrics of customers no longer in the run.
    """
    n = int(ids.size)
    starts = list(range(0, n, size)) or [0]
    out = []
    for start in starts:
        stop = min(start + size, n)
        low = int(ids[start]) if start > 0 else None
        high = int(ids[stop]) if stop < n else None
        out.append((start, stop, low, high))
    return out


async def _replace_metrics(
    session: AsyncSession, low: int | None, high: int | None, rows: Iterable[tuple[Any, ...]]
) -> None:
    """Replace the stored metrics of the customers with an id in [low, high) by ``rows``."""
    bounds = []
    if low is not None:
        bounds.append("customer_id >= :low")
    if high is not None:
        bounds.append("customer_id < :high")
    where = f" WHERE {' AND '.join(bounds)}" if bounds else ""
    await session.execute(text(f"DELETE FROM customer_metrics{where}"), {"low": low, "high": high})  # noqa: S608 - fixed bounds, values bound
    await _bulk_insert(session, "customer_metrics", _METRIC_COLUMNS, rows)


async def _driver_values(session: AsyncSession, now: datetime, as_of: date) -> tuple[Any, Any]:
    """The run's time and day as the driver takes them, for rows written past SQLAlchemy."""
    dialect = (await session.connection()).dialect
    return _driver_value(dialect, UTCDateTime(), now), _driver_value(dialect, Date(), as_of)


def _driver_value(dialect: Any, type_: Any, value: Any) -> Any:
    """A value as SQLAlchemy would hand it to the driver for a column of ``type_``."""
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process else value


async def _fetch_rows(
    session: AsyncSession, sql: str, params: dict[str, Any], dtype: np.dtype
) -> NDArray[Any]:
    """Rows of whole numbers and floats, never NULL, as a numpy structured array.

    Read through the driver, not SQLAlchemy, which would build a Python object per row:
    PostgreSQL sends them as a binary COPY that numpy reads in place; SQLite hands over
    tuples a chunk at a time.
    """
    connection = await session.connection()
    driver = await driver_connection(connection)
    statement = _bound(sql).compile(dialect=connection.dialect)
    values = statement.construct_params(params)
    processors = {
        name: _driver_value(connection.dialect, kind(), values[name])
        for name, kind in _TYPED.items()
        if name in values
    }
    args = [processors.get(name, values[name]) for name in statement.positiontup or ()]
    if hasattr(driver, "copy_from_query"):  # asyncpg
        buffer = io.BytesIO()
        await driver.copy_from_query(statement.string, *args, output=buffer, format="binary")
        return await asyncio.to_thread(_from_binary_copy, buffer.getbuffer(), dtype)
    cursor = await driver.execute(statement.string, args)
    chunks = []
    while rows := await cursor.fetchmany(FETCH_CHUNK):
        chunks.append(np.fromiter(rows, dtype=dtype, count=len(rows)))
    await cursor.close()
    return np.concatenate(chunks) if chunks else np.empty(0, dtype=dtype)


_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def _from_binary_copy(data: memoryview, dtype: np.dtype) -> NDArray[Any]:
    """The rows of a binary COPY whose fields are all 8-byte numbers, none NULL.

    Each row is a field count, then per field its length and its big-endian bytes; with
    fixed widths that is one numpy record type, read without a loop.
    """
    if bytes(data[:11]) != _COPY_SIGNATURE:
        raise ValueError("not a PostgreSQL binary COPY stream")
    start = 19 + int.from_bytes(data[15:19], "big")
    names = dtype.names or ()
    wire = np.dtype(
        [("fields", ">i2")]
        + [
            item
            for name in names
            for item in ((f"{name}__length", ">i4"), (name, dtype[name].newbyteorder(">")))
        ]
    )
    body = data[start : len(data) - 2]
    if len(body) % wire.itemsize:
        raise ValueError("binary COPY rows are not all 8-byte numbers (a NULL?)")
    rows = np.frombuffer(body, dtype=wire)
    lengths_ok = all(bool(np.all(rows[f"{name}__length"] == 8)) for name in names)
    if not (np.all(rows["fields"] == len(names)) and lengths_ok):
        raise ValueError("binary COPY rows are not all 8-byte numbers (a NULL?)")
    out = np.empty(rows.size, dtype=dtype)
    for name in names:
        out[name] = rows[name]
    return out


async def _bulk_insert(
    session: AsyncSession, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Many rows into a table: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    driver = await driver_connection(session)
    if hasattr(driver, "copy_records_to_table"):
        await driver.copy_records_to_table(table, records=rows, columns=list(columns))
    else:
        marks = ", ".join("?" * len(columns))
        await driver.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608 - names and numbers from code, values bound
            rows,
        )


async def _counts(session: AsyncSession, table: str, names: list[str]) -> dict[str, Any]:
    total, buyers = (
        await session.execute(
            text(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN frequency > 0 THEN 1 ELSE 0 END), 0)"  # noqa: S608 - names and numbers from code, values bound
                f" FROM {table}"
            )
        )
    ).one()
    tiers: dict[str, int] = dict(
        (await session.execute(text(f"SELECT tier, COUNT(*) FROM {table} GROUP BY tier"))).all()  # noqa: S608 - names and numbers from code, values bound
    )
    segments: dict[str, int] = dict(
        (
            await session.execute(
                text(
                    f"SELECT segment, COUNT(*) FROM {table} WHERE segment IS NOT NULL"  # noqa: S608 - names and numbers from code, values bound
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


def _none_if_nan(value: float) -> float | None:
    return None if value != value else float(value)
