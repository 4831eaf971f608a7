"""The named cast every suite reuses, built through the product's own operations.

Organisations A and B are provisioned once per session (cloned schemas, committed); each
test then runs inside a transaction that is rolled back. Their first accounts get the
same ids in both schemas, which is what the isolation suite relies on.
"""

from __future__ import annotations

import fnmatch
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import schema_context, tenant_context

from feedback.hub.models import ServiceListing
from feedback.models import Service
from feedback.moderation import Decision, grant_moderation, publish_submission
from feedback.publishing import Published
from feedback.sites_and_services import create_site, save_service
from feedback.submissions import StoryFromAuthor, submit_story
from tenants.accounts.models import Role, User
from tenants.accounts.second_factor import (
    confirm_authenticator,
    is_second_factor_required,
    start_authenticator,
)
from tenants.models import Organisation
from tenants.provisioning import provision_organisation

PASSWORD = "correct-horse-battery-9"
VERIFY_URL = "/accounts/login/second-factor/"
SET_UP_URL = "/accounts/login/second-factor/set-up/"


@dataclass(frozen=True)
class Cast:
    org_a: Organisation
    org_b: Organisation
    admin_a: User
    responder_a: User
    member_a: User
    admin_b: User
    responder_b: User
    moderator: User
    # Directory listings: two services of A's, one of B's.
    ward_a: ServiceListing
    clinic_a: ServiceListing
    ward_b: ServiceListing


def _services(organisation: Organisation, site: str, services: list[tuple[str, str, str]]):
    with tenant_context(organisation):
        made = create_site(name=site, code="")
        return [
            ServiceListing.objects.get(
                organisation=organisation,
                service_id=save_service(Service(site=made, name=n, code=c, type=t)).pk,
            )
            for n, c, t in services
        ]


def _provision(slug: str, name: str) -> tuple[Organisation, User]:
    result = provision_organisation(
        name=name,
        slug=slug,
        kind="acute trust",
        admin_email=f"admin@{slug}.example",
        admin_name=f"Admin of {name}",
        admin_password=PASSWORD,
    )
    return result.organisation, result.admin


def totp_code(device: TOTPDevice) -> str:
    """A code `device` accepts now, computed from its key as the person's app would.

    TRICKY: django-otp takes each 30-second step's code once (replay protection), and the
    suite signs the same cast member in several times within one step. So this gives the
    current step's code, or the next unused step's, which the device accepts too (it allows
    one step of clock drift, and follows the drift it sees)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    now = totp.t()
    step = max(now, device.last_t + 1)
    assert step <= now + device.tolerance, "no unused code left in this step"
    totp.drift = device.drift + (step - now)
    return f"{totp.token():0{device.digits}d}"


def enrol_second_factor(user: User) -> list[str]:
    """Set up `user`'s authenticator through the product's operations (in the active
    schema); returns the recovery codes."""
    device = start_authenticator(user)
    confirmed = confirm_authenticator(user, totp_code(device))
    assert confirmed is not None, "the authenticator's own code was refused"
    return confirmed[1]


def _schema_and_organisation(client: Client) -> tuple[str, Organisation | None]:
    host = client.defaults.get("HTTP_HOST", settings.BASE_DOMAIN)
    if host == settings.BASE_DOMAIN:
        return settings.PUBLIC_SCHEMA_NAME, None
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        organisation = Organisation.objects.get(domains__domain=host)
    return organisation.schema_name, organisation


def pass_second_factor(client: Client, email: str) -> None:
    """After the password: the second step, through the product's own pages, for anyone
    asked for it (setting up an authenticator first if they must have one and do not)."""
    schema, organisation = _schema_and_organisation(client)
    with schema_context(schema):
        user = User.objects.get(email__iexact=email)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None and not is_second_factor_required(user, organisation):
            return
    if device is None:
        assert client.get(SET_UP_URL).status_code == 200
        with schema_context(schema):
            pending = TOTPDevice.objects.get(user=user, confirmed=False)
            code = totp_code(pending)
        response = client.post(SET_UP_URL, {"code": code})
        assert response.status_code == 200 and "recovery codes" in response.content.decode()
        return
    with schema_context(schema):
        code = totp_code(device)
    response = client.post(VERIFY_URL, {"code": code})
    assert response.status_code == 302, f"{email}'s second factor was refused"


def _staff(organisation: Organisation, local: str, name: str, role: Role) -> User:
    with tenant_context(organisation):
        return User.objects.create_user(
            f"{local}@{organisation.slug}.example", PASSWORD, full_name=name, role=role
        )


@pytest.fixture(scope="session", autouse=True)
def _quick_password_hashing() -> Iterator[None]:
    """Passwords hashed with a fast hasher in the suite only.

    PBKDF2 at Django's strength costs about 0.2 s per hash on this machine, and the suite
    signs in and makes accounts some hundreds of times: over a minute of `make test`. The
    product's own hasher is checked in tests/config/test_settings.py; nothing here depends on
    how a password is hashed, only on whether it matches. Servers the suite starts in another
    process never see these accounts' passwords."""
    quick = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with override_settings(PASSWORD_HASHERS=quick):
        yield


