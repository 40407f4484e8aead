"""The reference ceiling of `hub hooks eval`: exact count tails under the simulator's true parameters."""

import math

import pytest

from hub.hooks.evaluate import _count_cdf, _count_pmf, demand_oracle_f1
from hub.hooks.sim_demand import Series


def test_count_tails_match_closed_forms():
    # Poisson(2): P(X <= 1) = 3 e^-2.  Negative binomial with mean 2 and variance 4: r = 2, success 1/2,
    # so P(0) = 1/4, P(1) = 2 * 1/4 * 1/2 = 1/4.
    assert _count_cdf(1, 2.0, 1.0) == pytest.approx(3 * math.exp(-2))
    assert _count_pmf(0, 2.0, 2.0) == pytest.approx(0.25)
    assert _count_cdf(1, 2.0, 2.0) == pytest.approx(0.5)
    for mean, dispersion in ((0.4, 1.0), (6.0, 1.0), (6.0, 2.5), (45.0, 3.0)):
        for x in (0, 1, 5, 30):
            assert _count_cdf(x, mean, dispersion) == pytest.approx(
                sum(_count_pmf(i, mean, dispersion) for i in range(x + 1)), rel=1e-9)


def _series(sales: list[int], labels: list[str | None], mean: float = 20.0) -> Series:
    days = len(sales)
    return Series("SKU-1", "S1", "C", sales=sales, returns=[0] * days, labels=labels, return_labels=[False] * days,
                  normal_mean=[mean] * days, dispersion=[1.0] * days)


def test_oracle_finds_what_is_far_outside_the_true_distribution():
    sales = [20, 19, 22, 21, 18, 95, 20, 0, 0, 21, 20]
    labels: list[str | None] = [None] * 5 + ["spike", None, "drop", "drop", None, None]
    assert demand_oracle_f1([_series(sales, labels)]) == 1.0


def test_oracle_misses_a_labelled_day_within_the_noise():
    sales = [20, 19, 22, 21, 18, 95, 20, 24, 21, 20]
    labels: list[str | None] = [None] * 5 + ["spike", None, "level_shift", None, None]  # 24 is a normal day at 20
    assert demand_oracle_f1([_series(sales, labels)]) == pytest.approx(2 / 3, abs=1e-4)
