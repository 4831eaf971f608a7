"""The demo's single sign-on: with the local provider the launcher starts, `seed_demo` sets
Northshire Mental Health up to sign in through it, and Sam Taylor, whom only the provider
knows, signs in and gets an account."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django_tenants.utils import tenant_context

from config import launcher
from tenants.accounts.models import SingleSignOn, User
from tests.tenants.test_sso import through_provider

pytestmark = pytest.mark.django_db
PORT = "8000"


@pytest.fixture
def oidc_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    provider = launcher.local_oidc_provider(tmp_path, PORT)
    provider.start()
    for name, value in launcher.demo_oidc_environment(provider).items():
        monkeypatch.setenv(name, value)
    yield provider
    provider.stop()


def test_the_demo_signs_sam_in_through_the_local_provider(oidc_provider: object) -> None:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    from tenants.models import Organisation

    trust = Organisation.objects.get(slug=launcher.DEMO_OIDC_ORGANISATION)
    assert (
        "Single sign-on:" in out.getvalue() and launcher.DEMO_OIDC_PERSON["email"] in out.getvalue()
    )
    client = Client(HTTP_HOST=f"{trust.slug}.localhost:{PORT}")
    assert "Sign in with NHSmail" in client.get("/accounts/login/").content.decode()
    done = through_provider(
        client, launcher.DEMO_OIDC_PERSON["email"], password=launcher.DEMO_OIDC_PASSWORD
    )
    assert done.status_code == 302, done.content[:300]
    assert client.get("/stories/").status_code == 200
    with tenant_context(trust):
        assert User.objects.get(email=launcher.DEMO_OIDC_PERSON["email"]).full_name == "Sam Taylor"
        assert SingleSignOn.objects.get().last_signed_in_at is not None
    # Seeding again (a new run, a new port) keeps one configuration.
    call_command("seed_demo", "--stories", "40", stdout=StringIO())
    with tenant_context(trust):
        assert SingleSignOn.objects.count() == 1
