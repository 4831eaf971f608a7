"""A load test with locust: many simulated people at once, public and staff, over real HTTP.

The script builds the same demo-like database as benchmarks/public_read.py (migrate, the demo
with 5,000 published stories, VACUUM ANALYZE), starts gunicorn on a free port of 127.0.0.1
(2 sync workers, 1 thread each, with its helpers) and runs locust as a library, in this
process and headless (`locust.env.Environment`, `LocalRunner`), two mixes one after the other:

* public, on the hub (Host `localhost`): story pages `/stories/<id>/` (weight 6), the API
  `/api/v2/opinions?take=100` with `Authorization: SUBSCRIPTION_KEY <key>` (weight 3) and a
  valid story sent with the "Tell your story" form, `/tell/`, for a demo service (weight 1);
* staff, on the first demo workspace (Host `<slug>.localhost`): each simulated person signs
  in once (the login page for its CSRF token, then POST /accounts/login/), then the inbox
  `/stories/` (weight 3), a story page (weight 3) and the live dashboard's callbacks, the KPIs
  and the version poll (POST `/dashboards/live/_dash-update-component` with X-CSRFToken,
  weight 2 each).

Each mix runs for MIX_SECONDS with USERS simulated people, each waiting 0.1 to 0.5 s between
requests. Printed per mix and per request type: requests, failures, throughput, p50 and p95
(locust's histogram, so rounded to 2 significant figures above 100 ms). Sign-ins are reported
but are not part of the mix's steady state.

Limits raised for the benchmark (every simulated person shares 127.0.0.1): the public form's
rate limit (PUBLIC_FORM_RATE_LIMIT) and the sign-in limit (LOGIN_RATE_LIMIT); otherwise the
limiter, not the server, would answer most form posts and sign-ins. The API's 5 requests a
second per key is kept: the API requests spread over many keys, as in public_read.py. And
SECURE_COOKIES is off: over plain HTTP, cookies marked Secure would never come back.

Also printed per mix: the CPU spent per request by gunicorn's workers, their PostgreSQL
connections and this process (public_read.CpuSnapshot, Linux /proc), and the load average.

The simulated people run on gevent in this process, on the same 2 cores as gunicorn and
PostgreSQL, so the figures are those of the whole machine under load, not of the server alone.

    .venv/bin/python -m config.launcher exec .venv/bin/python benchmarks/load.py
"""

from __future__ import annotations

import itertools
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time

import gevent

# Importing locust patches the standard library for gevent: before Django and psycopg load.
import locust
from locust import HttpUser, between, task
from locust.env import Environment

MIX_SECONDS = int(os.environ.get("LOAD_SECONDS", "50"))  # shorter for a quick try
USERS = 10
SPAWN_RATE = 5  # people started per second
STORIES = 5000
API_KEYS = 600
HOST = "localhost"
RAISED_LIMIT = "1000000"

# Read by gunicorn's workers, started from this environment.
os.environ["PUBLIC_FORM_RATE_LIMIT"] = RAISED_LIMIT
os.environ["LOGIN_RATE_LIMIT"] = RAISED_LIMIT
# Plain HTTP on the loopback: cookies marked Secure would never be sent back.
os.environ["SECURE_COOKIES"] = "0"

# After locust (above) and the environment: the repository on sys.path, Django set up.
import _bootstrap  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from benchmarks import public_read  # noqa: E402
from benchmarks.figures import cores, server_version  # noqa: E402
from feedback import directory  # noqa: E402
from feedback.demo import seed_feedback_demo  # noqa: E402
from feedback.hub.models import PublicStory  # noqa: E402
from feedback.models import Story  # noqa: E402
from tenants.demo import DEMO_PASSWORD, seed_demo  # noqa: E402

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Data:
    """What the simulated people need, filled in by main() before any of them starts."""

    hub_story_ids: list[int] = []
    api_keys: itertools.cycle[str]
    listing_ids: list[int] = []
    workspace_host: str = ""
    staff_emails: list[str] = []
    workspace_story_ids: list[int] = []
    started = 0  # simulated people past their on_start (sign-in), in the current mix


def get_page(user: HttpUser, path: str, name: str) -> str | None:
    """GET that counts anything but a 200 as a failure (a redirect to sign in, for one)."""
    with user.client.get(path, name=name, allow_redirects=False, catch_response=True) as response:
        if response.status_code != 200:
            response.failure(f"answered {response.status_code}")
            return None
        return response.text


def csrf_from(html: str) -> str:
    found = CSRF_INPUT.search(html)
    if not found:
        raise RuntimeError("no CSRF token in the page")
    return found.group(1)


