"""Sessions end when they should (ASVS 7.4), long passphrases work (6.2.9), and sign-in never
sends anyone to another site (3.7.2)."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from tenants.staff import deactivate_staff
from tests.conftest import PASSWORD, Cast, client_for, sign_in

pytestmark = pytest.mark.django_db


def _signed_in_responder(cast: Cast) -> Client:
    client = client_for(cast.org_a)
    assert sign_in(client, cast.responder_a.email).status_code == 302
    assert client.get("/").status_code == 200
    return client


def test_signing_out_ends_the_session_on_the_server(cast: Cast) -> None:
    client = _signed_in_responder(cast)
    stolen = client.cookies["sessionid"].value
    assert client.post("/accounts/logout/").status_code in (200, 302)

    # The old cookie, replayed (the back button, or someone who copied it), is anonymous.
    replay = client_for(cast.org_a)
    replay.cookies["sessionid"] = stolen
    response = replay.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_deactivating_someone_ends_the_sessions_they_already_have(cast: Cast) -> None:
    client = _signed_in_responder(cast)
    with tenant_context(cast.org_a):
        deactivate_staff(cast.responder_a, actor=cast.admin_a)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_long_passphrase_of_any_characters_works(cast: Cast) -> None:
    client = _signed_in_responder(cast)
    long_one = "the quiet ward at night 🌙 " * 4 + "and the kind nurse who sat with me"
    assert len(long_one) > 64
    changed = client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": long_one, "new_password2": long_one},
    )
    assert changed.status_code == 302
    fresh = client_for(cast.org_a)
    assert sign_in(fresh, cast.responder_a.email, long_one).status_code == 302
    # Exactly as typed: not truncated, not case-folded.
    assert sign_in(client_for(cast.org_a), cast.responder_a.email, long_one[:64]).status_code == 200
    assert (
        sign_in(client_for(cast.org_a), cast.responder_a.email, long_one.upper()).status_code == 200
    )


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "http:evil"]
)
def test_sign_in_never_redirects_to_another_site(cast: Cast, next_url: str) -> None:
    client = client_for(cast.org_a)
    response = client.post(
        f"/accounts/login/?next={next_url}",
        {"username": cast.responder_a.email, "password": PASSWORD, "next": next_url},
    )
    assert response.status_code == 302
    assert "evil" not in response["Location"]
    assert response["Location"].startswith("/")
    assert not response["Location"].startswith("//")