@pytest.fixture(scope="session", autouse=True)
def _every_task_registered() -> None:
    """Every app's tasks registered, as on a worker at start-up (Celery's autodiscovery
    runs on its `import_modules` signal): tests that look tasks up by name, or check every
    task, must not depend on which modules earlier tests happened to import."""
    from config.celery import app

    app.loader.import_default_modules()


@pytest.fixture(scope="session")
def cast(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Cast:
    with django_db_blocker.unblock(), schema_context(settings.PUBLIC_SCHEMA_NAME):
        org_a, admin_a = _provision("alpha", "Alpha Hospitals NHS Trust")
        org_b, admin_b = _provision("beta", "Beta Hospitals NHS Trust")
        responder_a = _staff(org_a, "responder", "Rita Responder", Role.RESPONDER)
        member_a = _staff(org_a, "member", "Mo Member", Role.MEMBER)
        responder_b = _staff(org_b, "responder", "Bea Responder", Role.RESPONDER)
        moderator = User.objects.create_user(
            "moderator@carevoice.example", PASSWORD, full_name="Morgan Moderator", is_staff=True
        )
        grant_moderation(moderator)
        # Platform staff and administrators sign in with a second factor.
        enrol_second_factor(moderator)
        for organisation, admin in ((org_a, admin_a), (org_b, admin_b)):
            with tenant_context(organisation):
                enrol_second_factor(admin)
        ward_a, clinic_a = _services(
            org_a,
            "Alpha General Hospital",
            [("Alpha Ward One", "AW1", "ward"), ("Alpha Eye Clinic", "AEC", "clinic")],
        )
        (ward_b,) = _services(org_b, "Beta Infirmary", [("Beta Private Ward", "BPW", "ward")])
    return Cast(
        org_a,
        org_b,
        admin_a,
        responder_a,
        member_a,
        admin_b,
        responder_b,
        moderator,
        ward_a,
        clinic_a,
        ward_b,
    )


@pytest.fixture(autouse=True)
def _public_schema_and_fresh_cache() -> Iterator[None]:
    """Each test starts in the public schema with empty caches (rate limits, routing) and no
    URLconf left behind by a request (a test client's response never closed keeps the hub's
    URLconf on this thread, and `reverse` would then look in the wrong one)."""
    from django.core.cache import cache
    from django.urls import set_urlconf

    from tenants.routing import forget_routes

    connection.set_schema_to_public()
    clear_cache(cache)
    forget_routes()
    set_urlconf(None)
    yield
    connection.set_schema_to_public()
    set_urlconf(None)


# Parallel runs (`make test-fast`, pytest-xdist): each worker has its own test database, and
# its own cache keys in the one Redis (pytest_configure sets the key prefix), so clearing
# the cache clears only this worker's keys.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def clear_cache(cache: object) -> None:
    if not XDIST_WORKER or not hasattr(cache, "_cache"):
        cache.clear()
        return
    client = cache._cache.get_client(write=True)
    # django_tenants.cache.make_key: "<schema>:<prefix>:<version>:<key>".
    keys = list(client.scan_iter(match=f"*:{XDIST_WORKER}:*", count=1000))
    if keys:
        client.delete(*keys)


def host_of(organisation: Organisation) -> str:
    return f"{organisation.slug}.{settings.BASE_DOMAIN}"


def client_for(organisation: Organisation | None, **kwargs: object) -> Client:
    host = host_of(organisation) if organisation else settings.BASE_DOMAIN
    return Client(HTTP_HOST=host, **kwargs)


def sign_in(client: Client, email: str, password: str = PASSWORD) -> object:
    """Sign in at the client's workspace (or, for the hub, the Django admin's form), then
    pass the second step if the account is asked for it. Returns the password step's
    response."""
    hub = client.defaults.get("HTTP_HOST", settings.BASE_DOMAIN) == settings.BASE_DOMAIN
    login_url = "/admin/login/" if hub else "/accounts/login/"
    fields = {"username": email, "password": password}
    if hub:
        fields["next"] = "/admin/"  # as the admin's own form sends
    response = client.post(login_url, fields)
    if response.status_code == 302:
        pass_second_factor(client, email)
    return response


def sign_in_demo_moderator(client: Client) -> None:
    """Sign the demo's platform moderator in on the hub: with the demo's password, or, when
    the suite's own cast made that account first, with the suite's."""
    from tenants.demo import DEMO_PASSWORD

    email = "moderator@carevoice.example"
    signed = sign_in(client, email, DEMO_PASSWORD)
    if signed.status_code != 302:
        signed = sign_in(client, email, PASSWORD)
    assert signed.status_code == 302, "the demo's moderator could not sign in"


@pytest.fixture
def admin_a_client(cast: Cast, db: None) -> Client:
    client = client_for(cast.org_a)
    response = sign_in(client, cast.admin_a.email)
    assert response.status_code == 302, "the cast's admin could not sign in"
    return client


@pytest.fixture
def admin_b_client(cast: Cast, db: None) -> Client:
    client = client_for(cast.org_b)
    response = sign_in(client, cast.admin_b.email)
    assert response.status_code == 302
    return client


@pytest.fixture(scope="session")
def celery_worker_thread(django_db_setup: None, django_db_blocker: pytest.FixtureRequest):
    """A real Celery worker, consuming from the real broker, in a thread of this process."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    with django_db_blocker.unblock():
        with start_worker(
            app, perform_ping_check=False, pool="solo", loglevel="WARNING", shutdown_timeout=20
        ) as worker:
            yield worker
        # The worker thread keeps its connection between tasks and has now stopped without
        # closing it; end it, or the test database cannot be dropped.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture
def committed_db(django_db_blocker: pytest.FixtureRequest, cast: Cast) -> Iterator[None]:
    """Database access without a wrapping transaction, for work another thread must see.

    Tests using it clean up what they create.
    """
    with django_db_blocker.unblock():
        yield


AUTHOR_EMAIL = "author.private@example.net"
AUTHOR_POSTCODE = "LS1 4AP"


def tell(listings: list[ServiceListing], **overrides: object) -> int:
    """An author's story, sent through the product's intake; returns the submission id."""
    fields = {
        "title": "Kind nurses on the ward",
        "what_was_good": "The nurses were kind and explained everything.",
        "what_could_be_improved": "The wait for a bed was long.",
        "how_it_felt": "Reassured.",
        "author_role": "patient",
        "author_age_group": "55-64",
        "nickname": "Pat",
        "email": AUTHOR_EMAIL,
        "postcode": AUTHOR_POSTCODE,
        "route": "web",
        "listings": listings,
    }
    fields.update(overrides)
    return submit_story(StoryFromAuthor(**fields)).pk


def tell_and_publish(
    cast: Cast,
    listings: list[ServiceListing],
    *,
    criticality: str = "mildly critical",
    tags: list[str] | None = None,
    **overrides: object,
) -> Published:
    submission_id = tell(listings, **overrides)
    return publish_submission(
        submission_id,
        moderator=cast.moderator,
        decision=Decision(
            criticality=criticality,
            tag_keys=tags if tags is not None else ["what was good:kind staff"],
            listings=listings,
        ),
    )


# --- test tiers ----------------------------------------------------------------------------
# `make test` (and CI) runs everything; `make test-fast` leaves out the tiers below (markers
# registered in pyproject.toml): browsers, killed workers, servers the tests start themselves,
# the deployment files, the whole demo built per test, and property-based fuzzing.
# A place is a directory (`tests/browser/`), a module, a module pattern (`tests/*/test_*demo*.py`)
# or one test (`module::test`); directories and patterns take new files in automatically, and
# so does any test that uses one of SERVER_FIXTURES. Name single tests only in quick modules.
SLOW_TIERS: dict[str, tuple[str, ...]] = {
    # Headless Chromium against a live server (tests/browser/conftest.py).
    "browser": ("tests/browser/",),
    # Tests that kill a Celery worker or the broker on purpose.
    "worker_kill": (
        "tests/alerts/test_worker_killed.py",
        "tests/faults/test_killed_workers.py",
        "tests/faults/test_broker_restart.py",
        "tests/config/test_embedded.py::test_queued_messages_survive_the_embedded_broker_being_killed",
    ),
    # Tests that start servers of their own: embedded PostgreSQL, Redis and Stripe, the
    # launcher with all three, gunicorn.
    "embedded_server": (
        "tests/config/test_embedded.py",
        "tests/config/test_embedded_stripe.py",
        "tests/config/test_log_redaction.py::test_gunicorn_access_and_error_logs_show_no_key_or_token",
    ),
    # The deployment files: kustomize, `nginx -t`, a real PgBouncer.
    "infra": ("tests/infra/",),
    # `seed_demo`, the whole demo, built inside the test: seconds each.
    "demo": ("tests/*/test_*demo*.py",),
    # Property-based tests (hypothesis, schemathesis): dozens of examples each.
    "fuzz": ("tests/fuzz/",),
    # A Citus coordinator and two workers of the suite's own (tests/citus/cluster.py), and
    # the isolation and publish-to-alert suites run again against them in a subprocess.
    "citus": ("tests/citus/",),
}
# Fixtures that start a server for the test that uses them (directly or through another).
SERVER_FIXTURES: dict[str, str] = {
    "celery_worker_thread": "embedded_server",  # a real worker consuming the real broker
    "oidc_provider": "embedded_server",  # tests/tenants/test_sso.py: a real OIDC provider
    "live_hub": "embedded_server",  # tests/billing/test_card_page_end_to_end.py
    "live_site": "browser",
}


def _is_in(nodeid: str, place: str) -> bool:
    path, _, test = nodeid.partition("::")
    if place.endswith("/"):
        return path.startswith(place)
    place_path, _, place_test = place.partition("::")
    if not fnmatch.fnmatchcase(path, place_path):
        return False
    return not place_test or test == place_test or test.startswith(place_test + "[")


def tiers_of(nodeid: str, fixturenames: Iterable[str] = ()) -> set[str]:
    """The slow tiers a test (by its node id, `tests/a/test_b.py::test_c[x]`) belongs to."""
    tiers = {
        tier for tier, places in SLOW_TIERS.items() for place in places if _is_in(nodeid, place)
    }
    return tiers | {SERVER_FIXTURES[name] for name in fixturenames if name in SERVER_FIXTURES}


def stale_tier_entries(root: Path) -> list[str]:
    """Places in SLOW_TIERS that name no file or test any more (renamed or moved)."""
    stale = []
    for places in SLOW_TIERS.values():
        for place in places:
            path, _, test = place.partition("::")
            files = list(root.glob(path)) if "*" in path else [root / path]
            found = bool(files) and all(file.exists() for file in files)
            defined = rf"^(async )?def {re.escape(test)}\("
            if not found or (test and not re.search(defined, files[0].read_text(), re.MULTILINE)):
                stale.append(place)
    return stale


# Where the local Stripe server is used without the module naming it: billing's own tests
# (its conftest talks to the server) and sign-up's.
STRIPE_FOLDERS = ("tests/billing/", "tests/signup/")


def uses_local_stripe(path: Path, _seen: dict[Path, bool] = {}) -> bool:  # noqa: B006 - a cache
    """Whether a test module may talk to the local Stripe server (whose one store every test
    shares, and which billing's tests empty): it is in a folder above, names Stripe, or
    uses billing's test helpers."""
    if path not in _seen:
        relative = path.resolve().relative_to(Path(__file__).resolve().parent.parent).as_posix()
        text = path.read_text().lower()
        _seen[path] = (
            relative.startswith(STRIPE_FOLDERS) or "stripe" in text or "tests.billing" in text
        )
    return _seen[path]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its slow tiers, before `-m` selects (hence tryfirst).
    tests/config/test_test_tiers.py checks that every place named above still exists.

    Tests that use the local Stripe server share one xdist group, so a parallel run
    (`--dist loadgroup`) gives them all to one worker, in order."""
    for item in items:
        for tier in sorted(tiers_of(item.nodeid, getattr(item, "fixturenames", ()))):
            item.add_marker(tier)
        # A group the test names itself wins (it says what it shares).
        if uses_local_stripe(Path(item.path)) and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group("stripe"))


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, this worker's cache keys carry its name (see clear_cache).

    TRICKY: pytest-django creates the test database only for tests marked django_db or
    using its `db` fixtures. Tests that commit (`committed_db`, the worker) use neither, so
    a run of only those would find no database. Count them as needing the default one."""
    from pytest_django import fixtures as django_fixtures

    original = django_fixtures._get_databases_for_test
    committing = {"committed_db", "celery_worker_thread"}

    def databases_for(test: pytest.Item) -> tuple[object, bool]:
        databases, serialized = original(test)
        if not databases and committing & set(getattr(test, "fixturenames", ())):
            return ("default",), False
        return databases, serialized

    django_fixtures._get_databases_for_test = databases_for
    if XDIST_WORKER:
        settings.CACHES["default"]["KEY_PREFIX"] = XDIST_WORKER


def forget_published_stories(organisations: list[Organisation], public_ids: list[int]) -> None:
    """Delete committed published stories, everywhere they were written: each organisation's
    Story (through the rollups' own bookkeeping, so the dashboards' committed counts forget
    them too), the submission and the public copy."""
    from django.db import transaction

    from dashboards.rollups.updating import tracking
    from feedback.hub.models import PublicStory, Submission
    from feedback.models import Story

    for organisation in organisations:
        with tenant_context(organisation):
            stories = list(Story.objects.filter(public_id__in=public_ids))
            with transaction.atomic(), tracking([story.pk for story in stories]):
                for story in stories:
                    story.services.clear()
                    story.tags.clear()
                    story.delete()
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        for submission in Submission.objects.filter(public_story_id__in=public_ids):
            submission.services.clear()
            submission.delete()
        for public in PublicStory.objects.filter(pk__in=public_ids):
            public.services.clear()
            public.organisations.clear()
            public.delete()


def wait_until(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Wait for a real worker (or another process) to make `condition` true. A guard against
    a hang, not a timing assertion: the limit is far beyond how long the work takes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or 'the worker'}")
