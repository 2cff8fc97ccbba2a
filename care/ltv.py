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

The predictive 12-month CLV comes from ``care.clv`` (BG/NBD for the number of purchases,
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
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from care import clv

EPOCH = date(1970, 1, 1)
PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}
COUNTED_ORDERS = "kind = 'order' AND status NOT IN ('cancelled', 'returned')"
"""The SQL condition of an order that counts as a purchase (RFM, LTV, VI alike)."""

CLV_TIME_UNIT = "weeks"
DAYS_PER_WEEK = 7.0
WEEKS_PER_12_MONTHS = 365.25 / DAYS_PER_WEEK
FIT_SAMPLE = 100_000
"""Customers a CLV fit is estimated on at most (a seeded random sample beyond that)."""


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
    if period == "month":
        return day.year * 12 + day.month - 1
    if period == "quarter":
        return day.year * 4 + (day.month - 1) // 3
    if period == "year":
        return day.year
    raise ValueError(f"unknown LTV period {period!r}")


def rate_per_month(discount_rate: float, period: str) -> float:
    """The monthly rate equivalent to ``discount_rate`` per period (CLV discounts by month)."""
    months = 12 // PERIODS_PER_YEAR[period]
    return (1.0 + discount_rate) ** (1.0 / months) - 1.0


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
        """Finish the SQL sum (see ``ltv_sum_sql``) for one customer."""
        return round(discounted * math.exp(-(self.as_of_period - first_period + 1) * self.log_rate))


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


def counted_orders_sql(dialect: str, period: str, *, where: str = "") -> str:
    """CTEs ending in ``o(customer_id, amount, margin, day, period)``: the counted orders
    placed before ``:cutoff``, with the local calendar day (days since 1970-01-01) and the
    running period number (see ``period_index``) of each.

    PostgreSQL converts with the time-zone rules (``:tz``). SQLite, which has none, shifts
    by the frame's UTC offset (``:utc_offset_days``), exact for zones without daylight
    saving such as Asia/Ho_Chi_Minh. On SQLite each step is fenced with ``LIMIT -1`` so
    that the subquery is not flattened into its user: flattened, the date functions run
    once per reference (eight times per order) instead of once, which doubles the time of
    a full run.
    """
    condition = f"{COUNTED_ORDERS} AND placed_at < :cutoff {where}"
    if dialect == "postgresql":
        local = "o_local.local_time"
        year = f"CAST(EXTRACT(YEAR FROM {local}) AS INTEGER)"
        month = f"CAST(EXTRACT(MONTH FROM {local}) AS INTEGER)"
        return f"""
            o_local AS (
                SELECT customer_id, amount, margin, (placed_at AT TIME ZONE :tz) AS local_time
                FROM orders WHERE {condition}
            ),
            o AS (
                SELECT customer_id, amount, margin,
                       CAST({local} AS DATE) - DATE '1970-01-01' AS day,
                       {_period_of(year, month, period)} AS period
                FROM o_local
            )"""
    return f"""
        o_jd AS (
            SELECT customer_id, amount, margin,
                   julianday(placed_at) + :utc_offset_days AS jd
            FROM orders WHERE {condition} LIMIT -1
        ),
        o_ym AS (
            SELECT customer_id, amount, margin, CAST(jd - 2440587.5 AS INTEGER) AS day,
                   CAST(strftime('%Y%m', jd) AS INTEGER) AS ym
            FROM o_jd LIMIT -1
        ),
        o AS (
            SELECT customer_id, amount, margin, day,
                   {_period_of("(ym / 100)", "(ym % 100)", period)} AS period
            FROM o_ym LIMIT -1
        )"""


def _period_of(year: str, month: str, period: str) -> str:
    if period == "month":
        return f"({year} * 12 + {month} - 1)"
    if period == "quarter":
        return f"({year} * 4 + ({month} - 1) / 3)"
    if period == "year":
        return year
    raise ValueError(f"unknown LTV period {period!r}")


def ltv_sum_sql(margin: str, period: str) -> str:
    """Aggregate that, finished by ``Frame.ltv``/``ltv_finish_sql``, gives the LTV.

    CM_t / (1+d)^t with t = p - p_first + 1 factors into (1+d)^(p_asof - p) (summed over
    orders in one pass, no per-customer first period needed yet) times
    (1+d)^-(p_asof - p_first + 1). Exponents stay small and positive, so nothing
    overflows whatever the calendar year.
    """
    return f"SUM({margin} * EXP((:as_of_period - {period}) * CAST(:log_rate AS DOUBLE PRECISION)))"


def ltv_finish_sql(discounted: str, first_period: str) -> str:
    return (
        f"CAST(ROUND({discounted} * EXP(-(:as_of_period - {first_period} + 1)"
        " * CAST(:log_rate AS DOUBLE PRECISION))) AS BIGINT)"
    )


def frame_params(frame: Frame, dialect: str) -> dict[str, object]:
    """Bind parameters every SQL piece above uses."""
    params: dict[str, object] = {
        "as_of_period": frame.as_of_period,
        "as_of_day": frame.as_of_day,
        "log_rate": frame.log_rate,
    }
    if dialect == "postgresql":
        params["tz"] = frame.timezone
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
    """Per-customer summaries in weeks (see care.clv): x, t_x, T and mean repeat margin."""

    x: NDArray[np.float64]
    t_x: NDArray[np.float64]
    T: NDArray[np.float64]
    m_x: NDArray[np.float64]


def clv_inputs(
    purchase_days: NDArray, first_day: NDArray, last_day: NDArray,
    margin: NDArray, first_margin: NDArray, as_of_day: int,
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
    pick = slice(None)
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
                fit.bgnbd, fit.gamma_gamma, inputs.x[repeat], inputs.t_x[repeat],
                inputs.T[repeat], inputs.m_x[repeat],
                monthly_discount_rate=monthly_discount_rate,
            ),
            dtype=float,
        )
    return ClvPrediction(expected, alive.astype(float), value)
