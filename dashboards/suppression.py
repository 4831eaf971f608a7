"""Small-number suppression for a table of counts shown from public or cross-tenant data.

Hiding each count under SUPPRESS_BELOW ("fewer than 8") is not enough once a table's total
is shown: a single hidden cell is the total minus the cells shown, hidden cells that add up
to nothing are all zero, and a share is its count divided by the total. So
`suppress_counts` also hides the next-smallest cell ("suppressed", complementary
suppression) until no hidden cell can be worked out from the rest, and callers show a share
only when every count it is made from is shown (`Suppression.shows`).

What a reader is assumed to know, and the test checks against: the shown cells, the total,
that a cell marked "fewer than 8" is 0..7, that a complementary cell is 8 or more, and that
a cell never displayed (`undisplayed`, such as "stories not responded to", which is the
total minus the displayed ones) is any count at all. A hidden cell is safe when at least two
values for it fit all of that. `tests/reports/test_suppression.py` checks the property on
random tables.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from dashboards.statistics import SUPPRESS_BELOW

K = TypeVar("K", bound=Hashable)

SMALL = f"fewer than {SUPPRESS_BELOW}"
# Shown for a count hidden only so that a small one cannot be worked out from it.
COMPLEMENTARY = "suppressed"


@dataclass(frozen=True)
class Suppression(Generic[K]):
    values: Mapping[K, int]
    small: frozenset[K]
    complementary: frozenset[K]
    # False only when even with every cell hidden the total would give one away.
    total_shown: bool

    def hidden(self, key: K) -> bool:
        return key in self.small or key in self.complementary

    def shows(self, *keys: K) -> bool:
        """Whether a figure made from these counts (and the total) may be shown."""
        return self.total_shown and not any(self.hidden(key) for key in keys)

    def label(self, *keys: K) -> str:
        """What to show instead of a figure made from these counts."""
        if not self.total_shown or any(key in self.small for key in keys):
            return SMALL
        return COMPLEMENTARY

    def count(self, key: K) -> str:
        return str(self.values[key]) if self.shows(key) else self.label(key)


def suppress_counts(
    cells: Mapping[K, int],
    total: int | None = None,
    *,
    undisplayed: Collection[K] = (),
    threshold: int = SUPPRESS_BELOW,
) -> Suppression[K]:
    """Which of `cells` may be shown. With `total` (shown alongside), the cells must add up
    to it, and hidden cells are protected from subtraction as the module describes."""
    values = dict(cells)
    if any(value < 0 for value in values.values()):
        raise ValueError("Counts cannot be negative.")
    small = {key for key, value in values.items() if value < threshold}
    if total is None:
        if undisplayed:
            raise ValueError("A cell that is never displayed needs a total it is part of.")
        return Suppression(values, frozenset(small), frozenset(), total_shown=True)
    if sum(values.values()) != total:
        raise ValueError("The cells must add up to the total.")
    order = {key: index for index, key in enumerate(values)}
    complementary: set[K] = set()
    total_shown = True
    while _recoverable(values, small, complementary, set(undisplayed), threshold):
        candidates = [key for key in values if key not in small and key not in complementary]
        if not candidates:
            total_shown = False
            break
        # A cell nobody sees costs nothing to hide; otherwise the smallest shown one.
        complementary.add(
            min(candidates, key=lambda k: (k not in undisplayed, values[k], order[k]))
        )
    return Suppression(values, frozenset(small), frozenset(complementary), total_shown)


def _recoverable(
    values: Mapping[K, int],
    small: set[K],
    complementary: set[K],
    undisplayed: set[K],
    threshold: int,
) -> bool:
    """Whether some hidden cell has only one value that fits what a reader knows."""
    hidden = [key for key in values if key in small or key in complementary]
    remaining = sum(values[key] for key in hidden)
    bounds = {}
    for key in hidden:
        if key in undisplayed:
            bounds[key] = (0, math.inf)
        elif key in small:
            bounds[key] = (0, threshold - 1)
        else:
            bounds[key] = (threshold, math.inf)
    for key in hidden:
        low, high = bounds[key]
        others = [bounds[other] for other in hidden if other != key]
        least = max(low, remaining - sum(other_high for _, other_high in others))
        most = min(high, remaining - sum(other_low for other_low, _ in others))
        if least >= most:
            return True
    return False


def suppressed_part(name: K, count: int, total: int) -> Suppression[K]:
    """`count` of `total` (responded, critical), whose rest is never displayed but is the
    total minus it: both must be 8 or more for the count, or its share, to be shown."""
    cells = {name: count, "rest": total - count}
    return suppress_counts(cells, total, undisplayed={"rest"})
