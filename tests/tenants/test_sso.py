"""Single sign-on with OpenID Connect (tenants/accounts/sso.py), against a real provider in a
second process: django-oauth-toolkit's (config/oidc_provider), its login form filled in over
HTTP, its token endpoint called by Carevoice over HTTP. No endpoint is mocked.

A signs in through it; B has no single sign-on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client
from django_tenants.utils import tenant_context

from config.oidc_provider.process import LocalOidcProvider
from tenants.accounts import sso
from tenants.accounts.models import Role, SingleSignOn, User
from tenants.audit.models import AuditEvent
from tests.conftest import Cast, client_for, host_of, sign_in

pytestmark = pytest.mark.django_db

CLIENT_ID = "carevoice-test"
CLIENT_SECRET = "local-provider-secret-0123456789"
PASSWORD = "provider-password-2026"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def domain(cast: Cast) -> str:
    return f"{cast.org_a.slug}.example"


@pytest.fixture(scope="module")
def oidc_provider(
    tmp_path_factory: pytest.TempPathFactory, cast: Cast
) -> Iterator[LocalOidcProvider]:
    people = [
        ("new.nurse", "Nina Newcomer"),
        ("admin", "Alpha Admin"),
        ("member", "Alpha Member"),
    ]
    provider = LocalOidcProvider(
        Path(tmp_path_factory.mktemp("oidc")),
        clients=[
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"http://{host_of(cast.org_a)}/accounts/sso/callback/"],
            }
        ],
        users=[
            {"email": f"{local}@{domain(cast)}", "password": PASSWORD, "name": name}
            for local, name in people
        ]
        + [{"email": "outsider@elsewhere.example", "password": PASSWORD, "name": "Out Sider"}],
    )
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture
def configured(cast: Cast, oidc_provider: LocalOidcProvider) -> SingleSignOn:
    with tenant_context(cast.org_a):
        return sso.save_configuration(
            sso.Settings(
                enabled=True,
                provider_name="NHSmail",
                issuer=oidc_provider.issuer,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                allowed_domains=[domain(cast)],
                password_sign_in=True,
                default_role=Role.RESPONDER,
            ),
            actor=User.objects.get(pk=cast.admin_a.pk),
        )


def through_provider(  # noqa: ANN201
    client: Client, email: str, start: str = "/accounts/sso/start/", password: str = PASSWORD
):
    """Start at Carevoice, sign in at the provider as a browser would, and bring its answer
    back to Carevoice; Carevoice's last response."""
    started = client.get(start)
    assert started.status_code == 302, started.content[:300]
    browser = requests.Session()
    response = browser.get(started["Location"], allow_redirects=False, timeout=10)
    login_url = response.headers["Location"]
    if login_url.startswith("/"):
        parts = urlsplit(started["Location"])
        login_url = f"{parts.scheme}://{parts.netloc}{login_url}"
    form = browser.get(login_url, timeout=10)
    token = CSRF.search(form.text).group(1)
    next_url = unescape(re.search(r'name="next" value="([^"]*)"', form.text).group(1))
    answered = browser.post(
        login_url,
        {"csrfmiddlewaretoken": token, "username": email, "password": password, "next": next_url},
        headers={"Referer": login_url},
        allow_redirects=False,
        timeout=10,
    )
    assert answered.status_code == 302, answered.text[:300]
    authorised = browser.get(
        f"{urlsplit(login_url).scheme}://{urlsplit(login_url).netloc}{answered.headers['Location']}",
        allow_redirects=False,
        timeout=10,
    )
    callback = authorised.headers["Location"]
    assert callback.startswith(f"http://{host_of_client(client)}/accounts/sso/callback/?")
    parts = urlsplit(callback)
    return client.get(f"{parts.path}?{parts.query}")


def host_of_client(client: Client) -> str:
    return client.defaults["HTTP_HOST"]


