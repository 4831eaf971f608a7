"""Invitations to tell (onboarding/tell_invitations.py): CSV files and one at a time, by
email and SMS through the one outbox; addresses used once and forgotten; opt-outs honoured,
per organisation; one organisation's batches and services not another's."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import tenant_context

from onboarding.models import InvitationBatch, InvitationOptOut
from onboarding.tell_invitations import normalise_mobile, opt_out_digest, opt_out_url
from tenants.admin import OutboxMessageAdmin
from tenants.audit.models import AuditEvent
from tenants.messages import send_due_messages, send_message
from tenants.models import OutboxChannel, OutboxMessage, OutboxMessageState
from tests.conftest import Cast, client_for, sign_in
from tests.outbox_mail import sent_mail

pytestmark = pytest.mark.django_db

PAGE = "/invitations/tell/"


def opt_out_path(organisation: object) -> str:
    return "/" + opt_out_url(organisation).split("/", 3)[3]


DRAMA = "07700 900123"  # Ofcom's numbers for drama: never a real phone


def upload(client: Client, service: int, content: bytes, channel: str = "email") -> object:
    return client.post(
        PAGE,
        {
            "action": "upload",
            "service": service,
            "channel": channel,
            "file": SimpleUploadedFile("people.csv", content, content_type="text/csv"),
        },
    )


def one(client: Client, service: int, address: str) -> object:
    return client.post(PAGE, {"action": "one", "service": service, "address": address})


def batches(organisation: object) -> list[InvitationBatch]:
    with tenant_context(organisation):
        return list(InvitationBatch.objects.all())


@pytest.fixture
def sms_dir(settings: object, tmp_path: Path) -> Path:
    settings.SMS_BACKEND = "tenants.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    return tmp_path / "sms"


@pytest.fixture
def responder_a_client(cast: Cast) -> Client:
    client = client_for(cast.org_a)
    assert sign_in(client, cast.responder_a.email).status_code == 302
    return client


def test_a_csv_file_sends_the_same_link_to_everyone_and_keeps_only_counts(
    cast: Cast, admin_a_client: Client
) -> None:
    people = ["ann@example.org", "bob@example.org", "cy@example.org"]
    content = ("Email\r\n" + "\r\n".join(people) + "\r\nANN@Example.org\r\n").encode()
    response = upload(admin_a_client, cast.ward_a.pk, content)
    assert response.status_code == 302

    messages = sent_mail()
    assert sorted(m.to[0] for m in messages) == people
    link = f"http://localhost:8000/tell/?service={cast.ward_a.pk}"
    opt_out = opt_out_url(cast.org_a)
    assert opt_out.startswith("http://alpha.localhost:8000/invitations/tell/opt-out/")
    assert all(link in m.body and opt_out in m.body for m in messages)
    # Nothing per person: every invitation of the batch is the same email.
    assert len({(m.subject, m.body) for m in messages}) == 1
    assert "Alpha Ward One" in messages[0].subject

    (batch,) = batches(cast.org_a)
    assert (batch.sent_count, batch.opted_out_count, batch.invalid_count) == (3, 0, 0)
    assert batch.duplicate_count == 1 and batch.listing_id == cast.ward_a.pk
    assert batch.created_by_id == cast.admin_a.pk and batch.channel == "email"
    # Sent, the outbox rows hold no address; nor does the batch or the audit trail.
    rows = OutboxMessage.objects.filter(kind="onboarding.invitation_to_tell")
    assert rows.count() == 3
    assert all(r.state == OutboxMessageState.SENT and r.recipient == "" for r in rows)
    assert not any("@" in r.key for r in rows)
    with tenant_context(cast.org_a):
        event = AuditEvent.objects.get(action="invitations_to_tell.sent")
        assert event.detail["sent"] == 3 and event.detail["duplicates"] == 1
        stored = f"{event.summary} {event.detail} {batch.__dict__}"
    assert "example.org" not in stored and "@" not in stored
    page = admin_a_client.get(PAGE).content.decode()
    assert "Alpha Ward One" in page and "example.org" not in page


def test_bad_rows_are_reported_by_line_and_the_good_ones_sent(
    cast: Cast, admin_a_client: Client
) -> None:
    content = b"good@example.org\nnot an address\nx@example.org,y@example.org\n\n077009001\n"
    response = upload(admin_a_client, cast.ward_a.pk, content)
    assert response.status_code == 302
    page = admin_a_client.get(PAGE).content.decode()
    assert "1 invitation sent" in page
    assert "3 rows not used, not being valid: lines 2, 3, 5." in page
    assert "not an address" not in page  # the rows are not repeated back
    (batch,) = batches(cast.org_a)
    assert (batch.sent_count, batch.invalid_count) == (1, 3)
    assert [m.to for m in sent_mail()] == [["good@example.org"]]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xfe\x00a\x00", "not a CSV file in UTF-8"),
        (b"", "no addresses or numbers"),
        (b"email\n", "no addresses or numbers"),
        (b"a@example.org\nb@example.org\nc@example.org\n", "at most 2"),
        (b"nope\n07700900123\n", "No row of the file could be used"),
        (b"x" * 300, "larger than"),
    ],
)
def test_a_file_that_cannot_be_used_is_a_400_and_sends_nothing(
    cast: Cast, admin_a_client: Client, settings: object, content: bytes, expected: str
) -> None:
    settings.INVITATION_BATCH_MAX = 2
    settings.INVITATION_CSV_MAX_BYTES = 200
    response = upload(admin_a_client, cast.ward_a.pk, content)
    assert response.status_code == 400
    assert expected in response.content.decode()
    assert batches(cast.org_a) == []
    assert not OutboxMessage.objects.filter(kind="onboarding.invitation_to_tell").exists()


def test_all_bad_rows_are_listed_with_their_lines(cast: Cast, admin_a_client: Client) -> None:
    response = upload(admin_a_client, cast.ward_a.pk, b"mobile\n07700900123\n123\n", "email")
    assert response.status_code == 400
    body = response.content.decode()
    assert "Line 2: not an email address." in body and "Line 3: not an email address." in body


def test_one_at_a_time_by_email_and_by_sms(
    cast: Cast, responder_a_client: Client, sms_dir: Path
) -> None:
    assert one(responder_a_client, cast.clinic_a.pk, "Dee@Example.org").status_code == 302
    assert one(responder_a_client, cast.clinic_a.pk, DRAMA).status_code == 302
    bad = one(responder_a_client, cast.clinic_a.pk, "0123")
    assert bad.status_code == 400 and "UK mobile number" in bad.content.decode()

    (message,) = sent_mail()
    assert message.to == ["dee@example.org"]
    assert f"/tell/?service={cast.clinic_a.pk}" in message.body
    (text,) = sms_dir.iterdir()
    written = text.read_text()
    assert written.startswith("To: +447700900123\n")
    assert f"http://localhost:8000/tell/?service={cast.clinic_a.pk}" in written
    assert opt_out_url(cast.org_a) in written
    channels = sorted(b.channel for b in batches(cast.org_a))
    assert channels == ["email", "sms"]
    sms_row = OutboxMessage.objects.get(channel=OutboxChannel.SMS)
    assert sms_row.state == OutboxMessageState.SENT and sms_row.recipient == ""
    assert sms_row.text_body == ""


def test_a_csv_of_mobile_numbers_goes_by_sms(
    cast: Cast, admin_a_client: Client, sms_dir: Path
) -> None:
    content = b"Mobile\n07700 900123\n+44 7700 900456\n(07700) 900-789\n0044 7700 900123\n"
    assert upload(admin_a_client, cast.ward_a.pk, content, "sms").status_code == 302
    send_due_messages()
    written = sorted(path.read_text().splitlines()[0] for path in sms_dir.iterdir())
    assert written == ["To: +447700900123", "To: +447700900456", "To: +447700900789"]
    assert mail.outbox == []


def test_opting_out_is_honoured_by_later_batches_of_that_organisation_only(
    cast: Cast, admin_a_client: Client, admin_b_client: Client
) -> None:
    visitor = client_for(cast.org_a, enforce_csrf_checks=True)
    OPT_OUT = opt_out_path(cast.org_a)  # noqa: N806
    page = visitor.get(OPT_OUT)
    assert page.status_code == 200 and "Alpha Hospitals NHS Trust" in page.content.decode()
    token = page.cookies["csrftoken"].value
    refused = visitor.post(OPT_OUT, {"address": "stop@example.org"})
    assert refused.status_code == 403  # CSRF-protected

    answers = set()
    for typed in ["  STOP@example.org ", "never-invited@example.org", "not an address", DRAMA]:
        response = visitor.post(OPT_OUT, {"address": typed, "csrfmiddlewaretoken": token})
        assert response.status_code == 200
        answers.add(response.content.decode().replace(token, ""))
    assert len(answers) == 1  # the same answer whatever is typed: no oracle
    assert "will send it no more invitations" in answers.pop()

    with tenant_context(cast.org_a):
        digests = set(InvitationOptOut.objects.values_list("digest", flat=True))
    assert len(digests) == 3
    assert opt_out_digest(cast.org_a, "stop@example.org") in digests
    assert opt_out_digest(cast.org_a, "+447700900123") in digests
    assert opt_out_digest(cast.org_b, "stop@example.org") not in digests
    with tenant_context(cast.org_b):
        assert not InvitationOptOut.objects.exists()

    content = b"stop@example.org\ngo@example.org\n"
    assert upload(admin_a_client, cast.ward_a.pk, content).status_code == 302
    assert upload(admin_b_client, cast.ward_b.pk, content).status_code == 302
    sent = sorted((m.to[0], "alpha" in m.body) for m in sent_mail())
    assert sent == [
        ("go@example.org", False),
        ("go@example.org", True),
        ("stop@example.org", False),
    ]
    (batch_a,) = batches(cast.org_a)
    assert (batch_a.sent_count, batch_a.opted_out_count) == (1, 1)
    (batch_b,) = batches(cast.org_b)
    assert (batch_b.sent_count, batch_b.opted_out_count) == (2, 0)


def test_the_opt_out_page_is_rate_limited(cast: Cast, settings: object) -> None:
    settings.PUBLIC_FORM_RATE_LIMIT = 2
    visitor = client_for(cast.org_a)
    path = opt_out_path(cast.org_a)
    codes = [visitor.post(path, {"address": f"p{i}@example.org"}).status_code for i in range(3)]
    assert codes == [200, 200, 429]


def test_a_refused_sms_is_retried_then_parked_without_the_number_in_the_error(
    cast: Cast, admin_a_client: Client, settings: object
) -> None:
    settings.SMS_BACKEND = "tests.invitations.backends.RefusingBackend"
    settings.OUTBOX_MAX_ATTEMPTS = 2
    settings.OUTBOX_RETRY_BASE_SECONDS = 0  # due again at once
    assert one(admin_a_client, cast.ward_a.pk, DRAMA).status_code == 302
    row = OutboxMessage.objects.get(kind="onboarding.invitation_to_tell")
    assert row.channel == OutboxChannel.SMS
    assert send_message(row.pk) is False
    row.refresh_from_db()
    assert row.state == OutboxMessageState.WAITING and row.attempts == 1
    assert "[recipient]" in row.last_error and "7700" not in row.last_error
    assert send_message(row.pk) is False
    row.refresh_from_db()
    assert row.state == OutboxMessageState.PARKED and row.attempts == 2
    assert row.recipient == "+447700900123"  # kept, for platform staff's Retry
    # The hub's outbox page lists the channel.
    assert "channel" in OutboxMessageAdmin.list_display


def test_staff_of_one_organisation_cannot_see_or_send_for_another(
    cast: Cast, admin_a_client: Client, admin_b_client: Client
) -> None:
    assert upload(admin_a_client, cast.ward_a.pk, b"a@example.org\n").status_code == 302
    page_b = admin_b_client.get(PAGE).content.decode()
    assert "Alpha Ward One" not in page_b and "No invitations sent yet." in page_b
    assert "Beta Private Ward" in page_b
    # A's service is not a choice in B's workspace.
    refused = upload(admin_b_client, cast.ward_a.pk, b"b@example.org\n")
    assert refused.status_code == 400
    refused = one(admin_b_client, cast.ward_a.pk, "b@example.org")
    assert refused.status_code == 400
    assert batches(cast.org_b) == []
    assert [m.to for m in sent_mail()] == [["a@example.org"]]
    with tenant_context(cast.org_b):
        assert not AuditEvent.objects.filter(action="invitations_to_tell.sent").exists()


def test_members_may_not_send_and_visitors_must_sign_in(cast: Cast) -> None:
    member = client_for(cast.org_a)
    assert sign_in(member, cast.member_a.email).status_code == 302
    assert member.get(PAGE).status_code == 403
    assert one(member, cast.ward_a.pk, "a@example.org").status_code == 403
    assert client_for(cast.org_a).get(PAGE).status_code == 302
    assert batches(cast.org_a) == []


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("07700 900123", "+447700900123"),
        ("+44 (0)7700 900123", "+447700900123"),
        ("447700900123", "+447700900123"),
        ("0044-7700-900-123", "+447700900123"),
        ("01632 960123", None),  # a landline
        ("0770090012", None),
        ("+33 6 12 34 56 78", None),
    ],
)
def test_uk_mobile_numbers_are_normalised(typed: str, expected: str | None) -> None:
    assert normalise_mobile(typed) == expected


def test_the_invitation_link_opens_the_story_form_with_the_service_chosen(cast: Cast) -> None:
    page = client_for(None).get(f"/tell/?service={cast.ward_a.pk}")
    assert page.status_code == 200
    assert "Alpha Ward One" in page.content.decode()


def test_an_organisations_opt_out_link_works_only_on_its_own_domain(cast: Cast) -> None:
    on_b = client_for(cast.org_b)
    a_link = opt_out_path(cast.org_a)
    assert on_b.get(a_link).status_code == 404
    assert on_b.post(a_link, {"address": "x@example.org"}).status_code == 404
    forged = a_link.replace("alpha", "beta")
    assert on_b.get(forged).status_code == 404
    assert on_b.get(opt_out_path(cast.org_b)).status_code == 200
    with tenant_context(cast.org_b):
        assert not InvitationOptOut.objects.exists()
