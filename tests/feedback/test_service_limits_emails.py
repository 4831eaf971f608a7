"""Service-level permissions, every email at once: with a responder limited to A's ward and
the administrator on the same rules, two severely critical stories (the ward's and the
clinic's) go through instant alerts, a daily digest, response-target reminders and breaches
and a scheduled report; every email that reaches the responder is about the ward only, while
the administrator's hold the clinic too (the control)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from alerts.digests import send_digests
from alerts.escalation import check_targets
from alerts.evaluation import evaluate_story
from alerts.models import AlertRule
from dashboards.models import DeliveryMethod, Frequency, ReportKind, ReportSchedule, SavedReport
from dashboards.reports import delivering
from feedback.models import Service, Story
from feedback.service_limits import set_limit
from tests.conftest import Cast, tell_and_publish
from tests.outbox_mail import sent_mail_to

pytestmark = pytest.mark.django_db


def everything_in(message) -> str:  # noqa: ANN001 - an EmailMessage
    """Subject, text, HTML and the text of any PDF attached."""
    parts = [message.subject, message.body]
    parts += [content for content, _ in getattr(message, "alternatives", [])]
    for _, content, kind in message.attachments:
        if kind == "application/pdf":
            parts += [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]
    return " ".join(" ".join(parts).split())


def test_every_email_a_limited_responder_receives_is_about_their_services(cast: Cast) -> None:
    for listing, title in ((cast.ward_a, "Ward story"), (cast.clinic_a, "Clinic story")):
        tell_and_publish(cast, [listing], criticality="severely critical", title=title)
    people = [cast.responder_a, cast.admin_a]
    with tenant_context(cast.org_a):
        set_limit(
            cast.responder_a, [Service.objects.get(pk=cast.ward_a.service_id)], actor=cast.admin_a
        )
        for name, frequency in (("Everything now", "instant"), ("Every day", "daily")):
            made = AlertRule.objects.create(
                owner=cast.admin_a, name=name, min_criticality="not critical", frequency=frequency
            )
            made.recipients.set(people)
        for story in Story.objects.all():
            evaluate_story(story.pk)
        send_digests("daily", now=timezone.now() + timedelta(days=1))
        check_targets(now=timezone.now() + timedelta(days=30))
        report = SavedReport.objects.create(
            name="Board pack",
            kind=ReportKind.SUMMARY,
            start=timezone.localdate(),
            end=timezone.localdate(),
        )
        schedule = ReportSchedule.objects.create(
            report=report,
            frequency=Frequency.MONTHLY,
            method=DeliveryMethod.ATTACHMENT,
            recipients=[p.email for p in people],
            next_run_on=timezone.localdate(),
            created_by=cast.admin_a,
        )
        today = timezone.localdate()
        for person in people:
            delivery = delivering.ReportDelivery.objects.create(
                key=f"sweep:{person.pk}",
                schedule=schedule,
                report_name=report.name,
                period_start=today,
                period_end=today,
                recipient=person.email,
                method=DeliveryMethod.ATTACHMENT,
            )
            assert delivering.send_delivery(delivery.pk)

    theirs = [everything_in(m) for m in sent_mail_to(cast.responder_a.email)]
    whole = [everything_in(m) for m in sent_mail_to(cast.admin_a.email)]
    # Theirs: the ward's instant alert, its reminder, the report; no digest (it is about
    # many services at once).
    assert len(theirs) == 3 and len(whole) == 8
    assert any("Ward story" in text for text in theirs)
    assert any("Clinic story" in text for text in whole)
    leaked = [text[:160] for text in theirs if "Clinic story" in text or cast.clinic_a.name in text]
    assert not leaked, f"the limited responder was emailed about the clinic: {leaked}"
    # The scheduled report: one story counted for them, both for the administrator.
    assert any("Figures Stories 1 " in text for text in theirs)
    assert any("Figures Stories 2 " in text for text in whole)