def test_a_first_sign_in_makes_an_account_with_the_default_role(
    cast: Cast, configured: SingleSignOn
) -> None:
    client = client_for(cast.org_a)
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with NHSmail" in page and 'name="password"' in page
    done = through_provider(
        client, f"new.nurse@{domain(cast)}", "/accounts/sso/start/?next=/stories/"
    )
    assert done.status_code == 302 and done["Location"] == "/stories/"
    assert client.get("/stories/").status_code == 200
    with tenant_context(cast.org_a):
        user = User.objects.get(email=f"new.nurse@{domain(cast)}")
        assert user.role == Role.RESPONDER and user.full_name == "Nina Newcomer"
        assert not user.has_usable_password()
        actions = list(AuditEvent.objects.values_list("action", flat=True))
        assert "accounts.sso_account_created" in actions and "accounts.sso_signed_in" in actions
        assert SingleSignOn.objects.get().last_signed_in_at is not None
    # B knows nothing of A's account.
    with tenant_context(cast.org_b):
        assert not User.objects.filter(email=f"new.nurse@{domain(cast)}").exists()


def test_an_administrator_signs_in_without_carevoices_second_factor(
    cast: Cast, configured: SingleSignOn
) -> None:
    client = client_for(cast.org_a)
    done = through_provider(client, cast.admin_a.email)
    assert done.status_code == 302
    # A password sign-in would be sent to the second factor; the provider checked its own.
    staff = client.get("/staff/")
    assert staff.status_code == 200, staff.get("Location")


def test_an_address_outside_the_domains_or_a_switched_off_account_is_refused(
    cast: Cast, configured: SingleSignOn
) -> None:
    outsider = through_provider(client_for(cast.org_a), "outsider@elsewhere.example")
    assert outsider.status_code == 400
    assert "not in an email domain allowed" in outsider.content.decode()
    with tenant_context(cast.org_a):
        assert not User.objects.filter(email="outsider@elsewhere.example").exists()
        User.objects.filter(pk=cast.member_a.pk).update(is_active=False)
    switched_off = through_provider(client_for(cast.org_a), cast.member_a.email)
    assert switched_off.status_code == 400 and "switched off" in switched_off.content.decode()


def test_a_forged_or_replayed_answer_signs_nobody_in(cast: Cast, configured: SingleSignOn) -> None:
    client = client_for(cast.org_a)
    forged = client.get("/accounts/sso/callback/?code=made-up&state=made-up")
    assert forged.status_code == 400 and "did not work" in forged.content.decode()
    assert client.get("/stories/").status_code == 302  # still signed out
    client.get("/accounts/sso/start/")
    denied = client.get("/accounts/sso/callback/?error=access_denied&state=x")
    assert denied.status_code == 400


def test_password_sign_in_can_be_turned_off_once_the_provider_has_worked(
    cast: Cast, configured: SingleSignOn
) -> None:
    admin = client_for(cast.org_a)
    assert sign_in(admin, cast.admin_a.email).status_code == 302
    settings = {
        "enabled": "on",
        "provider_name": "NHSmail",
        "issuer": configured.issuer,
        "client_id": CLIENT_ID,
        "client_secret": "",
        "allowed_domains": domain(cast),
        "default_role": "member",
    }
    too_soon = admin.post("/accounts/single-sign-on/", settings)
    assert too_soon.status_code == 400 and "Keep password sign-in on" in too_soon.content.decode()
    through_provider(client_for(cast.org_a), f"new.nurse@{domain(cast)}")
    assert admin.post("/accounts/single-sign-on/", settings).status_code == 302
    page = client_for(cast.org_a).get("/accounts/login/").content.decode()
    assert "Sign in with NHSmail" in page and 'name="password"' not in page
    refused = client_for(cast.org_a).post(
        "/accounts/login/", {"username": cast.member_a.email, "password": "irrelevant"}
    )
    assert refused.status_code == 200
    assert "Staff here sign in with NHSmail" in refused.content.decode()
    reset = client_for(cast.org_a).post("/accounts/password/reset/", {"email": cast.member_a.email})
    assert "Staff here sign in with NHSmail" in reset.content.decode()
    # The secret is never shown, nor kept in the clear, nor in the audit log.
    body = admin.get("/accounts/single-sign-on/").content.decode()
    assert CLIENT_SECRET not in body
    with tenant_context(cast.org_a):
        assert CLIENT_SECRET not in SingleSignOn.objects.get().client_secret_encrypted
        assert not AuditEvent.objects.filter(detail__icontains=CLIENT_SECRET).exists()


