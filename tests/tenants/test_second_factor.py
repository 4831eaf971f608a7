"""A second factor: a password alone reaches no staff page; a code from the app, or a
recovery code once, finishes signing in; organisations may require it of all staff."""

from __future__ import annotations

import re
from base64 import b32encode

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import schema_context, tenant_context

from tenants.accounts.models import User
from tenants.audit.models import AuditEvent
from tests.conftest import (
    PASSWORD,
    SET_UP_URL,
    VERIFY_URL,
    Cast,
    client_for,
    enrol_second_factor,
    sign_in,
    totp_code,
)

pytestmark = pytest.mark.django_db

# What a session with a password alone may still open: the steps of signing in and out, and
# on the hub the pages anyone may read without signing in. Written out here on purpose, so
# that widening the middleware's list is a change this test sees.
SIGN_IN_STEPS = {
    "accounts:login",
    "accounts:logout",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
    # Single sign-on's start and return (tenants/accounts/sso.py): steps of signing in.
    "accounts:sso_start",
    "accounts:sso_callback",
    "second_factor:verify",
    "second_factor:set_up",
    "admin:login",
    "admin:logout",
}
PUBLIC_HUB_PAGES = {
    "hub:home",
    "hub:tell",
    "hub:sent",
    "hub:browse",
    "hub:story",
    "hub:author_response",
    "hub:organisation",
    "hub:you_said_we_did",
    "hub:widget",
    "hub:widget_sent",
    "hub:widget_script",
    "hub:kiosk",
    "hub:kiosk_service",
    "hub:kiosk_sent",
    "signup:pricing",
    "security-txt",
    "security-policy",
}
CODE_PATTERN = re.compile(r"<code>([a-z2-7]{4}(?:-[a-z2-7]{4}){5})</code>")


