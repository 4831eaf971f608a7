"""Small, pure calculations over figures already added up in SQL: medians from response-time
buckets, funnel-plot control limits, and small-number suppression."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from dashboards.rollups.models import RESPONSE_BUCKET_HOURS

# Cells from fewer stories than this are shown as suppressed, never as a number.
SUPPRESS_BELOW = 8
# Two-sided normal quantiles for the funnel plot's 95% and 99.8% limits.
Z_95 = 1.959964
Z_998 = 3.090232


def suppressed(stories: int) -> bool:
    return stories < SUPPRESS_BELOW


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def median_hours(buckets: Sequence[int]) -> float | None:
    """The median time to first response, interpolated within its bucket. Responses over
    30 days sit in an open bucket; a median there is given as its lower bound."""
    total = sum(buckets)
    if not total:
        return None
    edges = (0.0, *RESPONSE_BUCKET_HOURS)
    half = total / 2
    seen = 0
    for index, count in enumerate(buckets):
        if count and seen + count >= half:
            low = edges[index]
            if index + 1 >= len(edges):
                return low
            high = edges[index + 1]
            return low + (high - low) * (half - seen) / count
        seen += count
    return edges[-1]


@dataclass(frozen=True)
class Limits:
    lower_95: float
    upper_95: float
    lower_998: float
    upper_998: float


def funnel_limits(target: float, volume: int) -> Limits:
    """Control limits for a proportion around the network's `target` at `volume` stories
    (normal approximation to the binomial), clipped to 0..1."""
    if volume <= 0:
        raise ValueError("A funnel limit needs a volume of at least one story.")
    spread = math.sqrt(target * (1 - target) / volume)

    def clip(value: float) -> float:
        return min(1.0, max(0.0, value))

    return Limits(
        lower_95=clip(target - Z_95 * spread),
        upper_95=clip(target + Z_95 * spread),
        lower_998=clip(target - Z_998 * spread),
        upper_998=clip(target + Z_998 * spread),
    )


def funnel_position(value: float, target: float, volume: int) -> str:
    """Where a provider sits: 'within', 'above 95%', 'below 99.8%' and so on."""
    limits = funnel_limits(target, volume)
    if value > limits.upper_998:
        return "above 99.8% limit"
    if value < limits.lower_998:
        return "below 99.8% limit"
    if value > limits.upper_95:
        return "above 95% limit"
    if value < limits.lower_95:
        return "below 95% limit"
    return "within limits"