def test_only_administrators_set_it_up_and_other_organisations_have_none(
    cast: Cast, configured: SingleSignOn
) -> None:
    member = client_for(cast.org_a)
    assert sign_in(member, cast.member_a.email).status_code == 302
    assert member.get("/accounts/single-sign-on/").status_code == 403
    other = client_for(cast.org_b)
    assert other.get("/accounts/sso/start/").status_code == 404
    assert other.get("/accounts/sso/callback/?code=x&state=y").status_code == 404
    assert "Sign in with" not in other.get("/accounts/login/").content.decode()
    b_admin = client_for(cast.org_b)
    assert sign_in(b_admin, cast.admin_b.email).status_code == 302
    assert configured.issuer not in b_admin.get("/accounts/single-sign-on/").content.decode()


def test_bad_settings_get_clear_messages(cast: Cast, configured: SingleSignOn) -> None:
    admin = client_for(cast.org_a)
    assert sign_in(admin, cast.admin_a.email).status_code == 302
    base = {
        "enabled": "on",
        "provider_name": "NHSmail",
        "client_id": CLIENT_ID,
        "allowed_domains": domain(cast),
        "default_role": "member",
        "password_sign_in": "on",
    }
    plain = admin.post("/accounts/single-sign-on/", {**base, "issuer": "http://idp.example/o"})
    assert plain.status_code == 400 and "https://" in plain.content.decode()
    nobody = admin.post(
        "/accounts/single-sign-on/", {**base, "issuer": configured.issuer, "allowed_domains": " "}
    )
    assert nobody.status_code == 400
    admin_role = admin.post(
        "/accounts/single-sign-on/",
        {**base, "issuer": configured.issuer, "default_role": "administrator"},
    )
    assert admin_role.status_code == 400


def test_a_provider_naming_another_issuer_is_not_trusted(
    cast: Cast, configured: SingleSignOn, oidc_provider: LocalOidcProvider
) -> None:
    with tenant_context(cast.org_a):
        SingleSignOn.objects.update(issuer=oidc_provider.issuer.replace("127.0.0.1", "localhost"))
    started = client_for(cast.org_a).get("/accounts/sso/start/")
    assert started.status_code == 502 and "could not be reached" in started.content.decode()


def test_a_person_invited_to_some_services_who_signs_on_first_takes_the_invitation(
    cast: Cast, configured: SingleSignOn
) -> None:
    """Invited as a member limited to the ward, they sign on instead of following the link:
    the account made just in time is a member limited to the ward, not the configuration's
    default responder who sees every service; and when the invited services are all gone,
    the sign-on is refused with the reason and no account is made."""
    from feedback.models import Service
    from feedback.service_limits import limited_services
    from onboarding.invitations import invite_staff
    from onboarding.models import Invitation

    email = f"new.nurse@{domain(cast)}"
    with tenant_context(cast.org_a):
        site = Service.objects.get(pk=cast.ward_a.service_id).site
        closing = Service.objects.create(site=site, name="Closing ward", code="CW", type="ward")
        invite_staff(email=email, role=Role.MEMBER, actor=cast.admin_a, services=[closing.pk])
        closing.delete()
    refused = through_provider(client_for(cast.org_a), email)
    assert refused.status_code == 400 and "no longer exist" in refused.content.decode()
    with tenant_context(cast.org_a):
        assert not User.objects.filter(email=email).exists()
        Invitation.objects.filter(email=email).update(limited_to=[cast.ward_a.service_id])
    client = client_for(cast.org_a)
    assert through_provider(client, email).status_code == 302
    with tenant_context(cast.org_a):
        user = User.objects.get(email=email)
        assert user.role == Role.MEMBER
        assert limited_services(user) == frozenset({cast.ward_a.service_id})
        assert Invitation.objects.get(email=email).accepted_user == user
    assert client.get("/services/").status_code == 403  # limited from the first page
