"""BG/NBD and Gamma-Gamma models checked against the CDNOW results and simulated data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.special import hyp2f1
from scipy.stats import chi2

from care.analytics import clv

CDNOW = Path(__file__).parents[1] / "data" / "cdnow_summary.csv"

# Fader, Hardie and Lee (2005), CDNOW sample, weeks; Fader and Hardie (2013), 946 repeat buyers.
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_BGNBD_LL = -9582.4
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def agrees_to_two_significant_digits(value: float, published: float) -> bool:
    """Within half a unit of the second significant digit of the published figure."""
    half_unit = 0.5 * 10 ** (math.floor(math.log10(abs(published))) - 1)
    return abs(value - published) <= half_unit


@pytest.fixture(scope="module")
def cdnow() -> dict[str, np.ndarray]:
    data = np.genfromtxt(CDNOW, delimiter=",", names=True)
    return {name: data[name] for name in ("x", "t_x", "T", "m_x")}


@pytest.fixture(scope="module")
def cdnow_bgnbd(cdnow) -> clv.BgNbdParams:
    return clv.fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], time_unit="weeks")


@pytest.fixture(scope="module")
def cdnow_gamma_gamma(cdnow) -> clv.GammaGammaParams:
    return clv.fit_gamma_gamma(cdnow["x"], cdnow["m_x"])


def simulate(
    rng: np.random.Generator,
    n: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    p: float,
    q: float,
    gamma: float,
    T: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw (x, t_x, m_x) for n customers from the BG/NBD and Gamma-Gamma processes.

    Each customer buys at a Poisson rate lambda ~ Gamma(r, alpha) from a first purchase at
    time 0 and, after each repeat purchase, drops out for good with probability
    p ~ Beta(a, b). Repeat purchase values are Gamma(p, nu) with nu ~ Gamma(q, gamma); the
    mean of x of them is Gamma(p x, x nu).
    """
    rate = rng.gamma(r, 1 / alpha, n)
    dropout = rng.beta(a, b, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    now = np.zeros(n)
    active = np.arange(n)
    while active.size:
        now[active] += rng.exponential(1 / rate[active])
        active = active[now[active] <= T[active]]
        x[active] += 1
        t_x[active] = now[active]
        active = active[rng.random(active.size) >= dropout[active]]
    nu = rng.gamma(q, 1 / gamma, n)
    buyers = x > 0
    m_x = np.zeros(n)
    m_x[buyers] = rng.gamma(p * x[buyers], 1 / (x[buyers] * nu[buyers]))
    return x, t_x, m_x


# ---------------------------------------------------------------- the CDNOW sample


def test_cdnow_file_holds_the_published_sample(cdnow):
    assert cdnow["x"].size == 2357
    assert np.count_nonzero(cdnow["x"] > 0) == 946
    assert np.array_equal(cdnow["x"] > 0, cdnow["m_x"] > 0)
    assert np.mean(cdnow["m_x"][cdnow["x"] > 0]) == pytest.approx(35.08, abs=0.005)


def test_bgnbd_on_cdnow_matches_the_published_estimates(cdnow_bgnbd):
    for name, published in PUBLISHED_BGNBD.items():
        value = getattr(cdnow_bgnbd, name)
        assert agrees_to_two_significant_digits(value, published), (name, value, published)
    assert cdnow_bgnbd.log_likelihood == pytest.approx(PUBLISHED_BGNBD_LL, abs=0.5)
    assert cdnow_bgnbd.n_customers == 2357
    assert cdnow_bgnbd.time_unit == "weeks"


def test_gamma_gamma_on_cdnow_repeat_buyers_matches_the_published_estimates(
    cdnow_gamma_gamma,
):
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        value = getattr(cdnow_gamma_gamma, name)
        assert agrees_to_two_significant_digits(value, published), (name, value, published)
    assert cdnow_gamma_gamma.n_customers == 946


def test_the_time_unit_only_rescales_alpha(cdnow, cdnow_bgnbd, cdnow_gamma_gamma):
    in_days = clv.fit_bgnbd(cdnow["x"], 7 * cdnow["t_x"], 7 * cdnow["T"], time_unit="days")
    assert in_days.time_unit == "days"
    assert in_days.alpha == pytest.approx(7 * cdnow_bgnbd.alpha, rel=1e-3)
    for name in ("r", "a", "b"):
        assert getattr(in_days, name) == pytest.approx(getattr(cdnow_bgnbd, name), rel=1e-3)

    few = slice(0, 20)
    weekly = clv.clv_12_months(
        cdnow_bgnbd, cdnow_gamma_gamma, *(cdnow[k][few] for k in ("x", "t_x", "T", "m_x"))
    )
    daily = clv.clv_12_months(
        in_days,
        cdnow_gamma_gamma,
        cdnow["x"][few],
        7 * cdnow["t_x"][few],
        7 * cdnow["T"][few],
        cdnow["m_x"][few],
    )
    np.testing.assert_allclose(daily, weekly, rtol=1e-3)


def test_spend_in_dong_only_rescales_gamma(cdnow, cdnow_gamma_gamma):
    in_dong = clv.fit_gamma_gamma(cdnow["x"], 25_000 * cdnow["m_x"])
    assert in_dong.gamma == pytest.approx(25_000 * cdnow_gamma_gamma.gamma, rel=1e-3)
    assert in_dong.p == pytest.approx(cdnow_gamma_gamma.p, rel=1e-3)
    assert in_dong.q == pytest.approx(cdnow_gamma_gamma.q, rel=1e-3)


# ------------------------------------------------------------------ simulated data

TRUE_BGNBD = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}
TRUE_GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "gamma": 15.0}


