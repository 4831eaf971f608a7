"""How long learning an organisation's themes takes each night, at a large trust's size.

Target (ours: the issue sets none): a 200,000-story organisation's themes learned within
5 minutes by one worker, holding under 1.5 GB.

The data: one organisation, bench-dashboards, with 20 services and 200,000 published stories
over two years, written with COPY by benchmarks/dashboards.py's generator (as the inbox and
exports benchmarks do).

The measurement: the product's own `topics.fit_topics` in this process, as the nightly task
runs it: TF-IDF and NMF fitted on the latest 20,000 stories, then every story of the two
years placed. Printed: stories read, topics, stories placed, seconds, and the growth of the
process's peak resident memory while it ran.

    .venv/bin/python -m config.launcher exec .venv/bin/python benchmarks/topics.py
    .venv/bin/python -m config.launcher exec .venv/bin/python benchmarks/topics.py --scale 0.05
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

BIG_STORIES = 200_000
TARGET_SECONDS = 300.0
TARGET_MEMORY_MB = 1500.0

import _bootstrap  # noqa: E402 - first: the repository on sys.path, Django set up
from django_tenants.utils import tenant_context  # noqa: E402

from benchmarks import dashboards  # noqa: E402
from benchmarks.figures import cores, server_version  # noqa: E402
from feedback import topics  # noqa: E402
from feedback.models import LearnedTopic  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    count = max(1000, round(BIG_STORIES * args.scale))
    _bootstrap.migrate()
    print(f"writing {count:,} stories with COPY...", flush=True)
    big, _ = dashboards.build_big_tenant(count, seed=20261207)
    load_before = os.getloadavg()[0]
    before = peak_mb()
    started = time.perf_counter()
    with tenant_context(big.organisation):
        fitted = topics.fit_topics()
        seconds = time.perf_counter() - started
        labels = [t.label for t in LearnedTopic.objects.all()[:5]]
    grew = peak_mb() - before
    met = seconds < TARGET_SECONDS and peak_mb() < TARGET_MEMORY_MB
    print(
        f"\ntopics benchmark: {fitted.stories:,} stories read, {fitted.topics} topics, "
        f"{fitted.placed:,} stories placed, in {seconds:.1f} s; peak memory {peak_mb():.0f} MB "
        f"(+{grew:.0f} MB while learning); {cores()} cores, PostgreSQL {server_version()}"
    )
    print(f"largest themes: {'; '.join(labels)}")
    print(
        f"target: under {TARGET_SECONDS:.0f} s and {TARGET_MEMORY_MB:.0f} MB: "
        f"{'met' if met else 'MISSED'} (load average {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
