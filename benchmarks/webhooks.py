"""How fast Stripe's webhooks are acknowledged, with processing queued to a real worker.

Target: "webhook acknowledgement: p99 under 500 ms, processing queued" on a 2-core machine.

The script migrates an empty database, syncs the plans into the local Stripe server that
the launcher started, provisions 20 organisations and gives each a real subscription in that
server (customer, card, subscription, first invoice, through billing/stripe_api.py). It then
builds Stripe-shaped events about them (subscription created and updated, invoices paid),
signs each with the webhook secret as Stripe does, starts gunicorn (2 workers, 4 threads,
as `make run` does) and a Celery worker (2 processes), and measures, over real HTTP with the
hub's host name:

* a sequential pass of 1,000 deliveries, one at a time, 10% of them repeats of an event
  already delivered (Stripe retries): the latency of each acknowledgement, from sending the
  request to reading the whole answer, connection included;
* a concurrent pass of 1,000 more from 4 client threads: throughput, and latency under load.

Acknowledging is: verify the signature, store the event by its id (a repeat is found and
answered), queue its processing once the row is committed. The worker meanwhile re-reads
each subscription and invoice from the local Stripe server and applies it; the script waits
for it to drain and checks every stored event was processed exactly once.

Run it against throw-away embedded servers:

    .venv/bin/python -m config.launcher exec .venv/bin/python benchmarks/webhooks.py
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import random
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _bootstrap  # first: the repository on sys.path, Django set up
from django.conf import settings
from django.db.models import Count, Max

from benchmarks.figures import cores, server_version
from billing import stripe_api
from billing.models import WebhookEvent, WebhookState
from billing.plans import ORGANISATION, Interval
from billing.subscriptions import ensure_subscription, reference_for
from billing.sync import sync_plans
from tenants.provisioning import provision_organisation

ORGANISATIONS = 20
SEQUENTIAL = 1000
CONCURRENT = 1000
WARMUP = 50
CLIENTS = 4
REPEAT_SHARE = 0.10
HOST = "localhost"
PATH = "/billing/webhooks/stripe/"
TARGET_P99_MS = 500.0
DRAIN_SECONDS = 600


@dataclass
class Pass:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    repeats_acknowledged: int = 0
    elapsed: float = 0.0

    def record(self, seconds: float, status: int, body: bytes) -> None:
        self.latencies.append(seconds)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == 200 and json.loads(body).get("duplicate"):
            self.repeats_acknowledged += 1


# --- the data --------------------------------------------------------------------------------


def subscribed_organisations() -> list[dict[str, Any]]:
    """Each organisation's subscription as the local Stripe server holds it."""
    subscriptions = []
    for number in range(ORGANISATIONS):
        organisation = provision_organisation(
            name=f"Benchmark Trust {number}",
            slug=f"bench-billing-{number}",
            kind="acute trust",
            admin_email=f"admin@bench-billing-{number}.example",
            admin_name="Bench Admin",
        ).organisation
        row = ensure_subscription(
            reference=reference_for(organisation),
            name=organisation.name,
            email="",
            organisation=organisation,
        )
        customer = stripe_api.create_customer(
            name=row.billing_name, email="", reference=row.reference
        )
        row.stripe_customer_id = customer["id"]
        row.save(update_fields=["stripe_customer_id"])
        card = stripe_api.create_card_payment_method(
            number="4242424242424242", exp_month=12, exp_year=2032, cvc="123", name="Bench"
        )
        stripe_api.attach_payment_method(card["id"], customer["id"])
        subscriptions.append(
            stripe_api.create_subscription(
                customer_id=customer["id"],
                plan_id=ORGANISATION.stripe_plan_id(Interval.MONTHLY),
                reference=row.reference,
            )
        )
    return subscriptions


def stripe_events(subscriptions: list[dict[str, Any]], count: int, prefix: str) -> list[str]:
    """`count` signed-ready payloads: new events about the subscriptions, and repeats."""
    invoices = [stripe_api.retrieve_invoice(s["latest_invoice"]) for s in subscriptions]
    payloads: list[str] = []
    kinds = [
        ("customer.subscription.created", subscriptions),
        ("customer.subscription.updated", subscriptions),
        ("invoice.payment_succeeded", invoices),
        ("invoice.paid", invoices),
    ]
    rng = random.Random(prefix)
    for n in range(count):
        if payloads and rng.random() < REPEAT_SHARE:
            payloads.append(rng.choice(payloads))  # Stripe delivering the same event again
            continue
        kind, objects = kinds[n % len(kinds)]
        event = {
            "id": f"evt_{prefix}_{n:06d}",
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": int(time.time()),
            "data": {"object": objects[rng.randrange(len(objects))]},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": kind,
        }
        payloads.append(json.dumps(event))
    return payloads


# --- measuring -------------------------------------------------------------------------------


