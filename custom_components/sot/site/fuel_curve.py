"""Diesel fuel use by rated power and load, from the industry charts in DOMAIN.md."""

from __future__ import annotations

from bisect import bisect_left
from functools import lru_cache
from typing import Final

# Rated kW -> fuel use in L/h at 25, 50, 75 and 100 % load.
_CHART: Final[dict[float, tuple[float, float, float, float]]] = {
    20: (2.3, 3.4, 4.9, 6.1),
    40: (6.1, 8.7, 12.1, 15.1),
    60: (6.8, 11.0, 14.4, 18.2),
    100: (9.8, 15.5, 22.0, 28.0),
}
_RATINGS: Final = sorted(_CHART)
_LOADS: Final = (0.25, 0.5, 0.75, 1.0)
# A set keeps running above its rating only briefly; the curve is not extrapolated past this.
_MAX_LOAD: Final = 1.2


def _interpolate(x: float, xs: tuple[float, ...] | list[float], ys: tuple[float, ...]) -> float:
    """Piecewise-linear through (xs, ys), extended linearly beyond both ends."""
    i = min(max(bisect_left(xs, x), 1), len(xs) - 1)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


@lru_cache(maxsize=32)
def _row(rating_kw: float) -> tuple[float, ...]:
    """The chart row for any rating: interpolated inside the chart, scaled outside it."""
    if rating_kw <= _RATINGS[0]:
        return tuple(v * rating_kw / _RATINGS[0] for v in _CHART[_RATINGS[0]])
    if rating_kw >= _RATINGS[-1]:
        return tuple(v * rating_kw / _RATINGS[-1] for v in _CHART[_RATINGS[-1]])
    return tuple(
        _interpolate(rating_kw, _RATINGS, tuple(_CHART[r][col] for r in _RATINGS))
        for col in range(len(_LOADS))
    )


def fuel_rate(rating_kw: float, load_fraction: float) -> float:
    """Fuel use in L/h of a set of `rating_kw` at `load_fraction` (0..1) of its rating.

    Below 25 % the line through 25 % and 50 % is extended down to no load (idle burn), which is
    the Willans-line behaviour of a diesel; it never goes below a tenth of the 25 % figure.
    """
    if rating_kw <= 0:
        raise ValueError("rating must be positive")
    row = _row(rating_kw)
    load = min(max(load_fraction, 0.0), _MAX_LOAD)
    return max(_interpolate(load, _LOADS, row), row[0] * 0.1)
