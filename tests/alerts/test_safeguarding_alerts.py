"""Safeguarding concerns reach the organisation's people at once, whatever their alert rules
say: its safeguarding contacts (or, with none named, its administrators), and its
administrators and platform staff when nobody acknowledges in time. The end-to-end test runs
on a real worker and broker, with committed rows (cleaned up)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from alerts.delivering import send_pending
from alerts.models import AlertDelivery, AlertRule, DeliveryKind, DeliveryState, Frequency
from alerts.safeguarding import record_concern_alerts, record_missing_alerts
from alerts.sending import outbox_key
from alerts.sweeper import resend_waiting
from feedback.hub.models import SafeguardingConcern, Submission
from feedback.safeguarding import escalate_overdue, raise_concern
from tenants.accounts.models import User
from tenants.audit.models import AuditEvent
from tenants.messages import send_due_messages
from tenants.models import OutboxMessage
from tenants.staff import set_safeguarding_contact
from tests.conftest import AUTHOR_EMAIL, AUTHOR_POSTCODE, Cast, tell, wait_until
from tests.outbox_mail import sent_mail_to

STORY = {
    "title": "Nobody listened on the ward",
    "what_could_be_improved": "The man in the next bed said the night nurse hits him when "
    "nobody is looking. He was frightened to press the buzzer.",
    "how_it_felt": "Worried for him.",
}
NOTE = "The author reports a patient being struck by a member of night staff."


def raise_about(cast: Cast, listings: list, capture: Callable, **story: object) -> list:  # noqa: ANN401
    submission_id = tell(listings, **{**STORY, **story})
    with capture(execute=True):
        return raise_concern(
            submission_id, moderator=cast.moderator, category="abuse", note=NOTE, request=None
        )


def send_everything(cast: Cast) -> None:
    for organisation in (cast.org_a, cast.org_b):
        with tenant_context(organisation):
            send_pending()
    send_due_messages()  # platform staff's emails, in the outbox (tenants/messages.py)


def mails_to(address: str) -> list[mail.EmailMessage]:
    """What was sent to `address`, once the outbox has sent what waits."""
    return sent_mail_to(address)


def received_by(address: str) -> list[mail.EmailMessage]:
    """What was sent to `address` so far, by whoever sent it (the real worker's tests)."""
    return [m for m in mail.outbox if address in m.to]


def name_contact(cast: Cast, user: User) -> None:
    with tenant_context(cast.org_a):
        set_safeguarding_contact(user, True, actor=cast.admin_a)


@pytest.mark.django_db
def test_contacts_are_alerted_at_once_even_with_digest_only_rules_or_none(
    cast: Cast, django_capture_on_commit_callbacks: Callable
) -> None:
    name_contact(cast, cast.responder_a)
    with tenant_context(cast.org_a):
        # Every rule a daily digest: an ordinary story would wait for the morning.
        AlertRule.objects.update(frequency=Frequency.DAILY)
    (concern,) = raise_about(cast, [cast.ward_a], django_capture_on_commit_callbacks)
    send_everything(cast)
    (message,) = mails_to(cast.responder_a.email)
    assert message.subject == f"[{cast.org_a.name}] Safeguarding concern: Abuse or neglect"
    body = message.body
    for expected in (
        cast.org_a.name,
        "Abuse or neglect",
        NOTE,
        STORY["title"],
        "the night nurse hits him",
        f"/safeguarding/{concern.pk}/",
    ):
        assert expected in body, expected
    assert "has not named any safeguarding contacts" not in body
    html = message.alternatives[0][0]
    assert f"/safeguarding/{concern.pk}/" in html and "Abuse or neglect" in html
    # A contact exists, so the administrators are not woken for it.
    assert mails_to(cast.admin_a.email) == []

    # And with no alert rules at all.
    with tenant_context(cast.org_a):
        AlertRule.objects.all().delete()
    mail.outbox.clear()
    raise_about(cast, [cast.clinic_a], django_capture_on_commit_callbacks, title="Second")
    send_everything(cast)
    assert len(mails_to(cast.responder_a.email)) == 1


@pytest.mark.django_db
def test_with_no_contact_named_every_administrator_is_alerted_and_told_why(
    cast: Cast, django_capture_on_commit_callbacks: Callable
) -> None:
    with tenant_context(cast.org_b):
        assert not User.objects.filter(is_safeguarding_contact=True).exists()
    raise_about(cast, [cast.ward_b], django_capture_on_commit_callbacks)
    send_everything(cast)
    (message,) = mails_to(cast.admin_b.email)
    assert "has not named any safeguarding contacts" in message.body
    assert mails_to(cast.responder_b.email) == []
    with tenant_context(cast.org_b):
        (delivery,) = AlertDelivery.objects.all()
        assert delivery.kind == DeliveryKind.SAFEGUARDING
        assert delivery.state == DeliveryState.SENT


@pytest.mark.django_db
def test_a_deactivated_contact_is_not_alerted(
    cast: Cast, django_capture_on_commit_callbacks: Callable
) -> None:
    from tenants.staff import deactivate_staff

    name_contact(cast, cast.member_a)
    name_contact(cast, cast.responder_a)
    with tenant_context(cast.org_a):
        deactivate_staff(cast.member_a, actor=cast.admin_a)
    raise_about(cast, [cast.ward_a], django_capture_on_commit_callbacks)
    send_everything(cast)
    assert mails_to(cast.member_a.email) == []
    assert len(mails_to(cast.responder_a.email)) == 1


@pytest.mark.django_db
def test_each_organisation_hears_only_of_its_own_concern(
    cast: Cast, django_capture_on_commit_callbacks: Callable
) -> None:
    name_contact(cast, cast.responder_a)
    concerns = raise_about(cast, [cast.ward_a, cast.ward_b], django_capture_on_commit_callbacks)
    send_everything(cast)
    by_org = {c.organisation_id: c for c in concerns}
    (to_a,) = mails_to(cast.responder_a.email)
    (to_b,) = mails_to(cast.admin_b.email)
    assert f"/safeguarding/{by_org[cast.org_a.pk].pk}/" in to_a.body
    assert cast.org_b.name not in to_a.body
    assert f"/safeguarding/{by_org[cast.org_b.pk].pk}/" in to_b.body
    assert cast.org_a.name not in to_b.body
    # Asked in the wrong organisation's schema, a concern records nothing there.
    with tenant_context(cast.org_b):
        assert record_concern_alerts(by_org[cast.org_a.pk].pk) == []


@pytest.mark.django_db
def test_no_alert_carries_the_authors_contact_details(
    cast: Cast, django_capture_on_commit_callbacks: Callable
) -> None:
    name_contact(cast, cast.responder_a)
    raise_about(cast, [cast.ward_a], django_capture_on_commit_callbacks)
    with schema_context("public"):
        concern = SafeguardingConcern.objects.get()
        concern.escalate_at = timezone.now() - timedelta(minutes=1)
        concern.save(update_fields=["escalate_at"])
    with django_capture_on_commit_callbacks(execute=True):
        assert escalate_overdue() == 1
    send_everything(cast)
    to_staff = [m for m in mail.outbox if m.to != [AUTHOR_EMAIL]]  # not the author's receipt
    kinds = {m.subject.split(": ")[0] for m in to_staff}
    assert len(to_staff) == 3, kinds  # the contact, admin A, platform staff
    for message in to_staff:
        everything = message.body + "".join(str(a[0]) for a in message.alternatives)
        assert AUTHOR_EMAIL not in everything and AUTHOR_POSTCODE not in everything


@pytest.mark.django_db
def test_rows_written_while_the_broker_is_away_are_sent_by_the_sweeper(
    cast: Cast, django_capture_on_commit_callbacks: Callable
) -> None:
    """The receiver writes the rows itself before it queues anything, so an alert whose
    task message never arrives is still waiting in the outbox, and the sweeper sends it."""
    name_contact(cast, cast.responder_a)
    raise_about(cast, [cast.ward_a], django_capture_on_commit_callbacks)
    assert mails_to(cast.responder_a.email) == []  # nothing here ran the queued task
    with tenant_context(cast.org_a):
        assert AlertDelivery.objects.filter(state=DeliveryState.PENDING).count() == 1
        assert resend_waiting() == 1
        assert resend_waiting() == 0
    assert len(mails_to(cast.responder_a.email)) == 1


@pytest.mark.django_db
def test_a_concern_whose_receiver_never_ran_is_alerted_by_the_sweeper(
    cast: Cast, django_capture_on_commit_callbacks: Callable
) -> None:
    """The process that committed the concern died before its receiver wrote any rows."""
    name_contact(cast, cast.responder_a)
    submission_id = tell([cast.ward_a], **STORY)
    with django_capture_on_commit_callbacks(execute=False):  # the receiver never runs
        (concern,) = raise_concern(
            submission_id, moderator=cast.moderator, category="abuse", note=NOTE, request=None
        )
    with tenant_context(cast.org_a):
        assert not AlertDelivery.objects.exists()
        # Too recent: it may still be on its way through the receiver.
        assert record_missing_alerts() == []
        later = timezone.now() + timedelta(minutes=3)
        assert len(record_missing_alerts(now=later)) == 1
        assert record_missing_alerts(now=later) == []  # written once
        assert resend_waiting() == 1
    with tenant_context(cast.org_b):
        assert record_missing_alerts(now=later) == []  # not B's concern
    assert len(mails_to(cast.responder_a.email)) == 1
    # Escalated with no rows written for it: the administrators' alert is written too.
    with schema_context("public"):
        SafeguardingConcern.objects.filter(pk=concern.pk).update(escalated_at=later)
    with tenant_context(cast.org_a):
        keys = record_missing_alerts(now=later)
        assert keys and all(key.startswith("escalated:") for key in keys)


# --- end to end, on a real worker -----------------------------------------------------------


@pytest.fixture
def committed_concerns(cast: Cast, committed_db: None) -> Iterator[list[int]]:
    """Submission ids whose concerns, alerts and audit rows are removed afterwards, and the
    cast's safeguarding contacts put back."""
    submission_ids: list[int] = []
    yield submission_ids
    with schema_context("public"):
        concern_ids = list(
            SafeguardingConcern.objects.filter(submission_id__in=submission_ids).values_list(
                "pk", flat=True
            )
        )
        AuditEvent.objects.filter(
            target_type="hub.safeguardingconcern", target_id__in=[str(i) for i in concern_ids]
        ).delete()
        for concern_id in concern_ids:
            OutboxMessage.objects.filter(
                key__startswith=f"feedback.safeguarding_escalation:{concern_id}:"
            ).delete()
        for submission in Submission.objects.filter(pk__in=submission_ids):
            submission.services.clear()
            submission.delete()
    for organisation in (cast.org_a, cast.org_b):
        with tenant_context(organisation):
            for concern_id in concern_ids:
                deliveries = AlertDelivery.objects.filter(key__contains=f":concern-{concern_id}:")
                # Their emails, in the outbox (public schema), keyed by the delivery.
                OutboxMessage.objects.filter(key__in=[outbox_key(d) for d in deliveries]).delete()
                deliveries.delete()
            AuditEvent.objects.filter(action__startswith="staff.safeguarding_contact").delete()
            User.objects.update(is_safeguarding_contact=False)


def escalation_mails(address: str) -> list[mail.EmailMessage]:
    return [m for m in received_by(address) if "not acknowledged" in m.subject]


def test_a_concern_nobody_acknowledges_escalates_once_on_the_real_worker(
    cast: Cast, committed_concerns: list[int], celery_worker_thread: object
) -> None:
    from feedback.tasks import escalate_safeguarding_concerns

    name_contact(cast, cast.responder_a)
    submission_id = tell([cast.ward_a], **STORY)
    committed_concerns.append(submission_id)
    (concern,) = raise_concern(submission_id, moderator=cast.moderator, category="abuse", note=NOTE)
    # Raised: the contact's alert goes through the broker and the worker at once.
    wait_until(lambda: len(received_by(cast.responder_a.email)) == 1)
    assert received_by(cast.admin_a.email) == []

    # Nobody acknowledges it; its time passes.
    with schema_context("public"):
        SafeguardingConcern.objects.filter(pk=concern.pk).update(
            escalate_at=timezone.now() - timedelta(minutes=1)
        )
    escalate_safeguarding_concerns.delay()
    wait_until(
        lambda: (
            len(escalation_mails(cast.admin_a.email)) == 1
            and len(escalation_mails(cast.moderator.email)) == 1
        )
    )
    with schema_context("public"):
        concern.refresh_from_db()
        assert concern.escalated_at is not None
        assert AuditEvent.objects.filter(
            action="safeguarding.escalated", target_id=str(concern.pk)
        ).exists()
    (to_admin,) = escalation_mails(cast.admin_a.email)
    assert NOTE in to_admin.body and f"/safeguarding/{concern.pk}/" in to_admin.body
    (to_platform,) = escalation_mails(cast.moderator.email)
    assert cast.org_a.name in to_platform.body and "/moderation/safeguarding/" in to_platform.body

    # The escalation message delivered again (a worker lost before its ack), then a marker
    # behind it in the same queue: a second organisation's concern, also overdue. Once the
    # marker's escalation arrives, the repeat has run, and it sent nothing.
    escalate_safeguarding_concerns.delay()
    marker_id = tell([cast.ward_b], **{**STORY, "title": "Marker"})
    committed_concerns.append(marker_id)
    (marker,) = raise_concern(marker_id, moderator=cast.moderator, category="abuse", note=NOTE)
    with schema_context("public"):
        SafeguardingConcern.objects.filter(pk=marker.pk).update(
            escalate_at=timezone.now() - timedelta(minutes=1)
        )
    escalate_safeguarding_concerns.delay()
    wait_until(lambda: len(escalation_mails(cast.admin_b.email)) == 1)
    assert len(escalation_mails(cast.admin_a.email)) == 1
    assert (
        len([m for m in escalation_mails(cast.moderator.email) if cast.org_a.name in m.body]) == 1
    )
    with tenant_context(cast.org_a):
        kinds = sorted(
            AlertDelivery.objects.filter(key__contains=f":concern-{concern.pk}:").values_list(
                "kind", "state"
            )
        )
    assert kinds == [
        (DeliveryKind.ESCALATION, DeliveryState.SENT),
        (DeliveryKind.SAFEGUARDING, DeliveryState.SENT),
    ]
