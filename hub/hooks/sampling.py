"""Seeded count samplers for the simulators (the standard library has no Poisson before Python 3.12)."""

from __future__ import annotations

import math
import random


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw: inversion for small means, a rounded normal above 50 (error well under a unit)."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def negative_binomial(rng: random.Random, mean: float, dispersion: float) -> int:
    """A count with variance `dispersion * mean` (a gamma-Poisson mixture); dispersion 1 is Poisson."""
    if dispersion <= 1.0 or mean <= 0:
        return poisson(rng, mean)
    shape = mean / (dispersion - 1.0)
    return poisson(rng, rng.gammavariate(shape, dispersion - 1.0))


def binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(1 for _ in range(n) if rng.random() < p)
