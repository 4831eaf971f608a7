"""A staff session ends after a spell without activity, and in any case some hours after
sign-in; both are configurable. In production the cookies carry the __Host- prefix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenants.audit.models import AuditEvent
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self, start: datetime) -> None:
        self.at = start

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(timezone.now())
    monkeypatch.setattr(timezone, "now", lambda: clock.at)
    return clock


def signed_in(cast: Cast) -> Client:
    client = client_for(cast.org_a)
    assert sign_in(client, cast.member_a.email).status_code == 302
    assert client.get("/").status_code == 200
    return client


def assert_signed_out(client: Client, message: str) -> None:
    response = client.get("/", follow=True)
    assert response.redirect_chain, "still signed in"
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert message in response.content.decode()
    # And it stays signed out: the old session is gone.
    assert client.get("/").status_code == 302


def test_an_idle_session_is_signed_out(cast: Cast, clock: Clock) -> None:
    client = signed_in(cast)
    clock.advance(minutes=29)
    assert client.get("/").status_code == 200
    clock.advance(minutes=31)
    assert_signed_out(client, "You were signed out after 30 minutes without activity.")
    with tenant_context(cast.org_a):
        event = AuditEvent.objects.filter(action="auth.session_expired").get()
    assert event.actor_id == cast.member_a.pk
    assert event.summary == "Signed out after 30 minutes without activity"


def test_activity_keeps_the_session_alive_until_the_absolute_limit(
    cast: Cast, clock: Clock, settings: object
) -> None:
    settings.STAFF_SESSION_MAX_SECONDS = 2 * 60 * 60
    client = signed_in(cast)
    for _ in range(5):  # active every 20 minutes, for 1 h 40
        clock.advance(minutes=20)
        assert client.get("/").status_code == 200
    clock.advance(minutes=20)
    assert_signed_out(client, "You were signed out because you signed in more than 2 hours ago.")


def test_the_default_absolute_limit_is_twelve_hours(cast: Cast, clock: Clock) -> None:
    client = signed_in(cast)
    for _ in range(35):  # 11 h 40 of steady work
        clock.advance(minutes=20)
        assert client.get("/").status_code == 200
    clock.advance(minutes=20)
    assert_signed_out(client, "signed in more than 12 hours ago")


def test_the_idle_limit_is_configurable(cast: Cast, clock: Clock, settings: object) -> None:
    settings.STAFF_SESSION_IDLE_SECONDS = 5 * 60
    client = signed_in(cast)
    clock.advance(minutes=4)
    assert client.get("/").status_code == 200
    clock.advance(minutes=5, seconds=1)
    assert_signed_out(client, "You were signed out after 5 minutes without activity.")


def test_activity_is_saved_at_most_once_a_minute(cast: Cast, clock: Clock) -> None:
    client = signed_in(cast)

    def stored() -> tuple[str, datetime]:
        row = Session.objects.get(session_key=client.session.session_key)
        return row.session_data, row.expire_date

    before = stored()
    clock.advance(seconds=20)
    assert client.get("/").status_code == 200
    assert stored() == before, "the session was written again within the minute"
    clock.advance(seconds=50)
    assert client.get("/").status_code == 200
    assert stored() != before


def test_a_dashboards_timer_polls_do_not_keep_a_session_alive(cast: Cast, clock: Clock) -> None:
    client = signed_in(cast)
    poll = {
        "output": "live-tiles.children",
        "outputs": {"id": "live-tiles", "property": "children"},
        "inputs": [{"id": "tick", "property": "n_intervals", "value": 1}],
        "changedPropIds": ["tick.n_intervals"],
        "state": [],
    }
    for _ in range(4):  # a screen left open, polling, for 40 minutes
        clock.advance(minutes=10)
        client.post(
            "/dashboards/live/_dash-update-component",
            json.dumps(poll),
            content_type="application/json",
        )
    assert_signed_out(client, "without activity")


def test_signing_in_again_starts_the_clocks_again(cast: Cast, clock: Clock) -> None:
    client = signed_in(cast)
    clock.advance(minutes=31)
    assert_signed_out(client, "without activity")
    assert sign_in(client, cast.member_a.email).status_code == 302
    assert client.get("/").status_code == 200


def _cookie_names(env: dict[str, str]) -> dict[str, object]:
    probe = """
import json, django
django.setup()
from django.conf import settings
from dashboards.tenant_app import app
names = (
    "SESSION_COOKIE_NAME", "CSRF_COOKIE_NAME", "SESSION_COOKIE_DOMAIN", "SESSION_COOKIE_PATH",
    "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "STAFF_SESSION_IDLE_SECONDS",
    "STAFF_SESSION_MAX_SECONDS",
)
values = {name: getattr(settings, name) for name in names}
# The dashboards send Django's CSRF cookie back: they must read it by its name.
values["DASH_CSRF_COOKIE"] = app.config.csrf_token_name
print(json.dumps(values))
"""
    base = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CAREVOICE_IGNORE_RUNTIME": "1",
        "SECRET_KEY": "k" * 20 + "Z9_-x" * 10,
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": "postgres://app:pw@db.internal:5432/carevoice",
        "BASE_DOMAIN": "carevoice.example",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.carevoice.example",
    }
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_cookies_carry_the_host_prefix() -> None:
    values = _cookie_names({"PRODUCTION": "true", "TRUSTED_PROXIES": "10.0.0.0/8"})
    assert values["SESSION_COOKIE_NAME"] == "__Host-sessionid"
    assert values["CSRF_COOKIE_NAME"] == "__Host-csrftoken"
    assert values["DASH_CSRF_COOKIE"] == "__Host-csrftoken"
    # What browsers require of a __Host- cookie.
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_DOMAIN"] is None and values["SESSION_COOKIE_PATH"] == "/"
    assert (values["STAFF_SESSION_IDLE_SECONDS"], values["STAFF_SESSION_MAX_SECONDS"]) == (
        30 * 60,
        12 * 60 * 60,
    )
    laptop = _cookie_names({"SECURE_COOKIES": "false"})
    assert laptop["SESSION_COOKIE_NAME"] == "sessionid"
    assert laptop["CSRF_COOKIE_NAME"] == "csrftoken"
    configured = _cookie_names(
        {"STAFF_SESSION_IDLE_SECONDS": "600", "STAFF_SESSION_MAX_SECONDS": "3600"}
    )
    assert (configured["STAFF_SESSION_IDLE_SECONDS"], configured["STAFF_SESSION_MAX_SECONDS"]) == (
        600,
        3600,
    )


def test_a_production_session_works_under_the_prefixed_cookie_names(
    cast: Cast, settings: object
) -> None:
    settings.SESSION_COOKIE_NAME = "__Host-sessionid"
    settings.CSRF_COOKIE_NAME = "__Host-csrftoken"
    client = Client(HTTP_HOST=f"alpha.{settings.BASE_DOMAIN}", enforce_csrf_checks=True)
    client.get("/accounts/login/")
    token = client.cookies["__Host-csrftoken"].value
    response = client.post(
        "/accounts/login/",
        {
            "username": cast.member_a.email,
            "password": "correct-horse-battery-9",
            "csrfmiddlewaretoken": token,
        },
    )
    assert response.status_code == 302
    cookie = client.cookies["__Host-sessionid"]
    assert cookie["path"] == "/" and not cookie["domain"]
    assert client.get("/").status_code == 200