def deliver(port: int, payload: str) -> tuple[float, int, bytes]:
    header = stripe_api.signature_header(payload, settings.STRIPE_WEBHOOK_SECRET)
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            PATH,
            body=payload.encode(),
            headers={
                "Host": HOST,
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": header,
            },
        )
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    return time.perf_counter() - began, response.status, body


def sequential(port: int, payloads: list[str]) -> Pass:
    result = Pass()
    began = time.perf_counter()
    for payload in payloads:
        result.record(*deliver(port, payload))
    result.elapsed = time.perf_counter() - began
    return result


def concurrent(port: int, payloads: list[str]) -> Pass:
    result = Pass()
    lock = threading.Lock()
    queue: Iterator[str] = iter(payloads)

    def client() -> None:
        while True:
            with lock:
                payload = next(queue, None)
            if payload is None:
                return
            seconds, status, body = deliver(port, payload)
            with lock:
                result.record(seconds, status, body)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.elapsed = time.perf_counter() - began
    return result


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] * 1000


def describe(label: str, result: Pass) -> str:
    values = result.latencies
    return (
        f"{label:<12} p50 {percentile(values, 0.50):6.1f} ms"
        f"  p95 {percentile(values, 0.95):6.1f} ms"
        f"  p99 {percentile(values, 0.99):6.1f} ms"
        f"  max {max(values) * 1000:6.1f} ms;"
        f" {len(values) / result.elapsed:6.1f} req/s; answers {result.statuses},"
        f" repeats acknowledged {result.repeats_acknowledged}"
    )


def wait_for_worker(expected: int) -> float:
    """Seconds until every stored event is processed; raises if it takes too long."""
    began = time.monotonic()
    while time.monotonic() - began < DRAIN_SECONDS:
        waiting = WebhookEvent.objects.filter(
            state__in=[WebhookState.RECEIVED, WebhookState.PROCESSING]
        ).count()
        if waiting == 0 and WebhookEvent.objects.count() >= expected:
            return time.monotonic() - began
        time.sleep(0.5)
    raise RuntimeError(f"the worker had not processed every event after {DRAIN_SECONDS} s")


def main() -> int:
    if not stripe_api.uses_local_server():
        print("Run this under the launcher, which starts the local Stripe server.")
        return 2
    print("Preparing: migrate, plans, 20 organisations with subscriptions...", flush=True)
    _bootstrap.migrate()
    sync_plans()
    subscriptions = subscribed_organisations()
    warmup = stripe_events(subscriptions, WARMUP, "warmup")
    first = stripe_events(subscriptions, SEQUENTIAL, "sequential")
    second = stripe_events(subscriptions, CONCURRENT, "concurrent")
    unique = len(set(warmup)) + len(set(first)) + len(set(second))
    port = _bootstrap.free_port()
    logs = Path(os.environ.get("TMPDIR", "/tmp"))
    with (
        (logs / "bench-webhooks-web.log").open("wb") as web_log,
        (logs / "bench-webhooks-worker.log").open("wb") as worker_log,
    ):
        web = _bootstrap.start_process(
            _bootstrap.gunicorn_command(port, workers=2, threads=4), web_log
        )
        worker = _bootstrap.start_process(
            _bootstrap.celery_worker_command("bench-webhooks@%h", concurrency=2), worker_log
        )
        try:
            _bootstrap.wait_until_healthy(web, port, host=HOST)
            sequential(port, warmup)
            calm = sequential(port, first)
            loaded = concurrent(port, second)
            drained_after = wait_for_worker(unique)
        finally:
            _bootstrap.stop_process(web)
            _bootstrap.stop_process(worker)
    counts = dict(WebhookEvent.objects.values_list("state").annotate(n=Count("id")))
    most_attempts = WebhookEvent.objects.aggregate(m=Max("attempts"))["m"]
    print(
        f"\nMachine: {cores()} cores, Python {platform.python_version()}, "
        f"PostgreSQL {server_version()}, broker {settings.CELERY_BROKER_URL.split(':')[0]}, "
        f"the local Stripe server"
    )
    print(describe("sequential", calm))
    print(describe(f"{CLIENTS} clients", loaded))
    print(
        f"processing:  {sum(counts.values())} events stored ({unique} distinct sent), "
        f"states {counts}, most attempts per event {most_attempts}; the worker finished "
        f"{drained_after:.1f} s after the last acknowledgement"
    )
    p99 = max(percentile(calm.latencies, 0.99), percentile(loaded.latencies, 0.99))
    ok = (
        p99 < TARGET_P99_MS
        and set(calm.statuses) == {200}
        and set(loaded.statuses) == {200}
        and counts.get(WebhookState.FAILED, 0) == 0
        and most_attempts == 1
        and sum(counts.values()) == unique
    )
    print(f"target:      p99 under {TARGET_P99_MS:.0f} ms: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
