"""Predictive customer lifetime value: BG/NBD purchase counts and Gamma-Gamma spend.

Each customer is summarised as in Fader, Hardie and Lee (2005), "Counting your customers
the easy way: an alternative to the Pareto/NBD model":

- ``x``: number of repeat purchases (purchases after the first one) in the calibration
  period; purchases on the same day are usually merged into one;
- ``t_x``: time of the last purchase, measured from the first purchase (0 when x = 0);
- ``T``: time from the first purchase to the end of the calibration period;
- ``m_x``: mean value of the x repeat purchases (the first purchase is left out, as in
  Fader and Hardie's note "The Gamma-Gamma Model of Monetary Value", 2013).

x, t_x and T are in one time unit chosen by the caller (the paper and the app use weeks);
the fitted parameters remember it, and horizons ``t`` are in the same unit.

Rules for what can be estimated, so that callers never get a made-up number:

- a BG/NBD fit needs at least ``MIN_CUSTOMERS`` customers of whom at least
  ``MIN_REPEAT_BUYERS`` bought again; a Gamma-Gamma fit needs at least
  ``MIN_SPEND_CUSTOMERS`` repeat buyers with a positive mean spend. Otherwise the fit
  raises ``ValueError``;
- a customer without a repeat purchase (x = 0) or without a positive mean repeat spend has
  no spend estimate, so ``expected_average_spend`` and ``predict_clv`` give NaN for them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import betaln, expit, gammaln, hyp2f1

MIN_CUSTOMERS = 50
MIN_REPEAT_BUYERS = 10
MIN_SPEND_CUSTOMERS = 20

DAYS_PER_UNIT = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12}
"""Time units a fit may be expressed in, as their length in days."""

# Bounds on the log-parameters keep the optimiser away from overflow. Fits run on data
# rescaled to a mean of 1, where e^±12 (6e-6 .. 1.6e5) is far wider than any plausible
# shape or scale.
_LOG_BOUND = 12.0

Number = float | NDArray[np.float64]


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD model.

    Purchase rate lambda ~ Gamma(r, alpha) (alpha is a rate, in 1/time_unit), dropout
    probability after each repeat purchase p ~ Beta(a, b).
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n_customers: int
    time_unit: str


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma spend model.

    Each transaction value ~ Gamma(p, nu) with customer-level nu ~ Gamma(q, gamma), so the
    population mean of a customer's average spend is p * gamma / (q - 1) when q > 1.
    """

    p: float
    q: float
    gamma: float
    log_likelihood: float
    n_customers: int


# --------------------------------------------------------------------------- BG/NBD


