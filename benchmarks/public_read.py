"""How fast the public reads are served: the story page and the API v2 list of 100 opinions.

Target: "public story page and API v2 list (100 items): p95 under 50 ms without network, at
least 200 requests/s" on a 2-core machine.

The script migrates an empty database, loads the demo (`tenants.demo.seed_demo` and
`feedback.demo.seed_feedback_demo` with 5,000 published stories), runs VACUUM ANALYZE so the
planner has the statistics a live database has, starts gunicorn on a free port of 127.0.0.1
(2 sync workers, 1 thread each) and measures, over real HTTP with the hub's host name
(`localhost`), for

* the story page, `/stories/<id>/`, cycling through 200 random published stories;
* the API list, `/api/v2/opinions?take=100` with `Authorization: SUBSCRIPTION_KEY <key>`;

the latency (p50, p95) of a sequential pass of 300 requests, one at a time, after a warm-up,
and the throughput of 4 client threads sending requests as fast as they are answered, for
2,000 requests or 10 s, whichever comes first. Latency is timed by the client, from sending
the request to reading the whole body, connection included (gunicorn's sync workers close
the connection after each response). The clients run in this process, on the same cores as
the server and PostgreSQL, so the throughput is a little below what the server alone could do.

The API allows 5 requests a second per key (feedback/api.py), so the API runs spread their
requests over 575 keys of the demo's network lead, made here: each is used once in the
warm-up, so that its once-a-minute "last used" write is not in the measured runs, and 5
times in all, so that none is ever refused. The warm-ups use the 4 clients too.

Also printed, to help find where the time goes: the latency under load; the CPU spent per
request during the concurrent run by gunicorn's workers, by their PostgreSQL connections and
by this process's clients (Linux /proc; 200 requests/s on 2 cores leaves 10 ms for all three);
and, from one warm in-process request to each endpoint (django.test.Client), its time, the
number of SQL queries and their time.

With `--big`, it also writes one organisation with 200,000 published stories over two years
(benchmarks/dashboards.py's generator: its services, then every story written with COPY,
about 3 minutes), and measures its own key's list with every request a different page
spread over the whole list (`skip` from 0 to 199,900): the deep pages API v2 serves from
cached page boundaries (feedback/api_paging.py). The load average is printed with each
figure: other work on the same cores slows every figure.

Run it against throw-away embedded servers (the database starts empty; loading the stories
takes from a few seconds to about a minute, or 4 minutes with --big):

    .venv/bin/python -m config.launcher exec .venv/bin/python benchmarks/public_read.py
    .venv/bin/python -m config.launcher exec .venv/bin/python benchmarks/public_read.py --big
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import _bootstrap  # first: the repository on sys.path, Django set up
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from benchmarks.figures import cores, quantiles, server_version
from benchmarks.sqlclock import SqlClock
from feedback.apikeys import KEY_PREFIX, hash_key
from feedback.demo import demo_api_key, seed_feedback_demo
from feedback.hub.models import ApiKey, PublicStory
from tenants.demo import seed_demo
from tenants.models import Organisation

STORIES = 5000
SAMPLE_IDS = 200
WARMUP_REQUESTS = 100
SEQUENTIAL_REQUESTS = 300
CONCURRENT_REQUESTS = 2000
CONCURRENT_SECONDS = 10.0
CLIENTS = 4
WORKERS = 2
# The API allows a key 5 requests a second. Each benchmark key is used once in the warm-up and
# 5 times in all, so none is ever refused, whatever the request rate.
API_KEY_USES = 5
API_KEYS = -(-(SEQUENTIAL_REQUESTS + CONCURRENT_REQUESTS) // (API_KEY_USES - 1))
HOST = "localhost"
TARGET_P95_MS = 50.0
TARGET_RATE = 200.0
# "API v2 list of 100, a different page every request: at least 300 requests/s".
UNCACHED_TARGET_RATE = 300.0
BIG_STORIES = 200_000


@dataclass
class Endpoint:
    """One thing to measure: a label and, per request number, the path and headers."""

    label: str
    request: Callable[[int], tuple[str, dict[str, str]]]


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    failures: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


@dataclass(frozen=True)
class InProcess:
    queries: int
    sql_ms: float
    total_ms: float


# --- the server ------------------------------------------------------------------------------


def start_gunicorn(port: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    """The product's web server with WORKERS sync workers, one thread each; stopped with
    `_bootstrap.stop_process`."""
    return _bootstrap.start_process(
        _bootstrap.gunicorn_command(port, workers=WORKERS, threads=1),
        log,
        env={**os.environ, "PUBLIC_PORT": str(port)},
    )


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far, from Linux's /proc."""
    # The fields after the command name, which is in parentheses and may hold spaces.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def database_backends() -> list[int]:
    """The PostgreSQL server processes of this database's other connections (the workers')."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return [int(pid) for (pid,) in cursor.fetchall()]


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds so far of gunicorn's workers, their database connections and this process."""

    workers: dict[int, float]
    database: dict[int, float]
    clients: float

    @classmethod
    def take(cls, server: subprocess.Popen[bytes]) -> CpuSnapshot | None:
        try:
            children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text()
            workers = {int(pid): process_cpu_seconds(int(pid)) for pid in children.split()}
            database = {pid: process_cpu_seconds(pid) for pid in database_backends()}
        except (OSError, ValueError, IndexError):  # not Linux, or a process just ended
            return None
        return cls(workers, database, time.process_time())

    def per_request_ms(self, later: CpuSnapshot, requests: int) -> tuple[float, float, float]:
        """Workers', database's and clients' CPU milliseconds per request since `self`."""

        def spent(before: dict[int, float], after: dict[int, float]) -> float:
            return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())

        return (
            spent(self.workers, later.workers) * 1000 / requests,
            spent(self.database, later.database) * 1000 / requests,
            (later.clients - self.clients) * 1000 / requests,
        )


