"""How fast the staff inbox answers at 200,000 stories, with a text search, two filters and
the counts beside the filters.

Target: "staff inbox at 200,000 stories, text search and two filters, with counts: p95 under
100 ms" on a 2-core machine. The same questions are then asked by a responder limited to
Medicine and its wards (feedback/service_limits.py: the middleware's lookup, and every
query narrowed to their services), held to the same target.

The data: one organisation, bench-dashboards, with 20 services and 200,000 published
stories over two years, written with COPY by benchmarks/dashboards.py's generator (its
stories say a few dozen different things, so a common word matches a sixth of them or
more: a hard case for a text search, which must visit every match to count it). VACUUM
ANALYZE gives the planner its statistics, as autovacuum would on a live database.

The measurement: a member of staff signs in on `bench-dashboards.localhost`, and each
inbox request, `GET /stories/?q=...&<filter>&<filter>`, goes through the whole Django stack
with django.test.Client (tenant routing, session, the page with its 25 stories and every
count beside the filters). Each question is asked 3 times to warm up, then CALLS times; the
first asks mark its page's stories heard, as the product does, so the measured calls read
only. Printed per question: p50 and p95, how many stories it finds, and the SQL statements
and their time in one call; then all questions together, with the load average (other work
on the same cores slows every figure).

    .venv/bin/python -m config.launcher exec .venv/bin/python benchmarks/inbox.py
    # smaller, to try it out:
    .venv/bin/python -m config.launcher exec .venv/bin/python benchmarks/inbox.py --scale 0.1
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

BIG_STORIES = 200_000
CALLS = 40
WARMUP_CALLS = 3
TARGET_P95_MS = 100.0

import _bootstrap  # noqa: E402 - first: the repository on sys.path, Django set up
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from benchmarks import dashboards  # noqa: E402
from benchmarks.figures import cores, quantiles, server_version  # noqa: E402
from benchmarks.sqlclock import SqlClock  # noqa: E402
from feedback.models import Service, Story  # noqa: E402
from feedback.service_limits import set_limit  # noqa: E402
from tenants.accounts.models import Role, User  # noqa: E402

INBOX = "/stories/"
LIMITED_EMAIL = "ward.responder@bench-dashboards.example"
FOUND = re.compile(rb"<strong>([0-9,]+)</strong> stor")


@dataclass(frozen=True)
class Question:
    label: str
    params: dict[str, str]


@dataclass
class Timing:
    times: list[float]
    found: int
    statements: int
    sql_ms: float


def questions(medicine: int, outpatients: int, second: str = "Outpatients") -> list[Question]:
    """Text searches with two filters each, common words and rare ones."""
    return [
        Question(
            "'waited' + moderately critical + Medicine and its wards",
            {"q": "waited", "criticality": "moderately critical", "service": str(medicine)},
        ),
        Question(
            "'kind' + responded + Medicine and its wards",
            {"q": "kind", "progress": "responded", "service": str(medicine)},
        ),
        Question(
            "'discharge medication' + strongly critical + not responded",
            {"q": "discharge medication", "criticality": "strongly critical", "responded": "no"},
        ),
        Question(
            f"'noisy night' + {second} + last 12 months",
            {
                "q": "noisy night",
                "service": str(outpatients),
                "since": (timezone.localdate() - timedelta(days=365)).isoformat(),
            },
        ),
        Question(
            "'staff' + not critical + heard",
            {"q": "staff", "criticality": "not critical", "progress": "heard"},
        ),
        Question(
            "'\"car parking\"' + mildly critical + Medicine and its wards",
            {"q": '"car parking"', "criticality": "mildly critical", "service": str(medicine)},
        ),
    ]


class CountingClock(SqlClock):
    """The time spent in SQL, and how many statements."""

    def __init__(self) -> None:
        super().__init__()
        self.statements = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements += 1
        return super().__call__(execute, sql, params, many, context)


def measure(client: Client, question: Question) -> Timing:
    path = f"{INBOX}?{urlencode(question.params)}"
    for _ in range(WARMUP_CALLS):
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
    clock = CountingClock()
    with connection.execute_wrapper(clock):
        response = client.get(path)
    found = FOUND.search(response.content)
    if found is None:
        raise RuntimeError(f"{path}: no count of stories on the page")
    times = []
    for _ in range(CALLS):
        began = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - began)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
    return Timing(
        times,
        int(found.group(1).replace(b",", b"")),
        clock.statements,
        clock.total * 1000,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply the 200,000 stories by this"
    )
    args = parser.parse_args()
    count = max(1000, round(BIG_STORIES * args.scale))

    began = time.perf_counter()
    print("migrating...", flush=True)
    _bootstrap.migrate()
    print(f"writing {count:,} stories with COPY (about 3 minutes for 200,000)...", flush=True)
    big, member = dashboards.build_big_tenant(count, seed=20261122)
    print(f"data built in {time.perf_counter() - began:.0f} s", flush=True)

    with tenant_context(big.organisation):
        stories = Story.objects.count()
        medicine = Service.objects.get(name=dashboards.SUBTREE).pk
        outpatients = Service.objects.get(name="Outpatients").pk
        # The limited responder's second service: a ward within Medicine.
        ward = Service.objects.filter(parent_id=medicine).order_by("pk").first()
    client, _ = dashboards.signed_in(dashboards.BIG_SLUG, member.email, INBOX)

    with tenant_context(big.organisation):
        limited = User.objects.filter(email=LIMITED_EMAIL).first() or User.objects.create_user(
            LIMITED_EMAIL, dashboards.PASSWORD, full_name="Ward Responder", role=Role.RESPONDER
        )
        set_limit(limited, [Service.objects.get(pk=medicine)], actor=member)
    limited_client, _ = dashboards.signed_in(dashboards.BIG_SLUG, LIMITED_EMAIL, INBOX)

    load_before = os.getloadavg()[0]
    print(f"measuring (load average before: {load_before:.2f})...", flush=True)
    results = [(q, measure(client, q)) for q in questions(medicine, outpatients)]
    limited_results = [
        (q, measure(limited_client, q)) for q in questions(medicine, ward.pk, ward.name[:20])
    ]
    load_after = os.getloadavg()[0]

    print(
        f"\ninbox benchmark: {stories:,} stories in one organisation, django.test.Client, "
        f"{CALLS} calls per question after {WARMUP_CALLS} warm-up; {cores()} cores, "
        f"PostgreSQL {server_version()}"
    )
    for who, found in (("a member of staff", results), ("limited to Medicine", limited_results)):
        print(f"\n{who}")
        print(f"{'question':<62} {'found':>7} {'p50 ms':>7} {'p95 ms':>7}  SQL (one call)")
        every: list[float] = []
        for question, timing in found:
            p50, p95 = (value * 1000 for value in quantiles(timing.times))
            every += timing.times
            print(
                f"{question.label:<62} {timing.found:>7,} {p50:>7.1f} {p95:>7.1f}  "
                f"{timing.statements} statements, {timing.sql_ms:.1f} ms"
            )
        p50, p95 = (value * 1000 for value in quantiles(every))
        verdict = "met" if p95 < TARGET_P95_MS else "MISSED"
        print(
            f"inbox ({who}), text search + two filters + counts, {stories:,} stories: "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(every)} requests; target p95 under "
            f"{TARGET_P95_MS:.0f} ms: {verdict}"
        )
    print(f"load average {load_before:.2f} before, {load_after:.2f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
