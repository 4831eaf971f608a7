"""Headers every response carries, methods nobody answers, and where to report a problem."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import Cast, client_for

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, str]:  # noqa: ANN001
    return {
        part.split(" ", 1)[0]: part.split(" ", 1)[1]
        for part in response["Content-Security-Policy"].split("; ")
    }


def test_every_page_forbids_plugins_base_rewriting_and_framing(cast: Cast) -> None:
    for client, path in ((client_for(None), "/"), (client_for(cast.org_a), "/accounts/login/")):
        policy = _policy(client.get(path))
        assert policy["object-src"] == "'none'"
        assert policy["base-uri"] == "'none'"
        assert policy["frame-ancestors"] == "'none'"


@pytest.mark.parametrize("method", ["TRACE", "TRACK", "CONNECT"])
def test_trace_and_other_echoing_methods_are_refused(cast: Cast, method: str) -> None:
    for client in (client_for(None), client_for(cast.org_a)):
        response = client.generic(method, "/")
        assert response.status_code == 405
        assert "TRACE" not in response["Allow"]


def test_pages_for_signed_in_staff_are_never_stored(cast: Cast, admin_a_client: Client) -> None:
    response = admin_a_client.get("/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_public_pages_keep_their_own_caching(cast: Cast) -> None:
    response = client_for(None).get("/.well-known/security.txt")
    assert response["Cache-Control"] == "public, max-age=86400"


def test_security_txt_names_a_contact_and_a_future_expiry_on_every_host(cast: Cast) -> None:
    for client in (client_for(None), client_for(cast.org_a)):
        response = client.get("/.well-known/security.txt")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        fields = dict(
            line.split(": ", 1) for line in response.content.decode().splitlines() if line
        )
        assert fields["Contact"] == settings.SECURITY_CONTACT
        expires = datetime.strptime(fields["Expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        now = datetime.now(UTC)
        assert now + timedelta(days=30) < expires < now + timedelta(days=365)
        assert fields["Canonical"].endswith(
            f"{settings.BASE_DOMAIN}:{settings.PUBLIC_PORT}/.well-known/security.txt"
        )
        assert re.match(r"https?://", fields["Policy"])


def test_the_policy_page_says_how_to_report(cast: Cast) -> None:
    response = client_for(None).get("/security/")
    assert response.status_code == 200
    assert settings.SECURITY_CONTACT in response.content.decode()
    assert client_for(None).post("/.well-known/security.txt").status_code == 405