# --- load ------------------------------------------------------------------------------------


def fetch(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> int:
    try:
        conn.request("GET", path, headers={"Host": HOST, **headers})
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        conn.close()  # reconnects on the next request
        raise


def run_sequential(port: int, endpoint: Endpoint, count: int, start: int = 0) -> LoadResult:
    result = LoadResult()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    began = time.perf_counter()
    try:
        for i in range(start, start + count):
            path, headers = endpoint.request(i)
            sent = time.perf_counter()
            status = fetch(conn, path, headers)
            if status == 200:
                result.latencies.append(time.perf_counter() - sent)
            else:
                result.failures[status] = result.failures.get(status, 0) + 1
    finally:
        conn.close()
    result.elapsed = time.perf_counter() - began
    return result


def run_concurrent(
    port: int, endpoint: Endpoint, *, start: int, count: int, seconds: float
) -> LoadResult:
    """CLIENTS threads, until `count` requests are sent or `seconds` pass."""
    result = LoadResult()
    lock = threading.Lock()
    issued = 0
    deadline = time.perf_counter() + seconds
    errors: list[BaseException] = []

    def next_number() -> int | None:
        nonlocal issued
        with lock:
            if issued >= count or time.perf_counter() >= deadline:
                return None
            issued += 1
            return start + issued - 1

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while (number := next_number()) is not None:
                path, headers = endpoint.request(number)
                sent = time.perf_counter()
                status = fetch(conn, path, headers)
                latency = time.perf_counter() - sent
                with lock:
                    if status == 200:
                        result.latencies.append(latency)
                    else:
                        result.failures[status] = result.failures.get(status, 0) + 1
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    result.elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"a client failed: {errors[0]!r}") from errors[0]
    return result


# --- in-process diagnosis --------------------------------------------------------------------


def in_process(client: Client, path: str, headers: dict[str, str]) -> InProcess:
    """One warm request through Django's test client: its queries and times."""
    extra = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    client.get(path, HTTP_HOST=HOST, **extra)  # warm
    clock = SqlClock()
    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(clock):
        began = time.perf_counter()
        response = client.get(path, HTTP_HOST=HOST, **extra)
        total = time.perf_counter() - began
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code} in process")
    return InProcess(len(captured.captured_queries), clock.total * 1000, total * 1000)


# --- set-up and report -----------------------------------------------------------------------


def bench_keys(count: int, organisation: Organisation | None = None) -> list[str]:
    """`count` extra keys of `organisation`, by default the demo key's (the network lead)."""
    with schema_context("public"):
        lead = organisation or ApiKey.objects.get(key_hash=hash_key(demo_api_key())).organisation
        secrets = [f"{KEY_PREFIX}bench_{i:04d}_{random.getrandbits(64):016x}" for i in range(count)]
        ApiKey.objects.bulk_create(
            ApiKey(
                organisation=lead,
                name=f"Benchmark key {i}",
                prefix=secret[:10],
                key_hash=hash_key(secret),
                created_by="benchmarks/public_read.py",
            )
            for i, secret in enumerate(secrets)
        )
    return secrets


