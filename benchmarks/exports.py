"""How long a bulk export of stories takes a worker, and how much memory it holds, at a large
trust's size.

Target (ours: the issue sets none): every story of a 200,000-story organisation, in either
format, made within 5 minutes by one worker, holding under 500 MB; a year's critical stories
(a typical filtered export) within 30 seconds.

The data: one organisation, bench-dashboards, with 20 services and 200,000 published
stories over two years, two thirds of them answered, written with COPY by
benchmarks/dashboards.py's generator (as benchmarks/inbox.py does). VACUUM ANALYZE gives
the planner its statistics.

The measurement: the product's own `exporting.build_export`, run in this process as the
worker runs it, for each export asked for through `exporting.queue_export`: all stories and
a year's critical ones, each as CSV and as XLSX. Printed per export: rows, seconds, rows a
second, the file's size, and the growth of this process's peak resident memory while it ran
(ru_maxrss, so an export that needs no more memory than one before it shows 0).

    .venv/bin/python -m config.launcher exec .venv/bin/python benchmarks/exports.py
    # smaller, to try it out:
    .venv/bin/python -m config.launcher exec .venv/bin/python benchmarks/exports.py --scale 0.05
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import timedelta

BIG_STORIES = 200_000
TARGET_ALL_SECONDS = 300.0
TARGET_FILTERED_SECONDS = 30.0
TARGET_MEMORY_MB = 500.0

import _bootstrap  # noqa: E402 - first: the repository on sys.path, Django set up
from django.conf import settings  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from benchmarks import dashboards  # noqa: E402
from benchmarks.figures import cores, server_version  # noqa: E402
from feedback import exporting  # noqa: E402
from feedback.inbox import InboxFilters  # noqa: E402
from feedback.models import StoryExport  # noqa: E402
from tenants.accounts.models import User  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply the 200,000 stories by this"
    )
    args = parser.parse_args()
    count = max(1000, round(BIG_STORIES * args.scale))
    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="carevoice-export-bench-")
    settings.STORY_EXPORTS_PER_ORGANISATION = 100
    settings.STORY_EXPORTS_PER_USER_PER_HOUR = 100

    began = time.perf_counter()
    print("migrating...", flush=True)
    _bootstrap.migrate()
    print(f"writing {count:,} stories with COPY (about 3 minutes for 200,000)...", flush=True)
    big, member = dashboards.build_big_tenant(count, seed=20261207)
    print(f"data built in {time.perf_counter() - began:.0f} s", flush=True)

    year_ago = timezone.localdate() - timedelta(days=365)
    asks = [
        ("all stories", InboxFilters(), TARGET_ALL_SECONDS),
        (
            "a year's moderately critical",
            InboxFilters(criticality="moderately critical", since=year_ago),
            TARGET_FILTERED_SECONDS,
        ),
    ]
    load_before = os.getloadavg()[0]
    results = []
    with tenant_context(big.organisation):
        user = User.objects.get(pk=member.pk)
        for label, filters, target in asks:
            for format in ("csv", "xlsx"):  # noqa: A001
                export = exporting.queue_export(
                    scope="organisation", format=format, filters=filters, user=user
                )
                before = peak_mb()
                started = time.perf_counter()
                path = exporting.build_export(export.pk)
                seconds = time.perf_counter() - started
                rows = StoryExport.objects.get(pk=export.pk).rows or 0
                size = os.path.getsize(path) / 1e6
                results.append((label, format, rows, seconds, size, peak_mb() - before, target))
                print(f"  {label}, {format}: {rows:,} rows in {seconds:.1f} s", flush=True)
    load_after = os.getloadavg()[0]

    print(
        f"\nexports benchmark: {count:,} stories in one organisation, one process; "
        f"{cores()} cores, PostgreSQL {server_version()}"
    )
    print(f"{'export':<32} {'fmt':<5} {'rows':>8} {'s':>7} {'rows/s':>8} {'MB':>7} {'+RSS MB':>8}")
    met = True
    for label, format, rows, seconds, size, grew, target in results:  # noqa: A001
        met = met and seconds < target
        print(
            f"{label:<32} {format:<5} {rows:>8,} {seconds:>7.1f} {rows / seconds:>8,.0f} "
            f"{size:>7.1f} {grew:>8.0f}"
        )
    memory = peak_mb()
    met = met and memory < TARGET_MEMORY_MB
    print(
        f"peak resident memory of the process {memory:.0f} MB; targets: all stories under "
        f"{TARGET_ALL_SECONDS:.0f} s, a year's critical under {TARGET_FILTERED_SECONDS:.0f} s, "
        f"under {TARGET_MEMORY_MB:.0f} MB: {'met' if met else 'MISSED'} (load average "
        f"{load_before:.2f} before, {load_after:.2f} after)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
