"""The security baseline: CSRF, cookies, passwords, rate limits, CSP, escaping, roles, audit."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django_tenants.utils import tenant_context

from config.security import allow_framing_by
from tenants.accounts.models import Role, User
from tenants.audit.models import AuditEvent
from tests.conftest import PASSWORD, Cast, client_for, host_of, sign_in

pytestmark = pytest.mark.django_db


def test_posts_without_a_csrf_token_are_refused(cast: Cast) -> None:
    client = Client(HTTP_HOST=host_of(cast.org_a), enforce_csrf_checks=True)
    response = client.post(
        "/accounts/login/", {"username": cast.admin_a.email, "password": PASSWORD}
    )
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()


def test_sign_in_works_with_the_csrf_token_from_the_form(cast: Cast) -> None:
    client = Client(HTTP_HOST=host_of(cast.org_a), enforce_csrf_checks=True)
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/accounts/login/",
        {"username": cast.admin_a.email, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


def test_weak_passwords_are_refused_with_the_validators_reasons(
    cast: Cast, admin_a_client: Client
) -> None:
    response = admin_a_client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": "password", "new_password2": "password"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "too short" in body
    assert "too common" in body


def test_sign_in_stops_after_repeated_failures_for_an_account(cast: Cast) -> None:
    client = client_for(cast.org_a)
    for _ in range(5):
        assert sign_in(client, cast.admin_a.email, "wrong-password").status_code == 200
    blocked = sign_in(client, cast.admin_a.email, PASSWORD)
    assert blocked.status_code == 429
    assert "Too many failed sign-in attempts" in blocked.content.decode()
    # Another account on the same organisation is not locked out by it.
    assert sign_in(client, cast.responder_a.email).status_code == 302


def test_sign_in_stops_an_address_that_tries_many_accounts(cast: Cast, settings: object) -> None:
    settings.LOGIN_RATE_LIMIT = 2  # per account 2, per address 8
    client = client_for(cast.org_a)
    for n in range(8):
        sign_in(client, f"nobody{n}@alpha.example", "wrong-password")
    assert sign_in(client, cast.admin_a.email).status_code == 429


def test_hub_admin_sign_in_is_rate_limited_too(cast: Cast) -> None:
    client = client_for(None)
    for _ in range(5):
        client.post("/admin/login/", {"username": cast.moderator.email, "password": "nope"})
    response = client.post(
        "/admin/login/", {"username": cast.moderator.email, "password": PASSWORD}
    )
    assert response.status_code == 429


def test_hub_admin_sign_in_through_the_form_works(cast: Cast) -> None:
    response = client_for(None).post(
        "/admin/login/?next=/moderation/",
        {"username": cast.moderator.email, "password": PASSWORD, "next": "/moderation/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/moderation/"


def test_hub_admin_sign_in_without_next_goes_to_the_admin_not_an_error(cast: Cast) -> None:
    response = client_for(None).post(
        "/admin/login/", {"username": cast.moderator.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    # The password step is done; the second factor comes before the admin itself.
    assert response["Location"].startswith("/admin/")


def test_password_reset_requests_are_rate_limited_per_address(cast: Cast, settings: object) -> None:
    settings.PUBLIC_FORM_RATE_LIMIT = 2
    client = client_for(cast.org_a)
    for _ in range(2):
        assert (
            client.post("/accounts/password/reset/", {"email": "x@alpha.example"}).status_code
            == 302
        )
    assert client.post("/accounts/password/reset/", {"email": "x@alpha.example"}).status_code == 429


def test_every_page_carries_a_content_security_policy_that_forbids_framing(cast: Cast) -> None:
    for client in (client_for(None), client_for(cast.org_a)):
        response = client.get("/")
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert response["X-Frame-Options"] == "DENY"


def test_a_view_may_be_framed_only_by_the_hosts_it_names() -> None:
    from config.security import ContentSecurityPolicyMiddleware

    @allow_framing_by(lambda request: ["https://www.alpha.example", "*.alpha.example"])
    def widget(request: object) -> HttpResponse:
        return HttpResponse("widget")

    @allow_framing_by(lambda request: [])
    def unlisted(request: object) -> HttpResponse:
        return HttpResponse("widget")

    middleware = ContentSecurityPolicyMiddleware(lambda request: widget(request))
    response = middleware(RequestFactory().get("/widget/"))
    assert (
        "frame-ancestors 'self' https://www.alpha.example *.alpha.example"
        in response["Content-Security-Policy"]
    )
    assert "X-Frame-Options" not in response

    middleware = ContentSecurityPolicyMiddleware(lambda request: unlisted(request))
    response = middleware(RequestFactory().get("/widget/"))
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_user_text_is_escaped(cast: Cast, admin_a_client: Client) -> None:
    with tenant_context(cast.org_a):
        User.objects.create_user(
            "x@alpha.example", PASSWORD, full_name="<script>alert('x')</script>", role=Role.MEMBER
        )
    body = admin_a_client.get("/staff/").content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in body


@pytest.mark.parametrize(
    ("who", "expected"),
    [("member_a", 403), ("responder_a", 403), ("admin_a", 200)],
)
def test_staff_management_needs_the_administrator_role(cast: Cast, who: str, expected: int) -> None:
    client = client_for(cast.org_a)
    sign_in(client, getattr(cast, who).email)
    assert client.get("/staff/").status_code == expected
    assert client.get("/audit/").status_code == expected
    assert client.get("/").status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in(cast: Cast) -> None:
    response = client_for(cast.org_a).get("/staff/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/staff/"


def test_role_changes_are_audited_and_the_last_administrator_is_kept(
    cast: Cast, admin_a_client: Client
) -> None:
    response = admin_a_client.post(f"/staff/{cast.member_a.pk}/role/", {"role": "responder"})
    assert response.status_code == 302
    response = admin_a_client.post(
        f"/staff/{cast.admin_a.pk}/role/", {"role": "member"}, follow=True
    )
    assert "at least one administrator" in response.content.decode()
    with tenant_context(cast.org_a):
        assert User.objects.get(pk=cast.member_a.pk).role == Role.RESPONDER
        assert User.objects.get(pk=cast.admin_a.pk).role == Role.ADMINISTRATOR
        event = AuditEvent.objects.get(action="staff.role_changed")
        assert event.actor_id == cast.admin_a.pk
        assert event.detail == {"from": "member", "to": "responder"}


def test_a_bad_role_is_a_clear_message_not_an_error(cast: Cast, admin_a_client: Client) -> None:
    response = admin_a_client.post(
        f"/staff/{cast.member_a.pk}/role/", {"role": "owner"}, follow=True
    )
    assert response.status_code == 200
    assert "Choose one of the roles listed" in response.content.decode()
    assert admin_a_client.post("/staff/999999/role/", {"role": "member"}).status_code == 404


def test_deactivated_staff_cannot_sign_in(cast: Cast, admin_a_client: Client) -> None:
    admin_a_client.post(f"/staff/{cast.member_a.pk}/active/", {"active": "0"})
    response = sign_in(client_for(cast.org_a), cast.member_a.email)
    assert response.status_code == 200
    with tenant_context(cast.org_a):
        assert AuditEvent.objects.filter(action="staff.deactivated").exists()


def test_sign_in_sign_out_and_failures_are_audited(cast: Cast) -> None:
    client = client_for(cast.org_a)
    sign_in(client, cast.admin_a.email, "wrong-password")
    sign_in(client, cast.admin_a.email)
    client.post("/accounts/logout/")
    with tenant_context(cast.org_a):
        actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions[-3:] == ["auth.login_failed", "auth.login", "auth.logout"]


def test_audit_events_cannot_be_changed_or_deleted(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        from tenants.audit.recording import record_audit

        event = record_audit("probe.done", actor=None, summary="probe")
        event.summary = "rewritten"
        with pytest.raises(ValueError):
            event.save()
        with pytest.raises(ValueError):
            event.delete()


def test_the_audit_log_page_lists_what_staff_did(cast: Cast, admin_a_client: Client) -> None:
    body = admin_a_client.get("/audit/?action=auth").content.decode()
    assert "Signed in" in body
    assert cast.admin_a.email in body