def test_fits_recover_the_parameters_data_were_simulated_from():
    rng = np.random.default_rng(20240601)
    n = 10_000
    T = rng.uniform(26, 78, n)
    x, t_x, m_x = simulate(rng, n, **TRUE_BGNBD, **TRUE_GAMMA_GAMMA, T=T)

    bg = clv.fit_bgnbd(x, t_x, T)
    # Over 40 other seeds the relative errors had standard deviations of 2 % (r), 3 % (alpha),
    # 6 % (a), 7 % (b), 6 % (p), 2 % (q) and 8 % (gamma); the tolerances are about four.
    tolerance = {"r": 0.1, "alpha": 0.15, "a": 0.25, "b": 0.3}
    for name, true in TRUE_BGNBD.items():
        assert getattr(bg, name) == pytest.approx(true, rel=tolerance[name]), name
    # Likelihood-ratio test: the true parameters lie inside the 99.9 % confidence region.
    ll_true = clv.bgnbd_log_likelihood(**TRUE_BGNBD, x=x, t_x=t_x, T=T).sum()
    assert 0 <= 2 * (bg.log_likelihood - ll_true) < chi2.ppf(0.999, df=4)

    gg = clv.fit_gamma_gamma(x, m_x)
    assert gg.n_customers == np.count_nonzero(x > 0)
    tolerance = {"p": 0.25, "q": 0.1, "gamma": 0.35}
    for name, true in TRUE_GAMMA_GAMMA.items():
        assert getattr(gg, name) == pytest.approx(true, rel=tolerance[name]), name
    buyers = x > 0
    ll_true = clv.gamma_gamma_log_likelihood(**TRUE_GAMMA_GAMMA, x=x[buyers], m_x=m_x[buyers]).sum()
    assert 0 <= 2 * (gg.log_likelihood - ll_true) < chi2.ppf(0.999, df=3)


def test_expected_purchases_of_a_new_customer_match_simulation():
    rng = np.random.default_rng(7)
    n = 100_000
    horizon = 52.0
    x, _, _ = simulate(rng, n, **TRUE_BGNBD, **TRUE_GAMMA_GAMMA, T=np.full(n, horizon))
    params = clv.BgNbdParams(**TRUE_BGNBD, log_likelihood=0.0, n_customers=0, time_unit="weeks")
    standard_error = x.std() / math.sqrt(n)
    assert clv.expected_purchases_new(params, horizon) == pytest.approx(
        x.mean(), abs=4 * standard_error
    )
    assert clv.expected_purchases_new(params, 0.0) == 0.0


# ---------------------------------------------------- predictions for one customer


def test_expected_purchases_agree_with_the_papers_equation_10(cdnow_bgnbd):
    r, alpha, a, b = (getattr(cdnow_bgnbd, k) for k in ("r", "alpha", "a", "b"))
    x = np.array([0, 1, 2, 5, 14])
    t_x = np.array([0.0, 1.7, 30.43, 20.0, 37.0])
    T = np.array([38.86, 38.86, 38.86, 30.0, 38.0])
    t = 39.0
    z = t / (alpha + T + t)
    numerator = (
        (a + b + x - 1)
        / (a - 1)
        * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z))
    )
    denominator = 1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    np.testing.assert_allclose(
        clv.expected_purchases(cdnow_bgnbd, t, x, t_x, T), numerator / denominator, rtol=1e-9
    )


