"""Saved reports, schedules and the public page are written by named operations, each one
transaction with its audit row: a failure after the audit row keeps neither. The pages'
plain loads write nothing and open no transaction."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from dashboards.models import (
    DeliveryMethod,
    Frequency,
    PublicPageSetting,
    ReportSchedule,
    SavedReport,
)
from dashboards.reports import public, saved_reports, scheduling
from tenants.audit.models import AuditEvent
from tenants.audit.recording import record_audit
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db


def signed_in(cast: Cast, who: str) -> Client:
    client = client_for(cast.org_a)
    assert sign_in(client, getattr(cast, who).email).status_code == 302
    return client


def saved(cast: Cast, name: str = "Board pack") -> SavedReport:
    return saved_reports.save_report(
        name=name,
        kind="summary",
        months=3,
        start=None,
        end=None,
        service_id=cast.ward_a.service_id,
        actor=cast.admin_a,
    )


def scheduled(cast: Cast, report: SavedReport) -> ReportSchedule:
    return scheduling.schedule_report(
        report.pk,
        frequency=Frequency.MONTHLY,
        method=DeliveryMethod.LINK,
        recipients=[cast.member_a.email],
        network_members=False,
        actor=cast.admin_a,
    )


def audit_then_fail(*args: object, **kwargs: object) -> None:
    """The audit row is written, then something fails before the operation ends."""
    record_audit(*args, **kwargs)
    raise RuntimeError("failed after the audit row")


def state() -> tuple:
    """Everything these operations write, in organisation A."""
    setting = PublicPageSetting.objects.first()
    return (
        sorted(SavedReport.objects.values_list("pk", "name", "service_id")),
        sorted(ReportSchedule.objects.values_list("pk", "report_id", "recipients")),
        setting and (setting.publish_you_said_we_did, setting.changed_at),
        sorted(AuditEvent.objects.values_list("pk", "action")),
    )


# Does one operation in organisation A (and checks what it did); returns its audit target.
Operation = Callable[[Cast], object]


def do_save(cast: Cast) -> object:
    report = saved(cast, "Quarterly")
    assert report.created_by == cast.admin_a and report.service_id == cast.ward_a.service_id
    return report


def do_open(cast: Cast) -> object:
    report = SavedReport.objects.get(name="Existing")
    saved_reports.record_report_opened(report, actor=cast.member_a)
    return report


def do_delete(cast: Cast) -> object:
    report = SavedReport.objects.get(name="Existing")
    saved_reports.delete_saved_report(
        report.pk, actor=cast.admin_a, request=None, stop_schedules=True
    )
    assert not SavedReport.objects.filter(pk=report.pk).exists()
    assert not ReportSchedule.objects.filter(report_id=report.pk).exists()
    return None


def do_schedule(cast: Cast) -> object:
    schedule = scheduled(cast, SavedReport.objects.get(name="Existing"))
    assert schedule.recipients == [cast.member_a.email]
    assert schedule.next_run_on.day == 1
    return schedule


def do_stop(cast: Cast) -> object:
    schedule = ReportSchedule.objects.get()
    scheduling.stop_schedule(schedule.pk, actor=cast.admin_a)
    assert not ReportSchedule.objects.filter(pk=schedule.pk).exists()
    return None


def do_publish(cast: Cast) -> object:
    public.record_publishing_choice(cast.org_a, publish=True, actor=cast.admin_a)
    assert PublicPageSetting.objects.get().publish_you_said_we_did
    return None


# (operation, the module whose record_audit it calls, its audit action)
OPERATIONS = [
    pytest.param(do_save, saved_reports, "reports.saved", id="save_report"),
    pytest.param(do_open, saved_reports, "reports.opened", id="record_report_opened"),
    pytest.param(do_delete, saved_reports, "reports.deleted", id="delete_saved_report"),
    pytest.param(do_schedule, scheduling, "reports.scheduled", id="schedule_report"),
    pytest.param(do_stop, scheduling, "reports.unscheduled", id="stop_schedule"),
    pytest.param(do_publish, public, "reports.public_page", id="record_publishing_choice"),
]


@pytest.fixture
def existing(cast: Cast) -> None:
    """A saved report with a schedule, set up through the operations, audit rows and all."""
    with tenant_context(cast.org_a):
        scheduled(cast, saved(cast, "Existing"))


@pytest.mark.parametrize(("operation", "module", "action"), OPERATIONS)
def test_each_operation_writes_its_audit_row(
    cast: Cast, existing: None, operation: Operation, module: object, action: str
) -> None:
    with tenant_context(cast.org_a):
        before = AuditEvent.objects.filter(action=action).count()
        target = operation(cast)
        events = list(AuditEvent.objects.filter(action=action).order_by("pk"))
    assert len(events) == before + 1
    event = events[-1]
    assert event.actor_id in (cast.admin_a.pk, cast.member_a.pk)
    if target is not None:
        assert event.target_id == str(target.pk)


@pytest.mark.parametrize(("operation", "module", "action"), OPERATIONS)
def test_each_operation_rolls_back_whole_when_it_fails(
    cast: Cast,
    existing: None,
    operation: Operation,
    module: object,
    action: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(module, "record_audit", audit_then_fail)
    with tenant_context(cast.org_a):
        before = state()
        with pytest.raises(RuntimeError, match="after the audit row"):
            operation(cast)
        assert state() == before


def test_scheduling_a_report_deleted_meanwhile_is_refused(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        report = saved(cast)
        SavedReport.objects.filter(pk=report.pk).delete()
        with pytest.raises(SavedReport.DoesNotExist):
            scheduled(cast, report)
        assert not AuditEvent.objects.filter(action="reports.scheduled").exists()


def test_stopping_a_schedule_already_stopped_is_a_404(cast: Cast, existing: None) -> None:
    admin = signed_in(cast, "admin_a")
    with tenant_context(cast.org_a):
        schedule = ReportSchedule.objects.get()
    assert admin.post(f"/reports/schedules/{schedule.pk}/delete/").status_code == 302
    assert admin.post(f"/reports/schedules/{schedule.pk}/delete/").status_code == 404
    with tenant_context(cast.org_a):
        assert AuditEvent.objects.filter(action="reports.unscheduled").count() == 1


def test_the_public_page_choice_is_written_through_its_operation(cast: Cast) -> None:
    admin = signed_in(cast, "admin_a")
    assert admin.post("/reports/public-page/", {"publish": "yes"}).status_code == 302
    assert public.is_published(cast.org_a) and not public.is_published(cast.org_b)
    assert admin.post("/reports/public-page/", {"publish": "no"}).status_code == 302
    assert not public.is_published(cast.org_a)
    with tenant_context(cast.org_a):
        summaries = list(
            AuditEvent.objects.filter(action="reports.public_page")
            .order_by("pk")
            .values_list("summary", flat=True)
        )
    assert summaries == [
        "Published You said, we did on the hub",
        "Took You said, we did off the hub",
    ]


def writes(queries: list[dict]) -> list[str]:
    """Statements that write, or open a transaction (a view-wide atomic makes a savepoint
    inside the test's own transaction)."""
    verbs = ("INSERT", "UPDATE", "DELETE", "SAVEPOINT", "BEGIN")
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(verbs)]


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("member_a", "/reports/saved/"),
        ("admin_a", "/reports/saved/"),
        ("admin_a", "/reports/schedules/"),
        ("admin_a", "/reports/outbox/"),
        ("admin_a", "saved-delete"),
    ],
)
def test_loading_a_page_writes_nothing_and_opens_no_transaction(
    cast: Cast, existing: None, who: str, path: str
) -> None:
    client = signed_in(cast, who)
    if path == "saved-delete":
        with tenant_context(cast.org_a):
            path = f"/reports/saved/{SavedReport.objects.get().pk}/delete/"
    client.get(path)  # anything a first load does once (sessions, caches) is not counted
    with tenant_context(cast.org_a):
        audit_rows = AuditEvent.objects.count()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    assert "Existing" in response.content.decode() or path == "/reports/outbox/"
    assert writes(captured.captured_queries) == []
    with tenant_context(cast.org_a):
        assert AuditEvent.objects.count() == audit_rows