def check(label: str, result: LoadResult) -> None:
    if result.failures:
        raise RuntimeError(f"{label}: answers other than 200: {result.failures}")


def measure(
    server: subprocess.Popen[bytes], port: int, endpoint: Endpoint, warmup: int
) -> tuple[LoadResult, LoadResult, tuple[float, float, float] | None]:
    check(endpoint.label, run_concurrent(port, endpoint, start=0, count=warmup, seconds=60))
    sequential = run_sequential(port, endpoint, SEQUENTIAL_REQUESTS, start=warmup)
    check(endpoint.label, sequential)
    before = CpuSnapshot.take(server)
    concurrent = run_concurrent(
        port,
        endpoint,
        start=warmup + SEQUENTIAL_REQUESTS,
        count=CONCURRENT_REQUESTS,
        seconds=CONCURRENT_SECONDS,
    )
    after = CpuSnapshot.take(server)
    check(endpoint.label, concurrent)
    cpu = None
    if before is not None and after is not None and concurrent.latencies:
        cpu = before.per_request_ms(after, len(concurrent.latencies))
    return sequential, concurrent, cpu


def report(
    endpoint: Endpoint,
    sequential: LoadResult,
    concurrent: LoadResult,
    cpu: tuple[float, float, float] | None,
    diagnosis: InProcess,
) -> bool:
    p50, p95 = (value * 1000 for value in quantiles(sequential.latencies))
    load_p50, load_p95 = (value * 1000 for value in quantiles(concurrent.latencies))
    indent = " " * 15
    print(
        f"{endpoint.label + ':':<14} p50 {p50:4.1f} ms  p95 {p95:4.1f} ms  "
        f"(sequential, {len(sequential.latencies)} requests); "
        f"{concurrent.rate:.0f} req/s with {CLIENTS} clients"
    )
    print(
        f"{indent}under load: p50 {load_p50:.1f} ms, p95 {load_p95:.1f} ms "
        f"({len(concurrent.latencies)} requests in {concurrent.elapsed:.1f} s)"
    )
    if cpu is not None:
        workers, database, clients = cpu
        print(
            f"{indent}CPU per request under load: workers {workers:.1f} ms, "
            f"PostgreSQL {database:.1f} ms, clients {clients:.1f} ms"
        )
    print(
        f"{indent}in process (django.test.Client, one warm request): {diagnosis.total_ms:.1f} ms, "
        f"{diagnosis.queries} SQL queries taking {diagnosis.sql_ms:.1f} ms"
    )
    return p95 < TARGET_P95_MS and concurrent.rate >= TARGET_RATE


