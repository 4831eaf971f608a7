"""Who may delete a saved report: the person who saved it, or an administrator; one with
schedules only an administrator, who is first told the schedules stop with it."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from dashboards.models import ReportSchedule, SavedReport
from tenants.audit.models import AuditEvent
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db


def signed_in(cast: Cast, who: str) -> Client:
    client = client_for(cast.org_a)
    assert sign_in(client, getattr(cast, who).email).status_code == 302
    return client


def save_report(cast: Cast, client: Client, name: str) -> SavedReport:
    """Saved through the page, as its user would, in organisation A."""
    response = client.post("/reports/saved/", {"name": name, "kind": "summary", "months": "3"})
    assert response.status_code == 302
    with tenant_context(cast.org_a):
        return SavedReport.objects.get(name=name)


def deletions(cast: Cast) -> list[AuditEvent]:
    with tenant_context(cast.org_a):
        return list(AuditEvent.objects.filter(action="reports.deleted"))


def exists(cast: Cast, model: type, pk: int) -> bool:
    with tenant_context(cast.org_a):
        return model.objects.filter(pk=pk).exists()


@pytest.fixture
def clients(cast: Cast) -> dict[str, Client]:
    return {who: signed_in(cast, who) for who in ("admin_a", "responder_a", "member_a")}


def test_a_responder_cannot_delete_a_report_someone_else_saved(cast: Cast, clients) -> None:  # noqa: ANN001
    report = save_report(cast, clients["admin_a"], "Board pack")
    refused = clients["responder_a"].post(f"/reports/saved/{report.pk}/delete/")
    assert refused.status_code == 403
    page = refused.content.decode()
    assert "Only the person who saved" in page and "or an administrator" in page
    assert exists(cast, SavedReport, report.pk)
    assert deletions(cast) == []
    # Nor is the button offered to them.
    listing = clients["responder_a"].get("/reports/saved/").content.decode()
    assert f"/reports/saved/{report.pk}/delete/" not in listing
    assert f"/reports/saved/{report.pk}/delete/" in clients["admin_a"].get("/reports/saved/").text


def test_whoever_saved_a_report_may_delete_it_and_an_administrator_may(
    cast: Cast,
    clients,  # noqa: ANN001
) -> None:
    own = save_report(cast, clients["member_a"], "Mine")
    assert clients["member_a"].post(f"/reports/saved/{own.pk}/delete/").status_code == 302
    assert not exists(cast, SavedReport, own.pk)
    theirs = save_report(cast, clients["responder_a"], "Theirs")
    assert clients["admin_a"].post(f"/reports/saved/{theirs.pk}/delete/").status_code == 302
    assert not exists(cast, SavedReport, theirs.pk)
    events = deletions(cast)
    assert {e.actor_id for e in events} == {cast.member_a.pk, cast.admin_a.pk}


def test_a_report_with_schedules_needs_an_administrator_who_confirms(
    cast: Cast,
    clients,  # noqa: ANN001
) -> None:
    report = save_report(cast, clients["responder_a"], "Monthly board pack")
    response = clients["admin_a"].post(
        "/reports/schedules/",
        {
            "report": report.pk,
            "frequency": 1,
            "method": "attachment",
            "recipients": cast.admin_a.email,
        },
    )
    assert response.status_code == 302
    with tenant_context(cast.org_a):
        scheduled = ReportSchedule.objects.get(report_id=report.pk)

    # Its own author, a responder, may not: schedules are for administrators.
    refused = clients["responder_a"].post(f"/reports/saved/{report.pk}/delete/")
    assert refused.status_code == 403
    assert "schedule" in refused.content.decode()
    assert exists(cast, SavedReport, report.pk) and exists(cast, ReportSchedule, scheduled.pk)

    # An administrator is first shown what goes with it; nothing is deleted yet.
    asked = clients["admin_a"].post(f"/reports/saved/{report.pk}/delete/")
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "Monthly board pack (monthly)" in page and "will stop" in page
    assert 'name="stop_schedules"' in page
    assert exists(cast, SavedReport, report.pk) and exists(cast, ReportSchedule, scheduled.pk)
    assert deletions(cast) == []
    assert clients["admin_a"].get(f"/reports/saved/{report.pk}/delete/").status_code == 200

    confirmed = clients["admin_a"].post(
        f"/reports/saved/{report.pk}/delete/", {"stop_schedules": "yes"}
    )
    assert confirmed.status_code == 302
    assert not exists(cast, SavedReport, report.pk)
    assert not exists(cast, ReportSchedule, scheduled.pk)
    (event,) = deletions(cast)
    assert event.actor_id == cast.admin_a.pk
    assert event.detail["schedules"] == [scheduled.pk]
