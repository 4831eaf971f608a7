"""Safeguarding concerns: raised by a moderator with each organisation a story names,
acknowledged in the organisation's workspace by its safeguarding contacts or administrators,
escalated when nobody acknowledges in time, and the story withheld or published separately.
Every step audited; no organisation sees another's concerns; nobody sees the author's
contact details."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from feedback.emails import queue_safeguarding_escalation
from feedback.hub.models import SafeguardingConcern, Submission, SubmissionState
from feedback.moderation import Decision, publish_submission
from feedback.safeguarding import (
    SafeguardingError,
    acknowledge_concern,
    escalate_overdue,
    raise_concern,
    withhold_submission,
)
from feedback.signals import safeguarding_concern_raised
from tenants.accounts.models import User
from tenants.audit.models import AuditEvent
from tenants.messages import send_due_messages
from tenants.models import Organisation, OutboxMessage
from tenants.staff import set_safeguarding_contact, set_safeguarding_escalate_hours
from tests.conftest import AUTHOR_EMAIL, AUTHOR_POSTCODE, Cast, client_for, sign_in, tell

pytestmark = pytest.mark.django_db

STORY = {
    "title": "Frightened on the ward at night",
    "what_could_be_improved": "My mum says a carer on nights pushes her and takes her money. "
    "She is too scared to tell anyone there.",
    "how_it_felt": "Sick with worry.",
}
NOTE = "An older patient may be being abused by a member of night staff."


def moderator(cast: Cast) -> Client:
    client = client_for(None)
    assert sign_in(client, cast.moderator.email).status_code == 302
    return client


def staff_client(cast: Cast, organisation: Organisation, email: str) -> Client:
    client = client_for(organisation)
    assert sign_in(client, email).status_code == 302
    return client


def raised(cast: Cast, listings: list | None = None, **story: object) -> SafeguardingConcern:
    submission_id = tell(listings or [cast.ward_a], **{**STORY, **story})
    return raise_concern(submission_id, moderator=cast.moderator, category="abuse", note=NOTE)[0]


def name_contact(cast: Cast, user: User, organisation: Organisation | None = None) -> None:
    organisation = organisation or cast.org_a
    admin = cast.admin_a if organisation == cast.org_a else cast.admin_b
    with tenant_context(organisation):
        set_safeguarding_contact(user, True, actor=admin)


# --- raising ---------------------------------------------------------------------------------


def test_a_concern_is_raised_with_each_organisation_the_story_names_audited_and_announced_after_commit(  # noqa: E501
    cast: Cast, django_capture_on_commit_callbacks: Callable
) -> None:
    with tenant_context(cast.org_a):
        set_safeguarding_escalate_hours(cast.org_a, 4, actor=cast.admin_a)
    heard: list[dict] = []

    def listener(**kwargs: object) -> None:
        heard.append(kwargs)

    safeguarding_concern_raised.connect(listener)
    try:
        submission_id = tell([cast.ward_a, cast.clinic_a, cast.ward_b], **STORY)
        with django_capture_on_commit_callbacks(execute=True):
            made = raise_concern(
                submission_id, moderator=cast.moderator, category="abuse", note=f"  {NOTE} "
            )
            assert heard == []
    finally:
        safeguarding_concern_raised.disconnect(listener)
    assert sorted(c.organisation_id for c in made) == sorted([cast.org_a.pk, cast.org_b.pk])
    by_org = {c.organisation_id: c for c in made}
    hours = {cast.org_a.pk: 4, cast.org_b.pk: 2}
    for organisation_id, concern in by_org.items():
        assert concern.note == NOTE and concern.category == "abuse"
        assert concern.raised_by == cast.moderator
        assert concern.escalate_at - concern.raised_at == timedelta(hours=hours[organisation_id])
    assert sorted((h["concern_id"], h["schema_name"]) for h in heard) == sorted(
        [
            (by_org[cast.org_a.pk].pk, cast.org_a.schema_name),
            (by_org[cast.org_b.pk].pk, cast.org_b.schema_name),
        ]
    )
    with schema_context("public"):
        audited = AuditEvent.objects.filter(action="safeguarding.raised")
        assert sorted(int(e.target_id) for e in audited) == sorted(c.pk for c in made)
        assert all(e.actor_id == cast.moderator.pk for e in audited)
    # Raising again reaches nobody new.
    with pytest.raises(SafeguardingError, match="already raised"):
        raise_concern(submission_id, moderator=cast.moderator, category="abuse", note=NOTE)


def test_the_moderation_page_offers_the_panel_and_the_queue_flags_the_story(cast: Cast) -> None:
    client = moderator(cast)
    flagged = tell([cast.ward_a], **STORY)
    plain = tell([cast.ward_a], title="Lovely staff")
    page = client.get(f"/moderation/{flagged}/").content.decode()
    assert f'action="/moderation/{flagged}/safeguarding/"' in page
    assert "Risk to life" in page and "A child at risk" in page
    response = client.post(
        f"/moderation/{flagged}/safeguarding/",
        {"action": "raise", "category": "child at risk", "note": NOTE},
    )
    assert response.status_code == 302 and response["Location"] == f"/moderation/{flagged}/"
    queue = client.get("/moderation/").content.decode()
    rows = {line for line in queue.splitlines() if "/moderation/" in line and "<td>" in line}
    (flagged_row,) = [r for r in rows if f"/moderation/{flagged}/" in r]
    (plain_row,) = [r for r in rows if f"/moderation/{plain}/" in r]
    assert "Safeguarding concern" in flagged_row and "Safeguarding concern" not in plain_row
    page = client.get(f"/moderation/{flagged}/").content.decode()
    assert "A child at risk" in page and "Withhold the story" in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"category": "abuse", "note": "  "}, "Write a note for the organisation"),
        ({"category": "bad luck", "note": NOTE}, "Select a valid choice"),
        ({"category": "", "note": NOTE}, "Choose the kind of concern"),
        ({"category": "abuse", "note": "x" * 2001}, "at most 2000 characters"),
        ({"category": "abuse", "note": "Null \x00 here"}, "Null characters are not allowed"),
    ],
)
def test_bad_input_to_raise_a_concern_gets_a_message_and_a_400(
    cast: Cast, fields: dict, message: str
) -> None:
    submission_id = tell([cast.ward_a], **STORY)
    response = moderator(cast).post(
        f"/moderation/{submission_id}/safeguarding/", {"action": "raise", **fields}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not SafeguardingConcern.objects.filter(submission_id=submission_id).exists()


def test_a_concern_is_raised_only_while_the_story_waits(cast: Cast) -> None:
    submission_id = tell([cast.ward_a], **STORY)
    publish_submission(
        submission_id,
        moderator=cast.moderator,
        decision=Decision(criticality="mildly critical", tag_keys=[], listings=[cast.ward_a]),
    )
    response = moderator(cast).post(
        f"/moderation/{submission_id}/safeguarding/",
        {"action": "raise", "category": "abuse", "note": NOTE},
    )
    assert response.status_code == 400
    assert "already published" in response.content.decode()
    assert moderator(cast).get("/moderation/999999/safeguarding/").status_code == 404


def test_only_moderators_reach_the_safeguarding_pages(cast: Cast) -> None:
    concern = raised(cast)
    anonymous = client_for(None)
    for url in ("/moderation/safeguarding/", f"/moderation/{concern.submission_id}/safeguarding/"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    response = anonymous.post(
        f"/moderation/{concern.submission_id}/safeguarding/", {"action": "withhold", "note": "x"}
    )
    assert response.status_code == 302
    assert Submission.objects.get(pk=concern.submission_id).state == SubmissionState.PENDING


def test_the_moderators_list_shows_who_raised_when_where_and_the_time_left(cast: Cast) -> None:
    waiting = raised(cast, title="Waiting one")
    done = raised(cast, listings=[cast.ward_b], title="Done one")
    with tenant_context(cast.org_b):
        acknowledge_concern(done.pk, user=cast.admin_b, note="On it.", organisation=cast.org_b)
    page = moderator(cast).get("/moderation/safeguarding/").content.decode()
    waiting_part, acknowledged_part = page.split("Acknowledged in the last")
    assert "Waiting one" in waiting_part and "Done one" not in waiting_part
    assert cast.org_a.name in waiting_part and "Morgan Moderator" in waiting_part
    assert re.search(r"\d h \d\d min left", waiting_part)
    assert (
        "Done one" in acknowledged_part and "Admin of Beta Hospitals NHS Trust" in acknowledged_part
    )
    assert "On it." in acknowledged_part
    with schema_context("public"):
        SafeguardingConcern.objects.filter(pk=waiting.pk).update(
            escalate_at=timezone.now() - timedelta(minutes=30)
        )
    page = moderator(cast).get("/moderation/safeguarding/").content.decode()
    assert re.search(r"Overdue by \d+ min", page) and not re.search(r"min left", page)


# --- deciding: publish a redacted version, or withhold -----------------------------------------


def test_a_story_with_a_concern_can_still_be_published_redacted(cast: Cast) -> None:
    concern = raised(cast)
    published = publish_submission(
        concern.submission_id,
        moderator=cast.moderator,
        decision=Decision(criticality="strongly critical", tag_keys=[], listings=[cast.ward_a]),
    )
    assert published.public_story.pk
    assert Submission.objects.get(pk=concern.submission_id).state == SubmissionState.PUBLISHED


def test_withholding_a_story_takes_it_out_of_the_queue_and_is_audited(cast: Cast) -> None:
    concern = raised(cast)
    client = moderator(cast)
    response = client.post(
        f"/moderation/{concern.submission_id}/safeguarding/",
        {"action": "withhold", "note": "Publishing could identify the patient."},
    )
    assert response.status_code == 302 and response["Location"] == "/moderation/"
    submission = Submission.objects.get(pk=concern.submission_id)
    assert submission.state == SubmissionState.WITHHELD
    assert submission.moderated_by == cast.moderator
    event = AuditEvent.objects.get(action="safeguarding.withheld", target_id=str(submission.pk))
    assert event.actor_id == cast.moderator.pk
    assert event.detail["note"] == "Publishing could identify the patient."
    assert f"/moderation/{submission.pk}/" not in client.get("/moderation/").content.decode()
    # It cannot be published any more, nor withheld twice.
    with pytest.raises(SafeguardingError, match="already withheld"):
        withhold_submission(submission.pk, moderator=cast.moderator, note="Again")


def test_a_story_is_withheld_only_after_a_concern_and_with_a_reason(cast: Cast) -> None:
    submission_id = tell([cast.ward_a], **STORY)
    client = moderator(cast)
    response = client.post(
        f"/moderation/{submission_id}/safeguarding/", {"action": "withhold", "note": "Risky"}
    )
    assert response.status_code == 400
    assert "Raise a safeguarding concern first" in response.content.decode()
    raise_concern(submission_id, moderator=cast.moderator, category="self-harm", note=NOTE)
    response = client.post(
        f"/moderation/{submission_id}/safeguarding/", {"action": "withhold", "note": ""}
    )
    assert response.status_code == 400
    assert "Say why the story is withheld" in response.content.decode()
    response = client.post(f"/moderation/{submission_id}/safeguarding/", {"action": "dance"})
    assert response.status_code == 400
    assert Submission.objects.get(pk=submission_id).state == SubmissionState.PENDING


# --- the organisation's side -------------------------------------------------------------------


def test_a_contact_reads_the_concern_and_acknowledges_it_which_stops_escalation(
    cast: Cast,
) -> None:
    name_contact(cast, cast.responder_a)
    concern = raised(cast)
    client = staff_client(cast, cast.org_a, cast.responder_a.email)
    assert 'href="/safeguarding/"' in client.get("/").content.decode()  # in the nav
    listing = client.get("/safeguarding/").content.decode()
    assert f'href="/safeguarding/{concern.pk}/"' in listing and STORY["title"] in listing
    page = client.get(f"/safeguarding/{concern.pk}/").content.decode()
    for expected in (NOTE, STORY["title"], "takes her money", "Acknowledge"):
        assert expected in page
    for private in (AUTHOR_EMAIL, AUTHOR_POSTCODE):
        assert private not in page and private not in listing

    response = client.post(f"/safeguarding/{concern.pk}/", {"note": "Called the ward manager."})
    assert response.status_code == 302
    with schema_context("public"):
        concern.refresh_from_db()
    assert concern.acknowledged_at is not None
    assert concern.acknowledged_by_email == cast.responder_a.email
    assert concern.acknowledged_by_name == "Rita Responder"
    assert concern.acknowledgement_note == "Called the ward manager."
    with tenant_context(cast.org_a):
        event = AuditEvent.objects.get(action="safeguarding.acknowledged")
        assert event.actor_id == cast.responder_a.pk and event.target_id == str(concern.pk)
    page = client.get(f"/safeguarding/{concern.pk}/").content.decode()
    assert "Acknowledged by Rita Responder" in page and "<form" not in page.split("</h1>")[1]
    # Acknowledging twice says who did it first.
    response = client.post(f"/safeguarding/{concern.pk}/", {"note": ""})
    assert response.status_code == 409 and "Rita Responder already acknowledged" in (
        response.content.decode()
    )

    # Its time passes: an acknowledged concern does not escalate.
    mail.outbox.clear()
    assert escalate_overdue(now=timezone.now() + timedelta(days=1)) == 0
    with schema_context("public"):
        concern.refresh_from_db()
    assert concern.escalated_at is None
    assert mail.outbox == []


def test_escalation_marks_audits_and_tells_platform_staff_once(
    cast: Cast, django_capture_on_commit_callbacks: Callable
) -> None:
    concern = raised(cast)
    later = concern.escalate_at - timedelta(minutes=1)
    assert escalate_overdue(now=later) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert escalate_overdue(now=concern.escalate_at) == 1
    with schema_context("public"):
        concern.refresh_from_db()
        assert concern.escalated_at is not None
        assert AuditEvent.objects.filter(
            action="safeguarding.escalated", target_id=str(concern.pk)
        ).exists()
        # Platform staff's email is in the outbox, written with the escalation.
        (message,) = OutboxMessage.objects.filter(kind="feedback.safeguarding_escalation")
        assert message.key == f"feedback.safeguarding_escalation:{concern.pk}:{cast.moderator.pk}"
        assert message.organisation == cast.org_a
        send_due_messages()
    (to_platform,) = [m for m in mail.outbox if cast.moderator.email in m.to]
    assert to_platform.subject == f"Safeguarding concern not acknowledged: {cast.org_a.name}"
    assert NOTE in to_platform.body
    assert AUTHOR_EMAIL not in to_platform.body and AUTHOR_POSTCODE not in to_platform.body
    # A second run (or a redelivered task) finds nothing to do.
    with django_capture_on_commit_callbacks(execute=True):
        assert escalate_overdue(now=concern.escalate_at + timedelta(hours=1)) == 0
    queue_safeguarding_escalation(concern.pk)  # the same escalation written again
    send_due_messages()
    assert len([m for m in mail.outbox if cast.moderator.email in m.to]) == 1
    # The organisation's page says so.
    page = staff_client(cast, cast.org_a, cast.admin_a.email).get(f"/safeguarding/{concern.pk}/")
    assert "Nobody acknowledged it in time" in page.content.decode()


def test_an_escalation_that_rolls_back_writes_no_email_and_is_tried_again(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    from feedback import emails

    concern = raised(cast)
    real = emails.queue_safeguarding_escalation

    def write_then_fail(concern_id: int) -> int:
        real(concern_id)
        raise RuntimeError("the escalation failed after writing its email")

    monkeypatch.setattr(emails, "queue_safeguarding_escalation", write_then_fail)
    assert escalate_overdue(now=concern.escalate_at) == 0
    with schema_context("public"):
        assert not OutboxMessage.objects.filter(kind="feedback.safeguarding_escalation").exists()
        concern.refresh_from_db()
        assert concern.escalated_at is None
    monkeypatch.undo()
    assert escalate_overdue(now=concern.escalate_at) == 1
    with schema_context("public"):
        assert OutboxMessage.objects.filter(kind="feedback.safeguarding_escalation").count() == 1


def test_another_organisation_cannot_see_or_acknowledge_a_concern(
    cast: Cast, admin_b_client: Client
) -> None:
    concern = raised(cast)
    assert admin_b_client.get(f"/safeguarding/{concern.pk}/").status_code == 404
    assert admin_b_client.post(f"/safeguarding/{concern.pk}/", {"note": "x"}).status_code == 404
    listing = admin_b_client.get("/safeguarding/").content.decode()
    assert STORY["title"] not in listing and f"/safeguarding/{concern.pk}/" not in listing
    with pytest.raises(SafeguardingError), tenant_context(cast.org_b):
        acknowledge_concern(concern.pk, user=cast.admin_b, note="")
    with schema_context("public"):
        concern.refresh_from_db()
    assert concern.acknowledged_at is None


def test_staff_who_are_neither_contact_nor_administrator_are_refused(cast: Cast) -> None:
    concern = raised(cast)
    client = staff_client(cast, cast.org_a, cast.member_a.email)
    assert 'href="/safeguarding/"' not in client.get("/").content.decode()
    assert client.get("/safeguarding/").status_code == 403
    assert client.get(f"/safeguarding/{concern.pk}/").status_code == 403
    assert client.post(f"/safeguarding/{concern.pk}/", {"note": "x"}).status_code == 403
    with schema_context("public"):
        concern.refresh_from_db()
    assert concern.acknowledged_at is None
    signed_out = client_for(cast.org_a)
    response = signed_out.get("/safeguarding/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    # Named a contact, the same person gets in.
    name_contact(cast, cast.member_a)
    assert client.get(f"/safeguarding/{concern.pk}/").status_code == 200


def test_an_administrator_names_contacts_and_sets_the_hours_audited(
    cast: Cast, admin_a_client: Client
) -> None:
    response = admin_a_client.post(
        f"/staff/{cast.member_a.pk}/safeguarding/", {"is_safeguarding_contact": "on"}
    )
    assert response.status_code == 302
    with tenant_context(cast.org_a):
        assert User.objects.get(pk=cast.member_a.pk).is_safeguarding_contact
        event = AuditEvent.objects.get(action="staff.safeguarding_contact_named")
        assert event.actor_id == cast.admin_a.pk and event.target_id == str(cast.member_a.pk)
    detail = admin_a_client.get(f"/staff/{cast.member_a.pk}/").content.decode()
    assert "Safeguarding contact" in detail and "checked" in detail
    admin_a_client.post(f"/staff/{cast.member_a.pk}/safeguarding/", {})
    with tenant_context(cast.org_a):
        assert not User.objects.get(pk=cast.member_a.pk).is_safeguarding_contact
        assert AuditEvent.objects.filter(action="staff.safeguarding_contact_removed").exists()

    staff_page = admin_a_client.get("/staff/").content.decode()
    assert 'name="hours"' in staff_page and 'value="2"' in staff_page
    assert admin_a_client.post("/staff/safeguarding-hours/", {"hours": "6"}).status_code == 302
    with schema_context("public"):
        assert Organisation.objects.get(pk=cast.org_a.pk).safeguarding_escalate_hours == 6
    with tenant_context(cast.org_a):
        event = AuditEvent.objects.get(action="staff.safeguarding_hours_changed")
        assert event.detail == {"from": 2, "to": 6}
    for bad in ("0", "73", "soon", ""):
        response = admin_a_client.post("/staff/safeguarding-hours/", {"hours": bad})
        assert response.status_code == 400, bad
        assert "hours from 1 to 72" in response.content.decode()
    with schema_context("public"):
        assert Organisation.objects.get(pk=cast.org_a.pk).safeguarding_escalate_hours == 6


def test_only_administrators_name_contacts_or_set_the_hours(cast: Cast) -> None:
    client = staff_client(cast, cast.org_a, cast.responder_a.email)
    assert (
        client.post(
            f"/staff/{cast.responder_a.pk}/safeguarding/", {"is_safeguarding_contact": "on"}
        ).status_code
        == 403
    )
    assert client.post("/staff/safeguarding-hours/", {"hours": "1"}).status_code == 403
    with tenant_context(cast.org_a):
        assert not User.objects.get(pk=cast.responder_a.pk).is_safeguarding_contact
