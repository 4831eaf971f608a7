"""What the benchmarks' reports share: percentiles, and the machine a run was on."""

from __future__ import annotations

import os
import statistics

from django.db import connection


def quantiles(values: list[float]) -> tuple[float, float]:
    """p50 and p95 (inclusive method, interpolated between the measured values); for a
    single value, that value twice, and for none, NaN."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (float("nan"), float("nan"))
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94]


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def server_version() -> str:
    """PostgreSQL's version, e.g. "17.2"."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
    return str(version).split()[0]