def bgnbd_log_likelihood(
    r: float, alpha: float, a: float, b: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> NDArray[np.float64]:
    """Per-customer log-likelihood (paper eq. 6), computed in logs so large x cannot overflow.

    L = B(a, b+x)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+t_x)^(r+x))
    """
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    return _bgnbd_log_likelihood(r, alpha, a, b, _Distinct.of(x), x, t_x, T)


def _bgnbd_log_likelihood(
    r: float,
    alpha: float,
    a: float,
    b: float,
    counts: _Distinct,
    x: NDArray[np.float64],
    t_x: NDArray[np.float64],
    T: NDArray[np.float64],
) -> NDArray[np.float64]:
    """``bgnbd_log_likelihood`` with the distinct purchase counts of ``x`` found once (a fit
    evaluates it a hundred times on the same customers)."""
    log_alpha = float(np.log(alpha))  # numpy's stubs type a ufunc of a scalar as Any
    common = counts.map(lambda v: gammaln(r + v)) - gammaln(r) + r * log_alpha - betaln(a, b)
    still_alive = counts.map(lambda v: betaln(a, b + v)) - (r + x) * np.log(alpha + T)
    repeat = x > 0
    dropped = np.full_like(x, -np.inf)
    xr = x[repeat]
    # B(a+1, b+x-1) is only defined (and only needed) for x >= 1.
    after_repeat = counts.map(lambda v: betaln(a + 1, b + np.maximum(v, 1) - 1))
    dropped[repeat] = after_repeat[repeat] - (r + xr) * np.log(alpha + t_x[repeat])
    return common + np.logaddexp(still_alive, dropped)


def fit_bgnbd(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    time_unit: str = "weeks",
    min_customers: int = MIN_CUSTOMERS,
    min_repeat_buyers: int = MIN_REPEAT_BUYERS,
) -> BgNbdParams:
    """Fit BG/NBD by maximum likelihood.

    The optimiser works on log-parameters so that r, alpha, a, b stay positive without
    constraints. With fewer customers or repeat buyers than the minimums the dropout
    parameters a and b are not identified, so the fit refuses rather than return noise.
    """
    x, t_x, T = _check_rft(x, t_x, T)
    if time_unit not in DAYS_PER_UNIT:
        raise ValueError(f"time_unit must be one of {sorted(DAYS_PER_UNIT)}, not {time_unit!r}")
    n = x.size
    n_repeat = int(np.count_nonzero(x > 0))
    if n < min_customers or n_repeat < min_repeat_buyers:
        raise ValueError(
            f"BG/NBD needs at least {min_customers} customers and {min_repeat_buyers} repeat "
            f"buyers; got {n} customers and {n_repeat} repeat buyers"
        )

    # Fit in units of the mean T so the start and the bounds suit any time unit. Rescaling
    # time by s multiplies alpha by s and each customer's likelihood by s^(-x).
    scale = float(T.mean())
    if scale <= 0:
        raise ValueError("BG/NBD needs customers observed for a positive time T")
    t_xs, Ts = t_x / scale, T / scale
    counts = _Distinct.of(x)

    def objective(theta: NDArray[np.float64]) -> float:
        r, alpha, a, b = np.exp(theta)
        return -float(np.mean(_bgnbd_log_likelihood(r, alpha, a, b, counts, x, t_xs, Ts)))

    # alpha starts as the reciprocal of the observed purchase rate.
    rate = max(float(x.sum()), 1.0) / float(Ts.sum())
    theta = _minimise(objective, np.log([1.0, 1.0 / rate, 1.0, 1.0]), 4)
    r, alpha, a, b = (float(v) for v in np.exp(theta))
    return BgNbdParams(
        r=r,
        alpha=alpha * scale,
        a=a,
        b=b,
        log_likelihood=-objective(theta) * n - float(x.sum()) * math.log(scale),
        n_customers=n,
        time_unit=time_unit,
    )


def probability_alive(params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Number:
    """P(customer still active at T | x, t_x, T), paper eq. 13.

    In BG/NBD a customer can drop out only right after a repeat purchase, so a customer
    with x = 0 is alive with probability 1 (a known property of the model, not a bug).
    """
    x, t_x, T = _check_rft(x, t_x, T)
    return _result(expit(-_log_dropout_odds(params, x, t_x, T)))


def expected_purchases(
    params: BgNbdParams, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> Number:
    """Expected number of purchases in (T, T + t] for a customer with history (x, t_x, T).

    Paper eq. 10. The factor ((alpha+T)/(alpha+T+t))^(r+x) * 2F1(r+x, b+x; a+b+x-1; z)
    is evaluated after Euler's transformation as (1-z)^(a-1) * 2F1(a+b-1-r, a-1;
    a+b+x-1; z): the original 2F1 grows like (1-z)^(-x) and overflows for frequent
    buyers, while the transformed one stays near 1 for any x.
    """
    x, t_x, T = _check_rft(x, t_x, T)
    t = np.asarray(t, dtype=float)
    if np.any(t < 0):
        raise ValueError("t must be >= 0")
    bracket = _unconditional_part(params, t, x, T)
    return _result(bracket * expit(-_log_dropout_odds(params, x, t_x, T)))


def expected_purchases_new(params: BgNbdParams, t: ArrayLike) -> Number:
    """E[X(t)]: expected repeat purchases in the first t periods of a new customer (eq. 9)."""
    t = np.asarray(t, dtype=float)
    if np.any(t < 0):
        raise ValueError("t must be >= 0")
    zero = np.zeros_like(t)
    return _result(_unconditional_part(params, t, zero, zero))


def _unconditional_part(
    params: BgNbdParams, t: NDArray[np.float64], x: NDArray[np.float64], T: NDArray[np.float64]
) -> NDArray[np.float64]:
    """(a+b+x-1)/(a-1) * [1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)], z = t/(alpha+T+t).

    Computed once per distinct (x, T, t): customers share them, and 2F1 dominates the cost.
    """
    r, alpha, b = params.r, params.alpha, params.b
    a = params.a
    if abs(a - 1.0) < 1e-7:
        # The formula is 0/0 at a = 1; the limit is continuous, so step just off it.
        a = 1.0 + 1e-7

    def part(
        x: NDArray[np.float64], T: NDArray[np.float64], t: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        z = t / (alpha + T + t)
        tail = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
        return (a + b + x - 1) / (a - 1) * (1.0 - tail)

    return _each_distinct(part, x, T, t)


def _log_dropout_odds(
    params: BgNbdParams, x: NDArray[np.float64], t_x: NDArray[np.float64], T: NDArray[np.float64]
) -> NDArray[np.float64]:
    """log of a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x) for x > 0, -inf for x = 0."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    out = np.full(np.broadcast(x, t_x, T).shape, -np.inf)
    x, t_x, T = np.broadcast_arrays(x, t_x, T)
    rep = x > 0
    xr = x[rep]
    out[rep] = (
        np.log(a)
        - np.log(b + xr - 1)
        + (r + xr) * (np.log(alpha + T[rep]) - np.log(alpha + t_x[rep]))
    )
    return out


# ---------------------------------------------------------------------- Gamma-Gamma


def gamma_gamma_log_likelihood(
    p: float, q: float, gamma: float, x: ArrayLike, m_x: ArrayLike
) -> NDArray[np.float64]:
    """Per-customer log density of the mean spend m_x over x transactions (the 2013 note).

    f(m_x) = Gamma(px+q) / (Gamma(px) Gamma(q)) * gamma^q m_x^(px-1) x^(px)
             / (gamma + x m_x)^(px+q)
    """
    x = np.asarray(x, dtype=float)
    return _gamma_gamma_log_likelihood(p, q, gamma, _Distinct.of(x), x, np.asarray(m_x, float))


def _gamma_gamma_log_likelihood(
    p: float,
    q: float,
    gamma: float,
    counts: _Distinct,
    x: NDArray[np.float64],
    m_x: NDArray[np.float64],
) -> NDArray[np.float64]:
    """``gamma_gamma_log_likelihood`` with the distinct counts of ``x`` found once."""
    px = p * x
    return (
        counts.map(lambda v: gammaln(p * v + q))
        - counts.map(lambda v: gammaln(p * v))
        - gammaln(q)
        + q * float(np.log(gamma))
        + (px - 1) * np.log(m_x)
        + px * np.log(x)
        - (px + q) * np.log(gamma + x * m_x)
    )


def fit_gamma_gamma(
    x: ArrayLike, m_x: ArrayLike, *, min_customers: int = MIN_SPEND_CUSTOMERS
) -> GammaGammaParams:
    """Fit the Gamma-Gamma spend model on repeat buyers only.

    Customers with x = 0 or m_x <= 0 carry no information on repeat spend and are left out
    (pass the whole customer base; the filter is applied here). The model assumes spend is
    independent of purchase frequency; check that correlation is weak before relying on it.
    """
    x, m_x = _check_spend(x, m_x)
    keep = (x > 0) & (m_x > 0)
    x, m_x = x[keep], m_x[keep]
    n = x.size
    if n < min_customers:
        raise ValueError(
            f"Gamma-Gamma needs at least {min_customers} repeat buyers with a positive mean "
            f"spend; got {n}"
        )
    if np.ptp(m_x) == 0:
        raise ValueError("Gamma-Gamma needs some variation in mean spend between customers")

    # Fit in units of the mean spend so the start and the bounds suit dollars and dong
    # alike. Rescaling money by s multiplies gamma by s and each density by 1/s.
    scale = float(m_x.mean())
    ms = m_x / scale
    counts = _Distinct.of(x)

    def objective(theta: NDArray[np.float64]) -> float:
        p, q, gamma = np.exp(theta)
        return -float(np.mean(_gamma_gamma_log_likelihood(p, q, gamma, counts, x, ms)))

    theta = _minimise(objective, np.zeros(3), 3)
    p, q, gamma = (float(v) for v in np.exp(theta))
    return GammaGammaParams(
        p=p,
        q=q,
        gamma=gamma * scale,
        log_likelihood=-objective(theta) * n - n * math.log(scale),
        n_customers=n,
    )


def expected_average_spend(params: GammaGammaParams, x: ArrayLike, m_x: ArrayLike) -> Number:
    """E[M | x, m_x]: the customer's mean spend shrunk towards the population mean.

    Equal to (gamma + x m_x) p / (p x + q - 1), a weighted average of the population mean
    p gamma / (q - 1) and the observed m_x, which gets more weight as x grows. NaN for a
    customer with no repeat purchase or no positive mean spend: there is nothing of theirs
    to estimate from.
    """
    x, m_x = _check_spend(x, m_x)
    p, q, gamma = params.p, params.q, params.gamma
    denominator = p * x + q - 1
    # A non-positive denominator (possible only when q < 1) means no finite mean exists.
    ok = (x > 0) & (m_x > 0) & (denominator > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        spend = (gamma + x * m_x) * p / denominator
    return _result(np.where(ok, spend, np.nan))


# ------------------------------------------------------------------------------ CLV


def predict_clv(
    bgnbd: BgNbdParams,
    gamma_gamma: GammaGammaParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    m_x: ArrayLike,
    *,
    months: int = 12,
    monthly_discount_rate: float = 0.0,
    margin: float = 1.0,
) -> Number:
    """Expected value of a customer's purchases over the next ``months`` months.

    Purchases expected in month i (from BG/NBD) times the expected spend per purchase
    (from Gamma-Gamma) times ``margin`` (the contribution-margin share, 1 for revenue),
    discounted as received at the end of month i:
    sum over i of (E[Y(i)] - E[Y(i-1)]) * spend * margin / (1 + d)^i. With d = 0 this is
    E[Y(months)] * spend * margin. NaN for customers without a spend estimate (x = 0 or
    m_x <= 0); see ``expected_average_spend``.
    """
    if months < 1:
        raise ValueError("months must be >= 1")
    if monthly_discount_rate < 0:
        raise ValueError("monthly_discount_rate must be >= 0")
    x, t_x, T = _check_rft(x, t_x, T)
    spend = np.asarray(expected_average_spend(gamma_gamma, x, m_x))
    units_per_month = DAYS_PER_UNIT["months"] / DAYS_PER_UNIT[bgnbd.time_unit]
    ends = np.arange(months + 1) * units_per_month
    shape = np.broadcast(x, t_x, T).shape
    cumulative = np.asarray(
        expected_purchases(
            bgnbd, ends.reshape((-1,) + (1,) * len(shape)), x[None], t_x[None], T[None]
        )
    )
    per_month = np.diff(cumulative, axis=0)
    discount = (1.0 + monthly_discount_rate) ** -np.arange(1, months + 1)
    purchases = np.tensordot(discount, per_month, axes=1)
    return _result(purchases * spend * margin)


def clv_12_months(
    bgnbd: BgNbdParams,
    gamma_gamma: GammaGammaParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    m_x: ArrayLike,
    *,
    monthly_discount_rate: float = 0.0,
    margin: float = 1.0,
) -> Number:
    """CLV over the next twelve months; see ``predict_clv``."""
    return predict_clv(
        bgnbd,
        gamma_gamma,
        x,
        t_x,
        T,
        m_x,
        months=12,
        monthly_discount_rate=monthly_discount_rate,
        margin=margin,
    )


# -------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class _Distinct:
    """An array as its distinct values and, per element, the index of its value.

    scipy's special functions (gammaln, betaln, hyp2f1) cost far more per element than
    numpy's arithmetic, and customers share their numbers of purchases and of days
    observed: evaluated once per distinct value, they give the very same numbers at a
    fraction of the cost.
    """

    values: NDArray[np.float64]
    index: NDArray[np.intp]

    @classmethod
    def of(cls, array: ArrayLike) -> _Distinct:
        array = np.asarray(array, dtype=float)
        values, index = np.unique(array, return_inverse=True)
        return cls(values, index.reshape(array.shape))

    def map(self, f: Callable[[NDArray[np.float64]], ArrayLike]) -> NDArray[np.float64]:
        """``f`` of every element, computed once per distinct value."""
        return np.asarray(f(self.values), dtype=float)[self.index]


def _each_distinct(
    f: Callable[..., NDArray[np.float64]], *arrays: ArrayLike
) -> NDArray[np.float64]:
    """``f(*arrays)`` over their broadcast, computed once per distinct combination of values.

    The combinations are cells of the grid of each array's distinct values; only the cells
    in use are computed. Where the grid is no smaller than the broadcast, ``f`` runs on
    the broadcast itself.
    """
    shape = np.broadcast_shapes(*(np.shape(v) for v in arrays))
    parts = [_Distinct.of(v) for v in arrays]
    sizes = [part.values.size for part in parts]
    cells = math.prod(sizes)
    if cells >= math.prod(shape):
        return np.asarray(f(*np.broadcast_arrays(*(np.asarray(v, float) for v in arrays))))
    code = np.zeros(shape, dtype=np.int32 if cells < 2**31 else np.int64)
    for part, size in zip(parts, sizes, strict=True):
        code = code * size + part.index.astype(code.dtype)
    used = np.zeros(cells, dtype=bool)
    used[code.ravel()] = True
    which = np.flatnonzero(used)
    keys = np.unravel_index(which, sizes)
    grid = np.empty(cells)
    grid[which] = f(*(part.values[key] for part, key in zip(parts, keys, strict=True)))
    return grid[code]


def _minimise(
    objective: Callable[[NDArray[np.float64]], float], start: NDArray[np.float64], k: int
) -> NDArray[np.float64]:
    """Minimise over log-parameters; refuse to return a fit the optimiser did not reach."""
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * k
    with np.errstate(all="ignore"):
        res = minimize(objective, start, method="L-BFGS-B", bounds=bounds)
        if not res.success or not np.isfinite(res.fun):
            res = minimize(
                objective,
                res.x if np.isfinite(res.fun) else start,
                method="Nelder-Mead",
                bounds=bounds,
                options={"xatol": 1e-8, "fatol": 1e-12, "maxiter": 20000},
            )
    if not np.isfinite(res.fun) or not res.success:
        raise ValueError(f"maximum likelihood fit did not converge: {res.message}")
    if np.any(np.abs(res.x) >= _LOG_BOUND - 1e-6):
        raise ValueError("maximum likelihood fit ran to a parameter bound; the data do not fit")
    return res.x


def _check_rft(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    x, t_x, T = np.broadcast_arrays(x, t_x, T)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t_x)) and np.all(np.isfinite(T))):
        raise ValueError("x, t_x and T must be finite")
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ValueError("x must be a whole number of repeat purchases >= 0")
    if np.any(t_x < 0) or np.any(t_x > T):
        raise ValueError("need 0 <= t_x <= T")
    if np.any((x == 0) & (t_x != 0)):
        raise ValueError("t_x must be 0 for a customer without repeat purchases")
    return x, t_x, T


def _check_spend(x: ArrayLike, m_x: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x, m_x = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(m_x, dtype=float))
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ValueError("x must be a whole number of repeat purchases >= 0")
    if np.any(~np.isfinite(m_x)) or np.any(m_x < 0):
        raise ValueError("m_x must be finite and >= 0")
    return x, m_x


def _result(values: NDArray[np.float64]) -> Number:
    values = np.asarray(values, dtype=float)
    return float(values) if values.ndim == 0 else values
