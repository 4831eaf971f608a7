"""Response targets and bank holidays are changed through alerts' operations
(alerts/targets.py), each one transaction with its audit row, whether from the targets page
or called directly; and new stories get their due times from alerts' receiver of
`stories_written`, inside the publishing transaction."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context, tenant_context

from alerts.models import BankHoliday, ResponseTarget
from alerts.targets import add_bank_holiday, set_response_targets
from alerts.working_time import UK
from feedback.hub.models import PublicStory, Submission, SubmissionState
from feedback.models import Story
from feedback.moderation import Decision, publish_submission
from tenants.accounts.models import User
from tenants.audit.models import AuditEvent
from tests.alerts.test_alert_pages import signed_in
from tests.conftest import Cast, tell

pytestmark = pytest.mark.django_db


def _admin(cast: Cast) -> User:
    return User.objects.get(pk=cast.admin_a.pk)


def _allowances() -> dict[str, str]:
    return {t.criticality: t.allowance for t in ResponseTarget.objects.all()}


def test_changing_the_targets_saves_them_with_an_audit_row(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        set_response_targets({"mildly critical": " 4 Hours "}, actor=_admin(cast))
        assert ResponseTarget.objects.get(criticality="mildly critical").allowance == "4 hours"
        event = AuditEvent.objects.get(action="alerts.targets_changed")
        assert event.actor_id == cast.admin_a.pk
        assert event.detail == _allowances()


def test_a_bad_allowance_changes_nothing_and_records_nothing(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        before = _allowances()
        with pytest.raises(ValidationError):
            set_response_targets(
                {"not critical": "2 days", "mildly critical": "soon"}, actor=_admin(cast)
            )
        assert _allowances() == before
        assert not AuditEvent.objects.filter(action="alerts.targets_changed").exists()


def test_adding_a_bank_holiday_records_it_with_an_audit_row(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        holiday = add_bank_holiday(date(2026, 12, 25), "Christmas Day", actor=_admin(cast))
        event = AuditEvent.objects.get(action="alerts.holiday_added")
        assert (event.target_id, event.actor_id) == (str(holiday.pk), cast.admin_a.pk)
        assert "Christmas Day" in event.summary


def test_the_targets_page_adds_a_holiday_and_changes_targets_through_the_operations(
    cast: Cast,
) -> None:
    admin = signed_in(cast, "admin_a")
    added = admin.post(
        "/alerts/targets/", {"action": "holiday", "date": "2026-12-28", "name": "Boxing Day"}
    )
    assert added.status_code == 302
    with tenant_context(cast.org_a):
        allowances = _allowances()
    changed = admin.post("/alerts/targets/", allowances | {"severely critical": "2 hours"})
    assert changed.status_code == 302
    with tenant_context(cast.org_a):
        assert BankHoliday.objects.get().name == "Boxing Day"
        assert AuditEvent.objects.get(action="alerts.holiday_added").actor_id == cast.admin_a.pk
        event = AuditEvent.objects.get(action="alerts.targets_changed")
        assert event.detail["severely critical"] == "2 hours"
    # The same date twice is the form's error, not a server error.
    again = admin.post(
        "/alerts/targets/", {"action": "holiday", "date": "2026-12-28", "name": "Again"}
    )
    assert again.status_code == 400


def test_a_story_published_after_a_change_is_due_by_the_new_targets(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        set_response_targets({"mildly critical": "2 hours"}, actor=_admin(cast))
        add_bank_holiday(date(2026, 12, 25), "Christmas Day", actor=_admin(cast))
    published = publish_submission(
        tell([cast.ward_a]),
        moderator=cast.moderator,
        decision=Decision("mildly critical", [], [cast.ward_a]),
        published_at=datetime(2026, 12, 24, 16, 0, tzinfo=UK),  # Thursday before Christmas
    )
    with tenant_context(cast.org_a):
        story = Story.objects.get(public_id=published.public_story.pk)
    # One hour on Thursday; Friday is Christmas Day; the other hour on Monday.
    assert story.due_at == datetime(2026, 12, 28, 10, 0, tzinfo=UK)


def test_when_the_due_time_cannot_be_set_nothing_is_published(cast: Cast, monkeypatch) -> None:  # noqa: ANN001
    def broken(stories: object) -> int:
        raise RuntimeError("no targets")

    monkeypatch.setattr("alerts.receivers.set_due_times", broken)
    submission_id = tell([cast.ward_a])
    with pytest.raises(RuntimeError, match="no targets"):
        publish_submission(
            submission_id,
            moderator=cast.moderator,
            decision=Decision("mildly critical", [], [cast.ward_a]),
        )
    with schema_context("public"):
        assert Submission.objects.get(pk=submission_id).state == SubmissionState.PENDING
        assert not PublicStory.objects.exists()
    with tenant_context(cast.org_a):
        assert not Story.objects.exists()
