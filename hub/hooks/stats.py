"""Small, fast statistics the hooks share: variance-stabilised residuals and day numbers."""

from __future__ import annotations

import math
from datetime import date, datetime

_3_8 = 0.375


def count_z(observed: float, expected: float, dispersion: float = 1.0) -> float:
    """A count's surprise in standard deviations (Anscombe's square-root transform).

    For Poisson counts 2*sqrt(x+3/8) is close to normal with unit variance at any mean, so unlike
    (x-mu)/sqrt(mu) it does not overstate small counts; overdispersion (var = phi*mu) divides by sqrt(phi).
    It is monotone in the observed count and unbounded, as a score should be.
    """
    # `max` spelt out: the builtin call costs about as much as the rest of the line, run for every closed day.
    return 2.0 * (math.sqrt(observed + _3_8) - math.sqrt(expected + _3_8)) / math.sqrt(
        1.0 if dispersion < 1.0 else dispersion)


def zero_day_surprise(mean: float, dispersion: float) -> float:
    """-ln P(a day with no sale): the mean for Poisson, mean*ln(phi)/(phi-1) for a negative binomial with
    variance phi*mean, whose empty days are far more common."""
    return mean if dispersion <= 1.0001 else mean * math.log(dispersion) / (dispersion - 1.0)


def day_number(moment: datetime) -> int:
    return moment.toordinal()


def day_iso(day: int) -> str:
    return date.fromordinal(day).isoformat()