def test_expected_purchases_stay_finite_and_bounded_for_heavy_buyers(cdnow_bgnbd):
    x = np.array([50.0, 500.0, 5000.0, 5000.0])
    t_x = np.array([38.0, 38.5, 39.0, 1.0])
    T = np.full(4, 39.0)
    expected = clv.expected_purchases(cdnow_bgnbd, 52.0, x, t_x, T)
    assert np.all(np.isfinite(expected))
    # Never more than an always-alive customer at the posterior mean purchase rate.
    ceiling = (cdnow_bgnbd.r + x) / (cdnow_bgnbd.alpha + T) * 52.0
    assert np.all((expected >= 0) & (expected <= ceiling))
    # 5,000 purchases up to the last day: still buying; the same after 38 silent weeks: gone.
    assert expected[2] > 0.5 * ceiling[2]
    assert expected[3] < 1e-6


def test_expected_purchases_are_continuous_where_equation_10_is_zero_over_zero():
    x, t_x, T = [0, 2, 20], [0.0, 30.43, 38.0], [38.86, 38.86, 39.0]

    def at(a: float) -> np.ndarray:
        params = clv.BgNbdParams(0.243, 4.414, a, 2.426, 0.0, 0, "weeks")
        return clv.expected_purchases(params, 39.0, x, t_x, T)

    assert np.all(np.isfinite(at(1.0)))
    np.testing.assert_allclose(at(1.0), (at(0.9999) + at(1.0001)) / 2, rtol=1e-6)


def test_expected_purchases_grow_with_the_horizon(cdnow, cdnow_bgnbd):
    x, t_x, T = cdnow["x"], cdnow["t_x"], cdnow["T"]
    assert np.all(clv.expected_purchases(cdnow_bgnbd, 0.0, x, t_x, T) == 0)
    previous = np.zeros_like(x)
    for weeks in (4.0, 13.0, 26.0, 52.0):
        current = clv.expected_purchases(cdnow_bgnbd, weeks, x, t_x, T)
        assert np.all(current > previous)
        previous = current


def test_a_recent_frequent_buyer_is_almost_surely_alive(cdnow_bgnbd):
    assert clv.probability_alive(cdnow_bgnbd, 20, 38.5, 39.0) > 0.95


def test_a_frequent_buyer_silent_for_months_has_probably_left(cdnow_bgnbd):
    alive = clv.probability_alive(cdnow_bgnbd, 20, np.array([38.5, 30.0, 20.0, 5.0]), 39.0)
    assert np.all(np.diff(alive) < 0)
    assert alive[2] < 0.01


def test_a_customer_without_repeat_purchases_is_alive_in_bgnbd(cdnow_bgnbd):
    # Dropout happens only right after a repeat purchase (paper, assumption iii).
    assert clv.probability_alive(cdnow_bgnbd, 0, 0.0, 38.86) == 1.0
    assert clv.probability_alive(cdnow_bgnbd, 0, 0.0, 500.0) == 1.0


def test_expected_spend_shrinks_towards_the_population_mean(cdnow_gamma_gamma):
    gg = cdnow_gamma_gamma
    population = gg.p * gg.gamma / (gg.q - 1)
    few, many = clv.expected_average_spend(gg, np.array([1, 50]), np.array([100.0, 100.0]))
    assert population < few < many < 100.0
    assert many == pytest.approx(100.0, rel=0.02)
    assert clv.expected_average_spend(gg, 3, population) == pytest.approx(population)


def test_no_repeat_purchase_means_no_spend_estimate_and_no_clv(cdnow_bgnbd, cdnow_gamma_gamma):
    assert math.isnan(clv.expected_average_spend(cdnow_gamma_gamma, 0, 0.0))
    assert math.isnan(clv.clv_12_months(cdnow_bgnbd, cdnow_gamma_gamma, 0, 0.0, 30.0, 0.0))
    values = clv.clv_12_months(
        cdnow_bgnbd, cdnow_gamma_gamma, [0, 3], [0.0, 25.0], [30.0, 30.0], [0.0, 40.0]
    )
    assert math.isnan(values[0]) and values[1] > 0


