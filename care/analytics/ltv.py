"""Lifetime value: the historical LTV formula, the time frame it is computed in, and CLV.

Historical LTV is what a customer has already been worth, in today's money of their
first period::

    LTV = sum over t = 1..T of CM_t / (1 + delta)^t

CM_t is the contribution margin (``Order.margin``) of the customer's orders in period t,
periods are months by default (``settings.ltv_period``), t = 1 is the period of the
customer's first purchase, and delta is ``settings.ltv_discount_rate`` per period. The sum
runs over every period up to the as-of date; periods without purchases add nothing. The
result is rounded to whole VND once, at the end.

Counted orders are ``kind = 'order'`` with a status other than cancelled or returned,
placed before the end of the as-of day (in the shop's time zone). Days and periods are
calendar days and months of the shop's time zone.

The predictive 12-month CLV comes from ``care.analytics.clv`` (BG/NBD for the number of purchases,
Gamma-Gamma for their value). The inputs are in weeks; purchases on the same day count
as one purchase; the value of a purchase is its contribution margin, so CLV is in VND of
margin, like LTV. Customers without a repeat purchase have no CLV (NULL), and when the
whole customer base is too small to fit the models nobody has one: no made-up figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import ArrayLike, NDArray

from care.analytics import clv
from care.core.models import COUNTED_ORDERS

EPOCH = date(1970, 1, 1)
PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}
JULIAN_DAY_OF_EPOCH = 2440587.5
"""The Julian day number of 1970-01-01 00:00 UTC (SQLite's julianday())."""

CLV_TIME_UNIT = "weeks"
DAYS_PER_WEEK = 7.0
WEEKS_PER_12_MONTHS = 365.25 / DAYS_PER_WEEK
FIT_SAMPLE = 100_000
"""Customers a CLV fit is estimated on at most (a seeded random sample beyond that)."""
EARLIEST_ORDER = datetime(1900, 1, 1, tzinfo=UTC)
"""Where ``offset_constant_since`` stops looking back."""


# --------------------------------------------------------------------------- the formula


def historical_ltv(margins: Iterable[tuple[int, float]], discount_rate: float) -> int:
    """LTV of ``(t, CM_t)`` pairs (t = 1 is the first period): the reference implementation.

    The SQL of a full run computes the same sum set-based; this is the formula as written,
    for one customer and for the tests that pin the SQL to it.
    """
    total = 0.0
    for t, margin in margins:
        if t < 1:
            raise ValueError("periods are counted from t = 1 (the first purchase's period)")
        total += margin / (1.0 + discount_rate) ** t
    return round(total)


def period_index(day: date, period: str) -> int:
    """A running number of the calendar period a day falls in (consecutive periods differ by 1)."""
    return int(_period_number(day.year, day.month, period))


def periods_of_days(days: NDArray[np.int64], period: str) -> NDArray[np.int64]:
    """``period_index`` of day numbers (days since 1970-01-01), a whole array at once."""
    months = (
        np.asarray(days, dtype=np.int64)
        .astype("datetime64[D]")
        .astype("datetime64[M]")
        .astype(np.int64)
    )
    return _period_number(months // 12 + 1970, months % 12 + 1, period)


# A calendar number: a plain int or a numpy array of them.
_Number = TypeVar("_Number", int, NDArray[np.int64])


def _period_number(year: _Number, month: _Number, period: str) -> _Number:
    """The period formula, for numbers and numpy arrays alike."""
    if period == "month":
        return year * 12 + month - 1
    if period == "quarter":
        return year * 4 + (month - 1) // 3
    if period == "year":
        return year
    raise ValueError(f"unknown LTV period {period!r}")


def rate_per_month(discount_rate: float, period: str) -> float:
    """The monthly rate equivalent to ``discount_rate`` per period (CLV discounts by month)."""
    months = 12 // PERIODS_PER_YEAR[period]
    growth: float = (1.0 + discount_rate) ** (1.0 / months)
    return growth - 1.0


# --------------------------------------------------------------------------- the time frame


@dataclass(frozen=True)
class Frame:
    """When a computation stands: the as-of day, where it ends in UTC, how periods count.

    Orders placed before ``cutoff`` (the first instant after the as-of day, local time)
    count. Day and period numbers are local calendar days and periods.
    """

    as_of: date
    cutoff: datetime
    timezone: str
    utc_offset_seconds: int
    period: str
    discount_rate: float

    @property
    def as_of_day(self) -> int:
        return (self.as_of - EPOCH).days

    @property
    def as_of_period(self) -> int:
        return period_index(self.as_of, self.period)

    @property
    def log_rate(self) -> float:
        return math.log1p(self.discount_rate)

    def ltv(self, discounted: float, first_period: int) -> int:
        """Finish the SQL sum (see ``CountedOrders.factor``) for one customer."""
        return int(self.ltvs(np.array([discounted]), np.array([first_period]))[0])

    def ltvs(
        self, discounted: NDArray[np.float64], first_period: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """Finish the SQL sums of many customers: the discount back to their first period,
        rounded to whole VND (half to even)."""
        exponent = -(self.as_of_period - np.asarray(first_period, dtype=np.int64) + 1)
        # numpy's stubs type the ufunc of exponent * log_rate as Any; the result is floats.
        rounded: NDArray[np.float64] = np.rint(
            np.asarray(discounted, dtype=float) * np.exp(exponent * self.log_rate)
        )
        return rounded.astype(np.int64)

    def discount_factor(self, period: int) -> float:
        """(1 + delta)^(as-of period - period): the weight of a margin earned in ``period``,
        computed exactly as the SQL of ``CountedOrders.factor`` does."""
        return math.exp((self.as_of_period - period) * self.log_rate)


def offset_constant_since(timezone: str, until: datetime) -> datetime:
    """The earliest instant from which the zone's UTC offset stays the one it has at ``until``.

    Local days and months of orders placed from then on are a fixed shift of UTC, which
    PostgreSQL computes far faster than with the zone's rules. Steps back a day at a time
    (zones change their offset months or years apart), then narrows the change down to
    the second; a zone that never changed gives ``EARLIEST_ORDER``.
    """
    zone = ZoneInfo(timezone)
    offset = until.astimezone(zone).utcoffset()
    step = timedelta(days=1)
    later = until
    while later - step > EARLIEST_ORDER and (later - step).astimezone(zone).utcoffset() == offset:
        later -= step
    if later - step <= EARLIEST_ORDER:
        return EARLIEST_ORDER
    earlier = later - step  # the offset differs here
    while later - earlier > timedelta(seconds=1):
        middle = earlier + timedelta(seconds=(later - earlier).total_seconds() // 2)
        if middle.astimezone(zone).utcoffset() == offset:
            later = middle
        else:
            earlier = middle
    return later


def frame_for(
    as_of: date | None,
    now: datetime,
    *,
    timezone: str,
    period: str,
    discount_rate: float,
) -> Frame:
    """The frame of a run: ``as_of`` or, without one, today in the shop's time zone."""
    if period not in PERIODS_PER_YEAR:
        raise ValueError(f"unknown LTV period {period!r}")
    zone = ZoneInfo(timezone)
    day = as_of or now.astimezone(zone).date()
    cutoff = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    offset = cutoff.utcoffset() or timedelta(0)
    return Frame(
        as_of=day,
        cutoff=cutoff.astimezone(UTC),
        timezone=timezone,
        utc_offset_seconds=int(offset.total_seconds()),
        period=period,
        discount_rate=discount_rate,
    )


# --------------------------------------------------------------------------- SQL pieces


@dataclass(frozen=True)
class CountedOrders:
    """SQL of the counted orders placed before ``:cutoff``, as table ``o``.

    ``source`` is the FROM ... WHERE clause; ``day`` the local calendar day of ``o`` (days
    since 1970-01-01); ``factor`` the weight (1+d)^(p_asof - p) of its margin, where p is
    its period (see ``period_index``); ``undated`` an aggregate counting the orders whose
    day and factor are unknown (NULL), which only a ``days_table`` leaves.

    Summed per customer, margin times factor is the LTV once ``Frame.ltvs`` discounts it
    back to the first period: CM_t / (1+d)^t with
    t = p - p_first + 1 factors into (1+d)^(p_asof - p) times (1+d)^-(p_asof - p_first + 1),
    so one pass over the orders needs no per-customer first period, and the exponents stay
    small and positive whatever the calendar year.
    """

    source: str
    day: str
    factor: str
    undated: str = "0"


def counted_orders_sql(
    dialect: str,
    period: str,
    *,
    where: str = "",
    days_table: str | None = None,
    offset_since: bool = False,
) -> CountedOrders:
    """The counted orders with their local day and LTV weight (see ``CountedOrders``).

    ``days_table`` (SQLite) names a table of (day, factor) rows (see ``factor_days``):
    looking day and factor up by the day's number is a third faster than working them
    out per order, month formatting included; orders on days missing from the table have
    NULL day and factor, counted by ``undated``. ``offset_since`` (PostgreSQL) shifts
    orders placed from ``:offset_since`` on by the fixed ``:utc_offset`` instead of
    applying the zone's rules (see ``offset_constant_since`` and ``local_day_sql``).
    """
    condition = f"{counted_condition('o')} AND o.placed_at < :cutoff {where}"
    day = local_day_sql(dialect, "o.placed_at", offset_since=offset_since)
    factor = (
        f"EXP((:as_of_period - {_local_period_sql(dialect, 'o.placed_at', period, offset_since)})"
        " * CAST(:log_rate AS DOUBLE PRECISION))"
    )
    if days_table is None:
        return CountedOrders(f"FROM orders o WHERE {condition}", day, factor)
    return CountedOrders(
        f"FROM orders o LEFT JOIN {days_table} d ON d.day = {day} WHERE {condition}",
        "d.day",
        "d.factor",
        "COUNT(*) - COUNT(d.day)",
    )


def local_day_sql(dialect: str, column: str, *, offset_since: bool = False) -> str:
    """The local calendar day (days since 1970-01-01) of a UTC time column.

    PostgreSQL converts with the zone's rules (``:tz``), or, with ``offset_since``, shifts
    times from ``:offset_since`` on by ``:utc_offset``. SQLite, which has no rules, shifts
    by the frame's UTC offset (``:utc_offset_days``), exact for zones without daylight
    saving such as Asia/Ho_Chi_Minh.
    """
    if dialect == "postgresql":
        return f"(CAST({_local_time_sql(column, offset_since)} AS DATE) - DATE '1970-01-01')"
    return f"CAST(julianday({column}) + :utc_offset_days - {JULIAN_DAY_OF_EPOCH} AS INTEGER)"


def day_start_sql(dialect: str, day: str) -> str:
    """Midnight UTC at the start of a day number, comparable with the stored times."""
    if dialect == "postgresql":
        return f"to_timestamp(CAST({day} AS DOUBLE PRECISION) * 86400)"
    return f"datetime({day} + {JULIAN_DAY_OF_EPOCH})"


def _local_time_sql(column: str, offset_since: bool) -> str:
    exact = f"{column} AT TIME ZONE :tz"
    if not offset_since:
        return f"({exact})"
    return (
        f"(CASE WHEN {column} >= :offset_since"
        f" THEN {column} AT TIME ZONE CAST(:utc_offset AS INTERVAL) ELSE {exact} END)"
    )


def _local_period_sql(dialect: str, column: str, period: str, offset_since: bool) -> str:
    if dialect == "postgresql":
        local = _local_time_sql(column, offset_since)
        year = f"CAST(date_part('year', {local}) AS INTEGER)"
        month = f"CAST(date_part('month', {local}) AS INTEGER)"
        return _period_sql(year, month, period)
    ym = f"CAST(strftime('%Y%m', julianday({column}) + :utc_offset_days) AS INTEGER)"
    return _period_sql(f"({ym} / 100)", f"({ym} % 100)", period)


def _period_sql(year: str, month: str, period: str) -> str:
    """``_period_number`` in SQL (integer division in both databases)."""
    if period == "month":
        return f"({year} * 12 + {month} - 1)"
    if period == "quarter":
        return f"({year} * 4 + ({month} - 1) / 3)"
    if period == "year":
        return year
    raise ValueError(f"unknown LTV period {period!r}")


def counted_condition(alias: str) -> str:
    """``COUNTED_ORDERS`` on the orders table known as ``alias`` in a query."""
    return COUNTED_ORDERS.replace("kind", f"{alias}.kind").replace("status", f"{alias}.status")


def factor_days(frame: Frame) -> list[tuple[int, float]]:
    """(day, factor) rows for a ``days_table``: every day from 1970-01-01 to the as-of day."""
    numbers = np.arange(0, frame.as_of_day + 1)
    periods = periods_of_days(numbers, frame.period)
    return [
        (day, frame.discount_factor(period))
        for day, period in zip(numbers.tolist(), periods.tolist(), strict=True)
    ]


def frame_params(frame: Frame, dialect: str) -> dict[str, object]:
    """Bind parameters every SQL piece above uses."""
    params: dict[str, object] = {
        "as_of_period": frame.as_of_period,
        "as_of_day": frame.as_of_day,
        "log_rate": frame.log_rate,
    }
    if dialect == "postgresql":
        params["tz"] = frame.timezone
        params["utc_offset"] = timedelta(seconds=frame.utc_offset_seconds)
    else:
        params["utc_offset_days"] = frame.utc_offset_seconds / 86_400.0
    return params


# --------------------------------------------------------------------------- CLV


@dataclass(frozen=True)
class ClvFit:
    """The fitted models of a run, or why there are none."""

    bgnbd: clv.BgNbdParams | None
    gamma_gamma: clv.GammaGammaParams | None
    bgnbd_problem: str | None = None
    gamma_gamma_problem: str | None = None


@dataclass(frozen=True)
class ClvInputs:
    """Per-customer summaries in weeks (see care.analytics.clv): x, t_x, T, mean repeat margin."""

    x: NDArray[np.float64]
    t_x: NDArray[np.float64]
    T: NDArray[np.float64]
    m_x: NDArray[np.float64]


def clv_inputs(
    purchase_days: ArrayLike,
    first_day: ArrayLike,
    last_day: ArrayLike,
    margin: ArrayLike,
    first_margin: ArrayLike,
    as_of_day: int,
) -> ClvInputs:
    """x = purchase days after the first, t_x and T in weeks, m_x = mean margin of repeats.

    A negative mean repeat margin (returns booked as negative margin) carries no spend
    information for Gamma-Gamma and is treated as none.
    """
    x = np.asarray(purchase_days, dtype=float) - 1.0
    first = np.asarray(first_day, dtype=float)
    t_x = (np.asarray(last_day, dtype=float) - first) / DAYS_PER_WEEK
    T = (float(as_of_day) - first) / DAYS_PER_WEEK
    repeat_margin = np.asarray(margin, dtype=float) - np.asarray(first_margin, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        m_x = np.where(x > 0, repeat_margin / np.maximum(x, 1.0), 0.0)
    return ClvInputs(x=x, t_x=t_x, T=T, m_x=np.maximum(m_x, 0.0))


def fit_clv(inputs: ClvInputs, *, seed: int = 0, sample: int = FIT_SAMPLE) -> ClvFit:
    """Fit BG/NBD and Gamma-Gamma; a model that cannot be fitted is reported, not faked.

    Beyond ``sample`` customers the fit runs on a seeded random sample: the parameters
    describe the population and a few hundred thousand customers pin them down as well as
    a million, at a fraction of the time. Predictions cover every customer.
    """
    n = inputs.x.size
    pick: slice | NDArray[np.int64] = slice(None)
    if n > sample:
        pick = np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False))
    x, t_x, T, m_x = inputs.x[pick], inputs.t_x[pick], inputs.T[pick], inputs.m_x[pick]
    bgnbd = gamma_gamma = None
    bg_problem = gg_problem = None
    try:
        bgnbd = clv.fit_bgnbd(x, t_x, T, time_unit=CLV_TIME_UNIT)
    except ValueError as exc:
        bg_problem = str(exc)
    try:
        gamma_gamma = clv.fit_gamma_gamma(x, m_x)
    except ValueError as exc:
        gg_problem = str(exc)
    return ClvFit(bgnbd, gamma_gamma, bg_problem, gg_problem)


@dataclass(frozen=True)
class ClvPrediction:
    """Per-customer predictions, NaN where there is no estimate."""

    expected_purchases: NDArray[np.float64]
    p_alive: NDArray[np.float64]
    clv: NDArray[np.float64]


def predict(fit: ClvFit, inputs: ClvInputs, *, monthly_discount_rate: float) -> ClvPrediction:
    """Expected purchases and P(alive) from BG/NBD; 12-month CLV when both models fitted."""
    nan = np.full(inputs.x.shape, np.nan)
    if fit.bgnbd is None:
        return ClvPrediction(nan, nan.copy(), nan.copy())
    expected = np.asarray(
        clv.expected_purchases(fit.bgnbd, WEEKS_PER_12_MONTHS, inputs.x, inputs.t_x, inputs.T),
        dtype=float,
    )
    alive = np.asarray(clv.probability_alive(fit.bgnbd, inputs.x, inputs.t_x, inputs.T))
    value = nan.copy()
    # Only repeat buyers have a spend estimate (the others' CLV is NaN anyway), so the
    # twelve monthly horizons are evaluated for them alone.
    repeat = (inputs.x > 0) & (inputs.m_x > 0)
    if fit.gamma_gamma is not None and repeat.any():
        value[repeat] = np.asarray(
            clv.clv_12_months(
                fit.bgnbd,
                fit.gamma_gamma,
                inputs.x[repeat],
                inputs.t_x[repeat],
                inputs.T[repeat],
                inputs.m_x[repeat],
                monthly_discount_rate=monthly_discount_rate,
            ),
            dtype=float,
        )
    return ClvPrediction(expected, alive.astype(float), value)
