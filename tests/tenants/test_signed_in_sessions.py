"""Where one is signed in: each person sees their own sessions and ends any or all of them
with their password (ASVS 7.5.2); other sessions end when a password or second factor
changes (7.4.3); changing a second factor asks for the password again (7.5.1)."""

from __future__ import annotations

import re

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import tenant_context

from tenants.accounts.models import SignedInSession, User
from tenants.audit.models import AuditEvent
from tenants.messages import send_due_messages
from tenants.sessions import clear_expired_sessions
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

SESSIONS_URL = "/accounts/sessions/"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Safari/605.1.15"
)
ROW_ID = re.compile(r'name="session" value="(\d+)"')
CODES_URL = "/accounts/login/second-factor/recovery-codes/"
REMOVE_URL = "/accounts/login/second-factor/remove/"
CODE_PATTERN = re.compile(r"<code>([a-z2-7]{4}(?:-[a-z2-7]{4}){5})</code>")


def signed_in(organisation: object, email: str, user_agent: str = FIREFOX) -> Client:
    client = client_for(organisation, HTTP_USER_AGENT=user_agent)
    assert sign_in(client, email).status_code == 302
    return client


def is_signed_in(client: Client) -> bool:
    response = client.get("/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    return False


def other_row_ids(client: Client) -> list[int]:
    page = client.get(SESSIONS_URL)
    assert page.status_code == 200
    return [int(pk) for pk in ROW_ID.findall(page.content.decode())]


def rows(body: str) -> list[str]:
    return re.findall(r"<tr>\s*<td>.*?</tr>", body, re.S)


def test_your_sessions_lists_each_session_and_marks_this_one(cast: Cast) -> None:
    here = signed_in(cast.org_a, cast.responder_a.email, FIREFOX)
    elsewhere = signed_in(cast.org_a, cast.responder_a.email, SAFARI)
    profile = here.get("/accounts/profile/").content.decode()
    assert f'href="{SESSIONS_URL}"' in profile

    page = here.get(SESSIONS_URL)
    body = page.content.decode()
    assert page.status_code == 200
    listed = rows(body)
    assert len(listed) == 2
    assert "Firefox on Windows" in listed[0] and "This one" in listed[0]
    assert "Safari on macOS" in listed[1] and "This one" not in listed[1]
    assert all("127.0.0.1" in row for row in listed)
    assert "Sign out everywhere else" in body
    # Rows are named by their id, never by the session's key.
    for key in (here.cookies["sessionid"].value, elsewhere.cookies["sessionid"].value):
        assert key not in body
    # The other browser sees the same two, with itself as this one.
    other_view = rows(elsewhere.get(SESSIONS_URL).content.decode())
    assert "Safari on macOS" in other_view[0] and "This one" in other_view[0]


def test_signing_out_everywhere_else_needs_the_password(cast: Cast) -> None:
    here = signed_in(cast.org_a, cast.responder_a.email)
    first = signed_in(cast.org_a, cast.responder_a.email, SAFARI)
    second = signed_in(cast.org_a, cast.responder_a.email, SAFARI)

    for password in ("", "not-my-password"):
        refused = here.post(SESSIONS_URL, {"password": password})
        assert refused.status_code == 400
        assert "There is a problem" in refused.content.decode()
    assert is_signed_in(first) and is_signed_in(second)

    response = here.post(SESSIONS_URL, {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == SESSIONS_URL
    assert "Signed out of 2 other sessions" in here.get(SESSIONS_URL).content.decode()
    assert not is_signed_in(first) and not is_signed_in(second)
    assert is_signed_in(here)
    assert len(rows(here.get(SESSIONS_URL).content.decode())) == 1
    with tenant_context(cast.org_a):
        event = AuditEvent.objects.get(action="auth.sessions_ended")
        assert event.actor_id == cast.responder_a.pk
        assert event.detail == {"sessions_ended": 2, "everywhere_else": True}
        assert SignedInSession.objects.filter(user=cast.responder_a).count() == 1


def test_signing_out_one_other_session(cast: Cast) -> None:
    here = signed_in(cast.org_a, cast.responder_a.email)
    first = signed_in(cast.org_a, cast.responder_a.email, SAFARI)
    second = signed_in(cast.org_a, cast.responder_a.email, SAFARI)
    with tenant_context(cast.org_a):
        first_id = SignedInSession.objects.get(session_key=first.cookies["sessionid"].value).pk
    assert first_id in other_row_ids(here)

    refused = here.post(SESSIONS_URL, {"password": "wrong", "session": first_id})
    assert refused.status_code == 400 and is_signed_in(first)

    response = here.post(SESSIONS_URL, {"password": PASSWORD, "session": first_id})
    assert response.status_code == 302
    assert not is_signed_in(first)
    assert is_signed_in(second) and is_signed_in(here)
    assert first_id not in other_row_ids(here)
    with tenant_context(cast.org_a):
        event = AuditEvent.objects.get(action="auth.sessions_ended")
        assert event.detail == {"sessions_ended": 1, "everywhere_else": False}


def test_nobody_sees_or_ends_a_colleagues_session(cast: Cast) -> None:
    colleague = signed_in(cast.org_a, cast.member_a.email, SAFARI)
    colleague_other = signed_in(cast.org_a, cast.member_a.email, SAFARI)
    colleague_id = other_row_ids(colleague)[0]
    me = signed_in(cast.org_a, cast.responder_a.email, FIREFOX)

    body = me.get(SESSIONS_URL).content.decode()
    assert len(rows(body)) == 1 and "Safari" not in body
    response = me.post(SESSIONS_URL, {"password": PASSWORD, "session": colleague_id})
    assert response.status_code == 404
    assert me.post(SESSIONS_URL, {"password": PASSWORD, "session": "x1"}).status_code == 404
    assert is_signed_in(colleague) and is_signed_in(colleague_other)
    # Signing out everywhere else ends only one's own.
    me.post(SESSIONS_URL, {"password": PASSWORD})
    assert is_signed_in(colleague) and is_signed_in(colleague_other)


def test_a_session_in_one_organisation_is_never_shown_or_ended_on_another(cast: Cast) -> None:
    a_here = signed_in(cast.org_a, cast.responder_a.email, FIREFOX)
    signed_in(cast.org_a, cast.responder_a.email, FIREFOX)
    signed_in(cast.org_a, cast.responder_a.email, FIREFOX)
    b_client = signed_in(cast.org_b, cast.responder_b.email, SAFARI)
    with tenant_context(cast.org_b):
        own_in_b = set(SignedInSession.objects.values_list("pk", flat=True))
    a_id = next(pk for pk in other_row_ids(a_here) if pk not in own_in_b)

    body = b_client.get(SESSIONS_URL).content.decode()
    assert len(rows(body)) == 1 and "Firefox" not in body
    response = b_client.post(SESSIONS_URL, {"password": PASSWORD, "session": a_id})
    assert response.status_code == 404
    assert len(rows(a_here.get(SESSIONS_URL).content.decode())) == 3
    # A's cookie on B's host is no session at all.
    a_here.defaults["HTTP_HOST"] = b_client.defaults["HTTP_HOST"]
    assert a_here.get(SESSIONS_URL)["Location"].startswith("/accounts/login/")


def test_signing_out_removes_the_session_from_the_list(cast: Cast) -> None:
    here = signed_in(cast.org_a, cast.responder_a.email)
    elsewhere = signed_in(cast.org_a, cast.responder_a.email, SAFARI)
    assert len(rows(here.get(SESSIONS_URL).content.decode())) == 2
    elsewhere.post("/accounts/logout/")
    body = here.get(SESSIONS_URL).content.decode()
    assert len(rows(body)) == 1 and "Safari" not in body
    with tenant_context(cast.org_a):
        assert SignedInSession.objects.filter(user=cast.responder_a).count() == 1


def test_the_sessions_page_needs_the_second_factor_where_one_is_required(cast: Cast) -> None:
    client = client_for(cast.org_a)
    client.post("/accounts/login/", {"username": cast.admin_a.email, "password": PASSWORD})
    response = client.get(SESSIONS_URL)
    assert response.status_code == 302 and response["Location"].startswith(VERIFY_URL)
    response = client.post(SESSIONS_URL, {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith(VERIFY_URL)
    with tenant_context(cast.org_a):
        assert not AuditEvent.objects.filter(action="auth.sessions_ended").exists()
        code = totp_code(TOTPDevice.objects.get(user=cast.admin_a))
    assert client.post(VERIFY_URL, {"code": code}).status_code == 302
    # The second step gave the session a new key; its row follows it.
    body = client.get(SESSIONS_URL).content.decode()
    assert len(rows(body)) == 1 and "This one" in body


def test_changing_the_password_ends_every_other_session(cast: Cast) -> None:
    here = signed_in(cast.org_a, cast.responder_a.email)
    elsewhere = signed_in(cast.org_a, cast.responder_a.email, SAFARI)
    response = here.post(
        "/accounts/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-brand-new-passphrase-42",
            "new_password2": "a-brand-new-passphrase-42",
        },
    )
    assert response.status_code == 302
    assert not is_signed_in(elsewhere)
    assert is_signed_in(here)
    body = here.get(SESSIONS_URL).content.decode()
    assert len(rows(body)) == 1 and "This one" in body
    with tenant_context(cast.org_a):
        event = AuditEvent.objects.get(action="auth.password_changed")
        assert event.detail == {"sessions_ended": 1}


def test_a_password_reset_by_email_ends_every_session(cast: Cast) -> None:
    signed_in_before = signed_in(cast.org_a, cast.responder_a.email)
    stranger = client_for(cast.org_a)
    stranger.post("/accounts/password/reset/", {"email": cast.responder_a.email})
    send_due_messages()  # the outbox sends the reset email the request wrote
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", mail.outbox[-1].body)
    form_url = stranger.get(link.group(1))["Location"]
    response = stranger.post(
        form_url,
        {
            "new_password1": "a-brand-new-passphrase-42",
            "new_password2": "a-brand-new-passphrase-42",
        },
    )
    assert response.status_code == 302
    assert not is_signed_in(signed_in_before)
    with tenant_context(cast.org_a):
        assert not SignedInSession.objects.filter(user=cast.responder_a).exists()
        event = AuditEvent.objects.get(action="auth.password_reset")
        assert event.detail == {"sessions_ended": 1}


def _set_up_app(client: Client, organisation: object, user: User, **fields: str) -> object:
    assert client.get(SET_UP_URL).status_code == 200
    with tenant_context(organisation):
        code = totp_code(TOTPDevice.objects.get(user=user, confirmed=False))
    return client.post(SET_UP_URL, {"code": code, **fields})


def test_setting_up_and_replacing_a_second_factor_ends_the_other_sessions(cast: Cast) -> None:
    here = signed_in(cast.org_a, cast.responder_a.email)
    elsewhere = signed_in(cast.org_a, cast.responder_a.email, SAFARI)
    response = _set_up_app(here, cast.org_a, cast.responder_a)
    assert response.status_code == 200 and "recovery codes" in response.content.decode()
    assert not is_signed_in(elsewhere)
    assert is_signed_in(here)

    later = signed_in(cast.org_a, cast.responder_a.email, SAFARI)
    with tenant_context(cast.org_a):
        old_device = TOTPDevice.objects.get(user=cast.responder_a, confirmed=True)
    # Replacing the app asks for the password in the same form.
    for fields in ({}, {"password": "not-my-password"}):
        refused = _set_up_app(here, cast.org_a, cast.responder_a, **fields)
        assert refused.status_code == 400
        assert "Your current password" in refused.content.decode()
    with tenant_context(cast.org_a):
        assert TOTPDevice.objects.get(user=cast.responder_a, confirmed=True) == old_device
    assert is_signed_in(later)

    replaced = _set_up_app(here, cast.org_a, cast.responder_a, password=PASSWORD)
    assert replaced.status_code == 200 and "recovery codes" in replaced.content.decode()
    assert not is_signed_in(later)
    assert is_signed_in(here)
    with tenant_context(cast.org_a):
        assert TOTPDevice.objects.get(user=cast.responder_a, confirmed=True) != old_device
        events = AuditEvent.objects.filter(
            action="auth.second_factor_enrolled", actor_id=cast.responder_a.pk
        ).order_by("pk")
        assert [e.detail["sessions_ended"] for e in events] == [1, 1]
        assert "signed out 1 other session" in events[1].summary


def test_new_recovery_codes_need_the_password_and_end_the_other_sessions(
    cast: Cast, admin_a_client: Client
) -> None:
    with tenant_context(cast.org_a):
        before = set(StaticToken.objects.filter(device__user=cast.admin_a).values_list("token"))
    for fields in ({}, {"password": "not-my-password"}):
        refused = admin_a_client.post(CODES_URL, fields)
        assert refused.status_code == 400 and not CODE_PATTERN.findall(refused.content.decode())
        assert "Your current password" in refused.content.decode()
    with tenant_context(cast.org_a):
        after = set(StaticToken.objects.filter(device__user=cast.admin_a).values_list("token"))
    assert after == before

    elsewhere = signed_in(cast.org_a, cast.admin_a.email, SAFARI)
    page = admin_a_client.post(CODES_URL, {"password": PASSWORD})
    assert page.status_code == 200 and len(CODE_PATTERN.findall(page.content.decode())) == 10
    assert not is_signed_in(elsewhere)
    assert admin_a_client.get("/staff/").status_code == 200


def test_removing_a_second_factor_needs_the_password_and_ends_the_other_sessions(
    cast: Cast,
) -> None:
    with tenant_context(cast.org_a):
        enrol_second_factor(cast.responder_a)
    here = signed_in(cast.org_a, cast.responder_a.email)
    elsewhere = signed_in(cast.org_a, cast.responder_a.email, SAFARI)
    for fields in ({}, {"password": "not-my-password"}):
        refused = here.post(REMOVE_URL, fields)
        assert refused.status_code == 400
        assert "That is not your current password" in refused.content.decode() or (
            "This field is required" in refused.content.decode()
        )
    with tenant_context(cast.org_a):
        assert TOTPDevice.objects.filter(user=cast.responder_a, confirmed=True).exists()
    assert is_signed_in(elsewhere)

    assert here.post(REMOVE_URL, {"password": PASSWORD}).status_code == 302
    assert not is_signed_in(elsewhere)
    assert is_signed_in(here)
    with tenant_context(cast.org_a):
        assert not TOTPDevice.objects.filter(user=cast.responder_a).exists()
        event = AuditEvent.objects.get(action="auth.second_factor_removed")
        assert event.detail == {"sessions_ended": 1}


def test_an_administrators_reset_ends_every_session_of_the_colleague(
    cast: Cast, admin_a_client: Client
) -> None:
    with tenant_context(cast.org_a):
        enrol_second_factor(cast.responder_a)
    theirs = signed_in(cast.org_a, cast.responder_a.email)
    assert is_signed_in(theirs)
    response = admin_a_client.post(f"/staff/{cast.responder_a.pk}/second-factor/reset/")
    assert response.status_code == 302
    assert not is_signed_in(theirs)
    assert admin_a_client.get("/staff/").status_code == 200
    with tenant_context(cast.org_a):
        assert not SignedInSession.objects.filter(user=cast.responder_a).exists()
        event = AuditEvent.objects.get(action="staff.second_factor_reset")
        assert event.detail["sessions_ended"] == 1
        assert "signed them out of 1 session" in event.summary


def test_expired_sessions_leave_no_record_behind(cast: Cast) -> None:
    here = signed_in(cast.org_a, cast.responder_a.email)
    with tenant_context(cast.org_a):
        assert SignedInSession.objects.filter(user=cast.responder_a).count() == 1
        Session.objects.filter(session_key=here.cookies["sessionid"].value).update(
            expire_date="2000-01-01T00:00:00Z"
        )
        clear_expired_sessions()
        assert not SignedInSession.objects.filter(user=cast.responder_a).exists()
    assert not is_signed_in(here)


def test_guessing_the_password_on_the_sessions_page_is_rate_limited(
    cast: Cast, settings: object
) -> None:
    settings.LOGIN_RATE_LIMIT = 2
    here = signed_in(cast.org_a, cast.responder_a.email)
    elsewhere = signed_in(cast.org_a, cast.responder_a.email, SAFARI)
    for _ in range(2):
        assert here.post(SESSIONS_URL, {"password": "guess"}).status_code == 400
    response = here.post(SESSIONS_URL, {"password": PASSWORD})
    assert response.status_code == 429 and "Too many wrong passwords" in response.content.decode()
    assert is_signed_in(elsewhere)


def test_platform_staff_see_and_end_their_sessions_on_the_hub(cast: Cast) -> None:
    # Anonymous: sent to the platform's sign-in, not a workspace's.
    anonymous = client_for(None).get(SESSIONS_URL)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")

    here = signed_in(None, cast.moderator.email)
    there = signed_in(None, cast.moderator.email, SAFARI)
    page = here.get(SESSIONS_URL)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Carevoice's platform" in body and "This one" in body
    assert 'href="/accounts/sessions/"' in body  # the hub's own navigation leads here
    (there_id,) = other_row_ids(here)

    ended = here.post(SESSIONS_URL, {"password": PASSWORD, "session": there_id})
    assert ended.status_code == 302 and ended["Location"] == SESSIONS_URL
    assert there.get("/moderation/").status_code == 302
    assert here.get("/moderation/").status_code == 200
    assert AuditEvent.objects.filter(action="auth.sessions_ended").count() == 1