def test_clv_is_expected_purchases_times_expected_spend(cdnow_bgnbd, cdnow_gamma_gamma):
    x, t_x, T, m_x = 4, 35.0, 39.0, 30.0
    year_in_weeks = 365.25 / 7
    purchases = clv.expected_purchases(cdnow_bgnbd, year_in_weeks, x, t_x, T)
    spend = clv.expected_average_spend(cdnow_gamma_gamma, x, m_x)
    value = clv.clv_12_months(cdnow_bgnbd, cdnow_gamma_gamma, x, t_x, T, m_x)
    assert isinstance(value, float)
    assert value == pytest.approx(purchases * spend)
    assert clv.clv_12_months(
        cdnow_bgnbd, cdnow_gamma_gamma, x, t_x, T, m_x, margin=0.3
    ) == pytest.approx(0.3 * value)


def test_each_month_is_discounted_as_received_at_its_end(cdnow_bgnbd, cdnow_gamma_gamma):
    args = (cdnow_bgnbd, cdnow_gamma_gamma, 4, 35.0, 39.0, 30.0)
    one_month = clv.predict_clv(*args, months=1)
    assert clv.predict_clv(*args, months=1, monthly_discount_rate=0.02) == pytest.approx(
        one_month / 1.02
    )

    month_in_weeks = 365.25 / 12 / 7
    cumulative = [
        clv.expected_purchases(cdnow_bgnbd, i * month_in_weeks, 4, 35.0, 39.0) for i in range(13)
    ]
    spend = clv.expected_average_spend(cdnow_gamma_gamma, 4, 30.0)
    by_hand = sum((cumulative[i] - cumulative[i - 1]) * spend / 1.01**i for i in range(1, 13))
    discounted = clv.clv_12_months(*args, monthly_discount_rate=0.01)
    assert discounted == pytest.approx(by_hand)
    assert discounted < clv.clv_12_months(*args) < clv.predict_clv(*args, months=24)


# ------------------------------------------------------------------ refusing to fit


def test_too_few_customers_cannot_be_fitted():
    rng = np.random.default_rng(1)
    T = np.full(40, 39.0)
    x, t_x, _ = simulate(rng, 40, **TRUE_BGNBD, **TRUE_GAMMA_GAMMA, T=T)
    with pytest.raises(ValueError, match="at least 50 customers"):
        clv.fit_bgnbd(x, t_x, T)


def test_a_customer_base_without_repeat_buyers_cannot_be_fitted():
    with pytest.raises(ValueError, match="repeat buyers"):
        clv.fit_bgnbd(np.zeros(500), np.zeros(500), np.full(500, 39.0))


def test_spend_cannot_be_fitted_on_a_handful_of_repeat_buyers():
    x = np.array([0, 0, 1, 2, 3, 1, 4])
    m_x = np.array([0, 0, 10.0, 20.0, 15.0, 12.0, 30.0])
    with pytest.raises(ValueError, match="at least 20 repeat buyers"):
        clv.fit_gamma_gamma(x, m_x)


def test_spend_cannot_be_fitted_when_everyone_spends_the_same():
    with pytest.raises(ValueError, match="variation"):
        clv.fit_gamma_gamma(np.full(100, 3), np.full(100, 50.0))


@pytest.mark.parametrize(
    ("x", "t_x", "T", "message"),
    [
        ([1.0], [40.0], [39.0], "t_x <= T"),
        ([-1.0], [0.0], [39.0], "whole number"),
        ([1.5], [3.0], [39.0], "whole number"),
        ([0.0], [3.0], [39.0], "t_x must be 0"),
        ([np.nan], [3.0], [39.0], "finite"),
    ],
)
def test_inconsistent_customer_histories_are_rejected(cdnow_bgnbd, x, t_x, T, message):
    with pytest.raises(ValueError, match=message):
        clv.probability_alive(cdnow_bgnbd, x, t_x, T)


def test_an_unknown_time_unit_is_rejected(cdnow):
    with pytest.raises(ValueError, match="time_unit"):
        clv.fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"], time_unit="fortnights")


@pytest.mark.parametrize(
    ("months", "rate", "message"),
    [(0, 0.0, "months"), (12, -0.01, "discount")],
)
def test_a_clv_horizon_or_discount_rate_that_makes_no_sense_is_rejected(
    cdnow_bgnbd, cdnow_gamma_gamma, months, rate, message
):
    with pytest.raises(ValueError, match=message):
        clv.predict_clv(
            cdnow_bgnbd,
            cdnow_gamma_gamma,
            4,
            35.0,
            39.0,
            30.0,
            months=months,
            monthly_discount_rate=rate,
        )