def write_big_organisation() -> Organisation:
    """One organisation with BIG_STORIES published stories over two years, written with COPY
    by benchmarks/dashboards.py's generator."""
    from benchmarks import dashboards

    began = time.perf_counter()
    big, _ = dashboards.make_big_tenant()
    rng = random.Random(20261122)
    now = timezone.now()
    for first in range(0, BIG_STORIES, 50_000):
        count = min(50_000, BIG_STORIES - first)
        dashboards.bulk_write(big, list(dashboards.plan_stories(rng, big, count, now)))
    print(
        f"wrote {big.stories:,} stories of {big.organisation.name} in "
        f"{time.perf_counter() - began:.0f} s",
        flush=True,
    )
    return big.organisation


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--big", action="store_true", help="also measure a 200,000-story organisation's list"
    )
    args = parser.parse_args()
    print("migrating...", flush=True)
    _bootstrap.migrate()
    print(f"seeding the demo with {STORIES} stories (up to a minute)...", flush=True)
    began = time.perf_counter()
    _, organisations = seed_demo()
    demo = seed_feedback_demo(organisations, stories=STORIES)
    print(f"seeded {demo.stories} stories in {time.perf_counter() - began:.0f} s", flush=True)
    if demo.stories < STORIES:
        raise RuntimeError(f"only {demo.stories} stories; the benchmark needs {STORIES}")
    big = write_big_organisation() if args.big else None
    # A live database has planner statistics (autovacuum gathers them within a minute or so
    # of a bulk load); without them the list's plan reads every story on each request.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    with schema_context("public"):
        all_ids = list(PublicStory.objects.values_list("pk", flat=True))
    ids = random.Random(1).sample(all_ids, SAMPLE_IDS)
    keys = bench_keys(API_KEYS)
    story = Endpoint("story page", lambda i: (f"/stories/{ids[i % len(ids)]}/", {}))
    api = Endpoint(
        "api list 100",
        lambda i: (
            "/api/v2/opinions?take=100",
            {"Authorization": f"SUBSCRIPTION_KEY {keys[i % len(keys)]}"},
        ),
    )

    uncached_keys = bench_keys(API_KEYS)
    # Every request a different page, so the API's page cache never answers: the cost of a
    # question nobody asked in the last 30 seconds.
    api_uncached = Endpoint(
        "api list 100, uncached",
        lambda i: (
            f"/api/v2/opinions?take=100&skip={i % (STORIES - 100)}",
            {"Authorization": f"SUBSCRIPTION_KEY {uncached_keys[i % len(uncached_keys)]}"},
        ),
    )

    endpoints = [story, api, api_uncached]
    if big is not None:
        big_keys = bench_keys(API_KEYS, big)
        # Spread over the whole list, never the same page twice (7,919 is prime).
        api_big = Endpoint(
            "api list 100, 200k org, uncached",
            lambda i: (
                f"/api/v2/opinions?take=100&skip={(i * 7919) % (BIG_STORIES - 100)}",
                {"Authorization": f"SUBSCRIPTION_KEY {big_keys[i % len(big_keys)]}"},
            ),
        )
        endpoints.append(api_big)

    client = Client()
    diagnosis = {
        story.label: in_process(client, *story.request(0)),
        # With the demo's own key, so that the benchmark keys keep to their 5 uses.
        api.label: in_process(
            client,
            "/api/v2/opinions?take=100",
            {"Authorization": f"SUBSCRIPTION_KEY {demo.api_key}"},
        ),
        api_uncached.label: in_process(
            client,
            "/api/v2/opinions?take=100&skip=4321",
            {"Authorization": f"SUBSCRIPTION_KEY {demo.api_key}"},
        ),
    }
    if big is not None:
        own = bench_keys(1, big)[0]
        diagnosis[api_big.label] = in_process(
            client,
            "/api/v2/opinions?take=100&skip=123456",
            {"Authorization": f"SUBSCRIPTION_KEY {own}"},
        )

    port = _bootstrap.free_port()
    with tempfile.TemporaryFile() as log:
        server = start_gunicorn(port, log)
        try:
            print(f"starting gunicorn on 127.0.0.1:{port}...", flush=True)
            _bootstrap.wait_until_healthy(server, port, host=HOST)
            load = os.getloadavg()[0]
            print(f"measuring (load average before: {load:.2f})...", flush=True)
            # Every key is used once in the warm-up, so that each one's once-a-minute
            # "last used" write happens before the measured runs.
            results = []
            for endpoint in endpoints:
                warmup = WARMUP_REQUESTS if endpoint is story else API_KEYS
                measured = measure(server, port, endpoint, warmup)
                results.append((endpoint, measured, os.getloadavg()[0]))
        except BaseException:
            _bootstrap.stop_process(server)
            log.seek(0)
            tail = log.read().decode(errors="replace")[-3000:]
            print(f"gunicorn's output, last lines:\n{tail}", file=sys.stderr)
            raise
        finally:
            _bootstrap.stop_process(server)

    print(
        f"\npublic read benchmark: {demo.stories} stories"
        + (f" and an organisation with {BIG_STORIES:,}" if big is not None else "")
        + f", gunicorn {WORKERS} workers, {cores()} cores, PostgreSQL {server_version()}"
    )
    verdicts = []
    for endpoint, (sequential, concurrent, cpu), load in results:
        met = report(endpoint, sequential, concurrent, cpu, diagnosis[endpoint.label])
        print(f"{'':15}load average after it: {load:.2f}")
        target = UNCACHED_TARGET_RATE if "uncached" in endpoint.label else TARGET_RATE
        met = met and concurrent.rate >= target
        verdicts.append(f"{endpoint.label} {'met' if met else 'MISSED'}")
    print(
        f"targets: p95 under {TARGET_P95_MS:.0f} ms, at least {TARGET_RATE:.0f} req/s "
        f"({UNCACHED_TARGET_RATE:.0f} for a different page every request): " + ", ".join(verdicts)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