class PublicVisitor(HttpUser):
    wait_time = between(0.1, 0.5)

    def on_start(self) -> None:
        self.client.headers["Host"] = HOST
        self.counter = itertools.count()
        Data.started += 1

    @task(6)
    def story_page(self) -> None:
        pk = random.choice(Data.hub_story_ids)
        get_page(self, f"/stories/{pk}/", "/stories/<id>/")

    @task(3)
    def api_list(self) -> None:
        self.client.get(
            "/api/v2/opinions?take=100",
            headers={"Authorization": f"SUBSCRIPTION_KEY {next(Data.api_keys)}"},
            name="/api/v2/opinions?take=100",
        )

    @task(1)
    def tell(self) -> None:
        page = get_page(self, "/tell/", "/tell/ (form)")
        if page is None:
            return
        listing = random.choice(Data.listing_ids)
        data = {
            "csrfmiddlewaretoken": csrf_from(page),
            "action": "send",
            "services": str(listing),
            "title": f"Load test story {next(self.counter)}",
            "what_was_good": "The nurses explained every step and checked on me often.",
            "what_could_be_improved": "The wait in the evening was long.",
            "how_it_felt": "Reassured.",
            "author_role": "patient",
            "author_age_group": "35-44",
            "nickname": "Load tester",
            "consent": "on",
            "website": "",
        }
        with self.client.post(
            "/tell/",
            data=data,
            headers={"Referer": f"http://{HOST}/tell/"},
            allow_redirects=False,
            name="/tell/ (send)",
            catch_response=True,
        ) as response:
            if response.status_code == 302 and "/tell/sent/" in response.headers.get(
                "Location", ""
            ):
                response.success()
            else:
                response.failure(f"story not accepted: {response.status_code}")


class StaffMember(HttpUser):
    wait_time = between(0.1, 0.5)
    numbers = itertools.count()

    def on_start(self) -> None:
        self.client.headers["Host"] = Data.workspace_host
        email = Data.staff_emails[next(StaffMember.numbers) % len(Data.staff_emails)]
        page = get_page(self, "/accounts/login/", "sign in (login page)") or ""
        with self.client.post(
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": csrf_from(page),
                "username": email,
                "password": DEMO_PASSWORD,
            },
            headers={"Referer": f"http://{Data.workspace_host}/accounts/login/"},
            allow_redirects=False,
            name="sign in (POST)",
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"sign-in refused: {response.status_code}")
        self.version = None
        self.ticks = itertools.count(1)
        Data.started += 1

    def dash(self, name: str, body: dict) -> dict | None:
        token = self.client.cookies.get("csrftoken", "")
        with self.client.post(
            "/dashboards/live/_dash-update-component",
            json=body,
            headers={
                "X-CSRFToken": token,
                "Referer": f"http://{Data.workspace_host}/dashboards/live/",
            },
            name=name,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"callback answered {response.status_code}")
                return None
            return response.json()

    @task(3)
    def inbox(self) -> None:
        get_page(self, "/stories/", "/stories/ (inbox)")

    @task(3)
    def story(self) -> None:
        pk = random.choice(Data.workspace_story_ids)
        get_page(self, f"/stories/{pk}/", "/stories/<id>/ (workspace)")

    @task(2)
    def kpis(self) -> None:
        filters = [
            ("version", "data", self.version),
            ("period", "start_date", None),
            ("period", "end_date", None),
            ("service", "value", None),
            ("criticality", "value", None),
        ]
        self.dash(
            "live dashboard: KPIs",
            {
                "output": "kpis.children",
                "outputs": {"id": "kpis", "property": "children"},
                "inputs": [{"id": i, "property": p, "value": v} for i, p, v in filters],
                "changedPropIds": ["version.data"],
                "state": [],
            },
        )

    @task(2)
    def version_poll(self) -> None:
        answer = self.dash(
            "live dashboard: version poll",
            {
                "output": "version.data",
                "outputs": {"id": "version", "property": "data"},
                "inputs": [{"id": "tick", "property": "n_intervals", "value": next(self.ticks)}],
                "changedPropIds": ["tick.n_intervals"],
                "state": [{"id": "version", "property": "data", "value": self.version}],
            },
        )
        if answer is not None:
            self.version = answer.get("response", {}).get("version", {}).get("data", self.version)