def url_paths(urlconf: str) -> list[tuple[str, str]]:
    """Every URL of `urlconf` as (a path that reaches it, its name), with sample values in
    place of its parameters: new pages are swept without being listed anywhere."""
    found: list[tuple[str, str]] = []

    def sample(route: str) -> str:
        route = re.sub(r"<int:\w+>", "1", route)
        route = re.sub(r"<(?:slug|str|path):\w+>|<\w+>", "sample", route)
        # re_path routes (Dash's callbacks): a callback path for the named group.
        route = re.sub(r"\(\?P<\w+>[^)]*\)", "_dash-layout", route)
        return route.replace("^", "").replace("$", "").replace("\\", "")

    def walk(patterns: list, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            route = sample(str(pattern.pattern))
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace or ""
                name = f"{namespace}{inner}:" if inner else namespace
                walk(pattern.url_patterns, prefix + route, name)
            elif isinstance(pattern, URLPattern):
                found.append(("/" + prefix + route, f"{namespace}{pattern.name or ''}"))

    walk(get_resolver(urlconf).url_patterns, "", "")
    return found


def password_only(client: Client, email: str, login_url: str = "/accounts/login/") -> Client:
    # The hub's form carries `next` (the hub has no LOGIN_REDIRECT_URL page of its own).
    response = client.post(login_url, {"username": email, "password": PASSWORD, "next": "/"})
    assert response.status_code == 302, "the password itself was refused"
    return client


def assert_password_alone_reaches_nothing(
    client: Client, urlconf: str, allowed: set[str], must_include: list[str]
) -> None:
    paths = url_paths(urlconf)
    swept = [path for path, name in paths if name not in allowed]
    for path in must_include:
        assert path in swept, f"{path} is not among the pages swept"
    reached = []
    for path in swept:
        response = client.get(path)
        to_second_factor = response.status_code == 302 and response["Location"].startswith(
            "/accounts/login/second-factor/"
        )
        refused_json = response.status_code == 403 and "second factor" in response.json()["error"]
        if not (to_second_factor or refused_json):
            reached.append((path, response.status_code))
    assert not reached, f"reached with a password alone: {reached}"


def test_an_administrators_password_alone_reaches_no_workspace_page(cast: Cast) -> None:
    client = password_only(client_for(cast.org_a), cast.admin_a.email)
    assert_password_alone_reaches_nothing(
        client,
        "config.urls_tenant",
        SIGN_IN_STEPS,
        must_include=["/staff/", "/api-keys/", "/alerts/", "/billing/", "/reports/", "/audit/"],
    )
    # Writes too: the role stays as it was.
    response = client.post(f"/staff/{cast.member_a.pk}/role/", {"role": "administrator"})
    assert response.status_code == 302 and response["Location"].startswith(VERIFY_URL)
    with tenant_context(cast.org_a):
        assert User.objects.get(pk=cast.member_a.pk).role == "member"


def test_a_dash_callback_with_a_password_alone_gets_a_403_not_a_page(cast: Cast) -> None:
    client = password_only(client_for(cast.org_a), cast.admin_a.email)
    response = client.post(
        "/dashboards/live/_dash-update-component", "{}", content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json() == {"error": "Finish signing in with your second factor first."}


def test_a_moderators_password_alone_reaches_no_hub_staff_page(cast: Cast) -> None:
    client = password_only(client_for(None), cast.moderator.email, "/admin/login/")
    assert_password_alone_reaches_nothing(
        client,
        "config.urls_hub",
        SIGN_IN_STEPS | PUBLIC_HUB_PAGES,
        must_include=["/moderation/", "/moderation/1/", "/admin/"],
    )
    # Public pages stay readable.
    assert client.get("/stories/").status_code == 200


def test_a_superusers_password_alone_reaches_no_hub_staff_page(cast: Cast) -> None:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        root = User.objects.create_superuser("root@carevoice.example", PASSWORD, full_name="R")
        enrol_second_factor(root)
    client = password_only(client_for(None), root.email, "/admin/login/")
    assert_password_alone_reaches_nothing(
        client,
        "config.urls_hub",
        SIGN_IN_STEPS | PUBLIC_HUB_PAGES,
        must_include=["/admin/", "/admin/accounts/user/", "/moderation/"],
    )


def test_the_code_from_the_app_opens_the_staff_pages(cast: Cast) -> None:
    client = password_only(client_for(cast.org_a), cast.admin_a.email)
    response = client.get("/staff/")
    assert response["Location"] == f"{VERIFY_URL}?next=%2Fstaff%2F"
    page = client.get(response["Location"])
    assert page.status_code == 200 and "Enter your code" in page.content.decode()
    with tenant_context(cast.org_a):
        code = totp_code(TOTPDevice.objects.get(user=cast.admin_a))
    response = client.post(VERIFY_URL, {"code": code, "next": "/staff/"})
    assert response.status_code == 302 and response["Location"] == "/staff/"
    for path in ("/staff/", "/alerts/", "/billing/", "/reports/", "/audit/"):
        assert client.get(path).status_code == 200, path


def test_moderators_finish_signing_in_on_the_hub_with_the_code(cast: Cast) -> None:
    client = password_only(client_for(None), cast.moderator.email, "/admin/login/")
    response = client.get("/moderation/")
    assert response["Location"] == f"{VERIFY_URL}?next=%2Fmoderation%2F"
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        code = totp_code(TOTPDevice.objects.get(user=cast.moderator))
    response = client.post(VERIFY_URL, {"code": code, "next": "/moderation/"})
    assert response["Location"] == "/moderation/"
    assert client.get("/moderation/").status_code == 200


def test_a_wrong_code_is_refused_and_audited_without_the_code(cast: Cast) -> None:
    client = password_only(client_for(cast.org_a), cast.admin_a.email)
    with tenant_context(cast.org_a):
        right = totp_code(TOTPDevice.objects.get(user=cast.admin_a))
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post(VERIFY_URL, {"code": wrong})
    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    assert client.get("/staff/")["Location"].startswith(VERIFY_URL)
    with tenant_context(cast.org_a):
        event = AuditEvent.objects.get(action="auth.second_factor_failed")
        assert event.actor_id == cast.admin_a.pk
        assert event.detail == {"failures_in_a_row": 1}
        assert wrong not in event.summary and wrong not in str(event.detail)


def test_the_code_step_is_rate_limited(cast: Cast, settings: object) -> None:
    settings.SECOND_FACTOR_RATE_LIMIT = 3
    client = password_only(client_for(cast.org_a), cast.admin_a.email)
    for _ in range(3):
        assert client.post(VERIFY_URL, {"code": "123456"}).status_code == 400
    with tenant_context(cast.org_a):
        code = totp_code(TOTPDevice.objects.get(user=cast.admin_a))
    response = client.post(VERIFY_URL, {"code": code})
    assert response.status_code == 429
    assert "Too many wrong codes" in response.content.decode()


def test_each_recovery_code_works_once(cast: Cast, admin_a_client: Client) -> None:
    page = admin_a_client.post(
        "/accounts/login/second-factor/recovery-codes/", {"password": PASSWORD}
    )
    codes = CODE_PATTERN.findall(page.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10

    first = password_only(client_for(cast.org_a), cast.admin_a.email)
    response = first.post(VERIFY_URL, {"code": codes[0]})
    assert response.status_code == 302
    assert first.get("/staff/").status_code == 200
    second = password_only(client_for(cast.org_a), cast.admin_a.email)
    assert second.post(VERIFY_URL, {"code": codes[1].upper().replace("-", " ")}).status_code == 302
    again = password_only(client_for(cast.org_a), cast.admin_a.email)
    assert again.post(VERIFY_URL, {"code": codes[0]}).status_code == 400
    assert again.get("/staff/")["Location"].startswith(VERIFY_URL)

    with tenant_context(cast.org_a):
        assert StaticToken.objects.filter(device__user=cast.admin_a).count() == 8
        actions = list(AuditEvent.objects.values_list("action", flat=True))
        assert actions.count("auth.recovery_codes_regenerated") == 1
        assert actions.count("auth.recovery_code_used") == 2
        assert actions.count("auth.second_factor_failed") == 1


def test_recovery_codes_are_kept_only_as_digests(cast: Cast, admin_a_client: Client) -> None:
    page = admin_a_client.post(
        "/accounts/login/second-factor/recovery-codes/", {"password": PASSWORD}
    )
    shown = {code.replace("-", "") for code in CODE_PATTERN.findall(page.content.decode())}
    assert len(shown) == 10
    with tenant_context(cast.org_a):
        stored = set(
            StaticToken.objects.filter(device__user=cast.admin_a).values_list("token", flat=True)
        )
    assert len(stored) == 10
    # Nothing kept is a code, or any part of one that could be typed in its place.
    assert not any(token in code or code.startswith(token) for token in stored for code in shown)
    # And a stored value typed as a code is refused.
    attacker = password_only(client_for(cast.org_a), cast.admin_a.email)
    assert attacker.post(VERIFY_URL, {"code": next(iter(stored))}).status_code == 400


def test_earlier_recovery_codes_stop_working_when_new_ones_are_made(
    cast: Cast, admin_a_client: Client
) -> None:
    old = CODE_PATTERN.findall(
        admin_a_client.post(
            "/accounts/login/second-factor/recovery-codes/", {"password": PASSWORD}
        ).content.decode()
    )
    admin_a_client.post("/accounts/login/second-factor/recovery-codes/", {"password": PASSWORD})
    client = password_only(client_for(cast.org_a), cast.admin_a.email)
    assert client.post(VERIFY_URL, {"code": old[0]}).status_code == 400


def set_up_through_the_page(client: Client, organisation: object, user: User) -> str:
    """Scan the QR code's key (read from the page's text) and confirm with the app's code."""
    page = client.get(SET_UP_URL)
    body = page.content.decode()
    assert page.status_code == 200 and "<svg" in body
    with tenant_context(organisation):
        pending = TOTPDevice.objects.get(user=user, confirmed=False)
        secret = " ".join(re.findall(r".{1,4}", b32encode(pending.bin_key).decode()))
        assert secret in body
        code = totp_code(pending)
    response = client.post(SET_UP_URL, {"code": code})
    assert response.status_code == 200
    return response.content.decode()


def test_staff_without_a_second_factor_cost_no_device_query_yet_a_new_requirement_applies(
    cast: Cast, admin_a_client: Client
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tenants.routing import forget_routes

    responder = password_only(client_for(cast.org_a), cast.responder_a.email)
    assert responder.get("/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert responder.get("/").status_code == 200
    assert not [q for q in queries.captured_queries if "otp_totp_totpdevice" in q["sql"]]

    # The organisation starts requiring one: the remembered answer does not let her past.
    assert admin_a_client.post("/staff/second-factor/", {"required": "on"}).status_code == 302
    forget_routes()
    response = responder.get("/")
    assert response.status_code == 302 and response["Location"].startswith(SET_UP_URL)
    admin_a_client.post("/staff/second-factor/", {})


def test_an_organisation_can_require_a_second_factor_of_every_member_of_staff(
    cast: Cast, admin_a_client: Client
) -> None:
    response = admin_a_client.post("/staff/second-factor/", {"required": "on"})
    assert response.status_code == 302
    responder = password_only(client_for(cast.org_a), cast.responder_a.email)
    response = responder.get("/")
    assert response.status_code == 302 and response["Location"].startswith(SET_UP_URL)
    codes_page = set_up_through_the_page(responder, cast.org_a, cast.responder_a)
    assert len(CODE_PATTERN.findall(codes_page)) == 10
    assert responder.get("/").status_code == 200
    # A required second factor can be replaced but not removed.
    refused = responder.post("/accounts/login/second-factor/remove/")
    assert refused.status_code == 403 and "not remove it" in refused.content.decode()

    staff = admin_a_client.get("/staff/").content.decode()
    row = re.search(r"<tr>\s*<td><a[^>]*>Rita Responder</a>.*?</tr>", staff, re.S).group(0)
    assert "Set up" in row
    with tenant_context(cast.org_a):
        change = AuditEvent.objects.get(action="staff.second_factor_requirement_changed")
        assert change.actor_id == cast.admin_a.pk and change.detail == {"required": True}
        assert AuditEvent.objects.filter(
            action="auth.second_factor_enrolled", actor_id=cast.responder_a.pk
        ).exists()

    admin_a_client.post("/staff/second-factor/", {})
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        cast.org_a.refresh_from_db()
        assert cast.org_a.require_second_factor is False


def test_without_the_requirement_a_responder_may_set_one_up_and_is_then_asked_for_it(
    cast: Cast,
) -> None:
    client = password_only(client_for(cast.org_a), cast.responder_a.email)
    assert client.get("/").status_code == 200
    set_up_through_the_page(client, cast.org_a, cast.responder_a)

    later = password_only(client_for(cast.org_a), cast.responder_a.email)
    response = later.get("/")
    assert response.status_code == 302 and response["Location"].startswith(VERIFY_URL)
    with tenant_context(cast.org_a):
        code = totp_code(TOTPDevice.objects.get(user=cast.responder_a, confirmed=True))
    assert later.post(VERIFY_URL, {"code": code}).status_code == 302
    assert later.get("/").status_code == 200

    # Optional, so it may be removed; then the password alone is enough again.
    removed = later.post("/accounts/login/second-factor/remove/", {"password": PASSWORD})
    assert removed.status_code == 302
    assert password_only(client_for(cast.org_a), cast.responder_a.email).get("/").status_code == 200
    with tenant_context(cast.org_a):
        assert AuditEvent.objects.filter(action="auth.second_factor_removed").count() == 1


def test_an_administrator_cannot_remove_their_own_second_factor(
    cast: Cast, admin_a_client: Client
) -> None:
    response = admin_a_client.post("/accounts/login/second-factor/remove/")
    assert response.status_code == 403
    with tenant_context(cast.org_a):
        assert TOTPDevice.objects.filter(user=cast.admin_a, confirmed=True).exists()


def test_an_administrator_resets_a_colleagues_lost_second_factor(
    cast: Cast, admin_a_client: Client
) -> None:
    with tenant_context(cast.org_a):
        enrol_second_factor(cast.responder_a)
    detail = admin_a_client.get(f"/staff/{cast.responder_a.pk}/").content.decode()
    assert "Reset second factor" in detail
    response = admin_a_client.post(f"/staff/{cast.responder_a.pk}/second-factor/reset/")
    assert response.status_code == 302
    with tenant_context(cast.org_a):
        assert not TOTPDevice.objects.filter(user=cast.responder_a).exists()
        event = AuditEvent.objects.get(action="staff.second_factor_reset")
        assert event.actor_id == cast.admin_a.pk
        assert event.target_id == str(cast.responder_a.pk)
    # Not required of a responder: the password alone signs them in again.
    assert password_only(client_for(cast.org_a), cast.responder_a.email).get("/").status_code == 200


def test_a_device_of_one_organisation_does_not_verify_a_session_of_another(cast: Cast) -> None:
    # admin_a and admin_b have the same id, each with a device in their own schema.
    assert cast.admin_a.pk == cast.admin_b.pk
    client = password_only(client_for(cast.org_b), cast.admin_b.email)
    with tenant_context(cast.org_a):
        code_from_a = totp_code(TOTPDevice.objects.get(user=cast.admin_a))
    with tenant_context(cast.org_b):
        code_from_b = totp_code(TOTPDevice.objects.get(user=cast.admin_b))
    assert code_from_a != code_from_b
    assert client.post(VERIFY_URL, {"code": code_from_a}).status_code == 400
    assert client.get("/staff/")["Location"].startswith(VERIFY_URL)


def test_a_verified_session_of_one_organisation_is_anonymous_on_another(
    cast: Cast, admin_a_client: Client
) -> None:
    assert admin_a_client.get("/staff/").status_code == 200
    admin_a_client.defaults["HTTP_HOST"] = f"{cast.org_b.slug}.{settings.BASE_DOMAIN}"
    response = admin_a_client.get("/staff/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_platform_staff_reset_a_moderators_lost_second_factor_in_the_admin(cast: Cast) -> None:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        root = User.objects.create_superuser("root@carevoice.example", PASSWORD, full_name="R")
        enrol_second_factor(root)
    client = client_for(None)
    assert sign_in(client, root.email).status_code == 302
    listing = client.get("/admin/accounts/user/")
    assert listing.status_code == 200 and "Second factor" in listing.content.decode()
    response = client.post(
        "/admin/accounts/user/",
        {"action": "reset_second_factors", "_selected_action": [cast.moderator.pk]},
    )
    assert response.status_code == 302
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        assert not TOTPDevice.objects.filter(user=cast.moderator).exists()
        event = AuditEvent.objects.get(action="staff.second_factor_reset")
        assert event.actor_id == root.pk and event.target_id == str(cast.moderator.pk)
    # The moderator must now set up a new one before reaching moderation.
    moderator = password_only(client_for(None), cast.moderator.email, "/admin/login/")
    assert moderator.get("/moderation/")["Location"].startswith(SET_UP_URL)