def run_mix(label: str, user: type[HttpUser], server: subprocess.Popen[bytes], port: int) -> None:
    env = Environment(user_classes=[user], host=f"http://127.0.0.1:{port}")
    runner = env.create_local_runner()
    print(f"{label} mix: {USERS} people for {MIX_SECONDS} s...", flush=True)
    Data.started = 0
    runner.start(USERS, spawn_rate=SPAWN_RATE)
    # Sign-ins happen while people start; measure the steady state after all are in.
    deadline = time.monotonic() + 120
    while Data.started < USERS and time.monotonic() < deadline:
        gevent.sleep(0.2)
    gevent.sleep(1)
    start_up = [
        f"  {e.method} {e.name}: {e.num_requests} requests, {e.num_failures} failures, "
        f"p50 {e.get_response_time_percentile(0.5):.0f} ms, "
        f"p95 {e.get_response_time_percentile(0.95):.0f} ms"
        for e in env.stats.entries.values()
        if e.name.startswith("sign in")
    ]
    env.stats.reset_all()
    before = public_read.CpuSnapshot.take(server)
    began = time.monotonic()
    gevent.sleep(MIX_SECONDS)
    elapsed = time.monotonic() - began
    after = public_read.CpuSnapshot.take(server)
    entries = sorted(env.stats.entries.values(), key=lambda e: (e.method, e.name))
    runner.quit()
    print(f"\n{label} mix: {USERS} people, {elapsed:.0f} s")
    print(
        f"  {'request':<40} {'requests':>8} {'failures':>8} {'req/s':>7} {'p50 ms':>7} {'p95':>6}"
    )
    total = env.stats.total
    rows = [(f"{e.method} {e.name}", e) for e in entries] + [("all", total)]
    for name, entry in rows:
        if not entry.num_requests:
            continue
        print(
            f"  {name:<40} {entry.num_requests:>8} {entry.num_failures:>8} "
            f"{entry.num_requests / elapsed:>7.1f} {entry.get_response_time_percentile(0.5):>7.0f} "
            f"{entry.get_response_time_percentile(0.95):>6.0f}"
        )
    if before is not None and after is not None and total.num_requests:
        workers, database, clients = before.per_request_ms(after, total.num_requests)
        print(
            f"  CPU per request: gunicorn workers {workers:.1f} ms, PostgreSQL {database:.1f} ms, "
            f"locust (this process) {clients:.1f} ms; load average {os.getloadavg()[0]:.2f}"
        )
    if start_up:
        print("  once per person, before the measured period (not in the figures above):")
        print("\n".join(start_up))
    for error in env.stats.errors.values():
        print(f"  failure: {error.method} {error.name}: {error.error} (x{error.occurrences})")


def main() -> int:
    print("migrating...", flush=True)
    _bootstrap.migrate()
    print(f"seeding the demo with {STORIES} stories (up to a minute)...", flush=True)
    logins, organisations = seed_demo()
    demo = seed_feedback_demo(organisations, stories=STORIES)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    with schema_context("public"):
        Data.hub_story_ids = list(PublicStory.objects.values_list("pk", flat=True))
        Data.listing_ids = list(directory.active_listings().values_list("pk", flat=True))
    Data.api_keys = itertools.cycle(public_read.bench_keys(API_KEYS))
    workspace = organisations[0]
    Data.workspace_host = f"{workspace.slug}.{HOST}"
    # People who sign in with a password alone: administrators also need a code (second factor).
    Data.staff_emails = [x.email for x in logins if x.where == workspace.name and not x.totp_secret]
    with schema_context(workspace.schema_name):
        Data.workspace_story_ids = list(Story.objects.values_list("pk", flat=True)[:500])
    if not (Data.hub_story_ids and Data.listing_ids and Data.staff_emails):
        raise RuntimeError("the demo has no stories, services or staff to use")
    if not Data.workspace_story_ids:
        raise RuntimeError(f"{workspace.slug} has no stories")

    port = _bootstrap.free_port()
    with tempfile.TemporaryFile() as log:
        server = public_read.start_gunicorn(port, log)
        try:
            print(f"starting gunicorn on 127.0.0.1:{port}...", flush=True)
            _bootstrap.wait_until_healthy(server, port, host=HOST)
            print(
                f"load benchmark: {demo.stories} stories, gunicorn {public_read.WORKERS} workers, "
                f"{cores()} cores, Python {platform.python_version()}, "
                f"PostgreSQL {server_version()}, locust {locust.__version__}",
                flush=True,
            )
            run_mix("public", PublicVisitor, server, port)
            run_mix(f"staff ({Data.workspace_host})", StaffMember, server, port)
        except BaseException:
            _bootstrap.stop_process(server)
            log.seek(0)
            tail = log.read().decode(errors="replace")[-3000:]
            print(f"gunicorn's output, last lines:\n{tail}", file=sys.stderr)
            raise
        finally:
            _bootstrap.stop_process(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
