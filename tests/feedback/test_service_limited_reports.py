"""Service-level permissions, reports: a responder limited to A's ward gets long PDFs, saved
reports and (as a limited administrator) scheduled reports of the ward only; any report
scheduled to a limited person arrives narrowed to their services, and whole-organisation
committee packs never reach them. The clinic's story, the control, is in every unlimited
report."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from dashboards.models import (
    DeliveryMethod,
    Frequency,
    LongReport,
    ReportDelivery,
    ReportKind,
    ReportSchedule,
    SavedReport,
)
from dashboards.reports import delivering, long_reports, member_packs
from dashboards.reports.tasks import build_long_pdf
from feedback.models import Service
from feedback.service_limits import set_limit
from tenants.accounts.models import Role
from tests.conftest import Cast, client_for, sign_in, tell_and_publish

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    pages = PdfReader(io.BytesIO(content)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def stories_counted(content: bytes) -> int:
    """The summary PDF's count of stories (its figures begin "Figures Stories N")."""
    text = pdf_text(content)
    marker = "Figures Stories "
    assert marker in text, text[:400]
    return int(text.split(marker, 1)[1].split()[0].replace(",", ""))


@pytest.fixture
def ward_and_clinic(cast: Cast) -> None:
    """A story about the ward, two about the clinic; the responder limited to the ward."""
    tell_and_publish(cast, [cast.ward_a], title="About the ward")
    tell_and_publish(cast, [cast.clinic_a], title="About the clinic")
    tell_and_publish(cast, [cast.clinic_a], title="About the clinic again")
    with tenant_context(cast.org_a):
        set_limit(
            cast.responder_a, [Service.objects.get(pk=cast.ward_a.service_id)], actor=cast.admin_a
        )


def signed_in(cast: Cast, who: str) -> Client:
    client = client_for(cast.org_a)
    assert sign_in(client, getattr(cast, who).email).status_code == 302
    return client


def test_a_long_pdf_counts_only_their_services_and_only_they_open_it(
    cast: Cast,
    ward_and_clinic: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    settings,  # noqa: ANN001
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    settings.MEDIA_ROOT = tmp_path
    sent: list[tuple] = []
    monkeypatch.setattr(build_long_pdf, "delay", lambda *args: sent.append(args))
    today = timezone.localdate()
    asked = {
        "kind": "summary",
        "start": (today - timedelta(days=364)).isoformat(),
        "end": today.isoformat(),
    }
    counted = {}
    tokens = {}
    for who in ("responder_a", "admin_a"):
        client = signed_in(cast, who)
        with django_capture_on_commit_callbacks(execute=True):
            # The clinic, asked for by its id, is not the responder's: refused as a choice.
            if who == "responder_a":
                refused = client.post("/reports/pdf/", {**asked, "service": cast.clinic_a.pk})
                assert refused.status_code == 400
            started = client.post("/reports/pdf/", asked)
        assert started.status_code == 302
        token = started["Location"].rstrip("/").rsplit("/", 1)[1]
        tokens[who] = token
        with tenant_context(cast.org_a):
            # The worker reads the limit from the row, whatever the task message says.
            long_reports.build(*sent[-1])
            counted[who] = stories_counted(long_reports.file_path(token).read_bytes())
            assert LongReport.objects.get(token=token).within == (
                [cast.ward_a.service_id] if who == "responder_a" else None
            )
        assert client.get(f"/reports/pdf/{token}/report.pdf").status_code == 200
    assert counted == {"responder_a": 1, "admin_a": 3}
    responder = signed_in(cast, "responder_a")
    # Another person's long report, token and all, is not theirs to open...
    for path in ("/", "/status/", "/report.pdf"):
        assert responder.get(f"/reports/pdf/{tokens['admin_a']}{path}").status_code == 404
    # ...while anyone unlimited opens the responder's, as before.
    assert (
        signed_in(cast, "member_a").get(f"/reports/pdf/{tokens['responder_a']}/").status_code == 200
    )


def test_saved_reports_are_about_their_services(cast: Cast, ward_and_clinic: None) -> None:
    with tenant_context(cast.org_a):
        clinic = Service.objects.get(pk=cast.clinic_a.service_id)
        about_clinic = SavedReport.objects.create(
            name="Clinic quarter",
            kind=ReportKind.SUMMARY,
            months=3,
            service=clinic,
            created_by=cast.admin_a,
        )
        about_all = SavedReport.objects.create(
            name="Everything", kind=ReportKind.SUMMARY, months=3, created_by=cast.admin_a
        )
    client = signed_in(cast, "responder_a")
    page = client.get("/reports/saved/").content.decode()
    assert "Everything" in page and "All your services" in page
    assert "Clinic quarter" not in page and cast.clinic_a.name not in page  # nor as a choice
    assert 'href="/reports/outbox/"' not in page
    assert client.get(f"/reports/saved/{about_clinic.pk}/").status_code == 404
    assert client.post(f"/reports/saved/{about_clinic.pk}/delete/").status_code == 404
    opened = client.get(f"/reports/saved/{about_all.pk}/", follow=True)
    assert opened.status_code == 200
    assert "About the clinic" not in opened.content.decode()
    # Saving one about the clinic is refused; about the ward, it is theirs.
    report = {"name": "Mine", "kind": ReportKind.SUMMARY, "months": 1}
    assert client.post("/reports/saved/", {**report, "service": clinic.pk}).status_code == 400
    assert (
        client.post("/reports/saved/", {**report, "service": cast.ward_a.service_id}).status_code
        == 302
    )
    # Not theirs to delete: another's report about all services.
    assert client.post(f"/reports/saved/{about_all.pk}/delete/").status_code == 403


def _deliver(schedule: ReportSchedule, recipient: str) -> bytes:
    today = timezone.localdate()
    delivery = ReportDelivery.objects.create(
        key=f"test:{schedule.pk}:{recipient}:{ReportDelivery.objects.count()}",
        schedule=schedule,
        report_name=schedule.report.name,
        period_start=today - timedelta(days=30),
        period_end=today,
        recipient=recipient,
        method=DeliveryMethod.ATTACHMENT,
    )
    return delivering.report_file(delivery)[1]


def test_a_report_scheduled_to_a_limited_person_holds_only_their_services(
    cast: Cast, ward_and_clinic: None
) -> None:
    with tenant_context(cast.org_a):
        report = SavedReport.objects.create(name="Board pack", kind=ReportKind.SUMMARY, months=1)
        schedule = ReportSchedule.objects.create(
            report=report,
            frequency=Frequency.MONTHLY,
            recipients=[cast.responder_a.email, cast.admin_a.email],
            network_members=True,
            next_run_on=timezone.localdate(),
            created_by=cast.admin_a,
        )
        assert stories_counted(_deliver(schedule, cast.admin_a.email)) == 3
        assert stories_counted(_deliver(schedule, cast.responder_a.email)) == 1
        # The whole organisation's committee packs: never to them (the lead's schedule asks).
        limited = ReportDelivery.objects.get(recipient=cast.responder_a.email)
        assert delivering.packs_wanted(limited) == []
        # A schedule made by someone limited counts only their services, for anyone.
        mine = ReportSchedule.objects.create(
            report=report,
            frequency=Frequency.MONTHLY,
            recipients=[cast.admin_a.email],
            within=[cast.ward_a.service_id],
            next_run_on=timezone.localdate(),
        )
        assert stories_counted(_deliver(mine, cast.admin_a.email)) == 1
        # Its maker, limited to the ward and the clinic, is narrowed to the ward alone: so
        # is their schedule made for both.
        both = [cast.ward_a.service_id, cast.clinic_a.service_id]
        set_limit(cast.member_a, list(Service.objects.filter(pk__in=both)), actor=cast.admin_a)
        theirs = ReportSchedule.objects.create(
            report=report,
            frequency=Frequency.MONTHLY,
            recipients=[cast.admin_a.email],
            within=both,
            next_run_on=timezone.localdate(),
            created_by_id=cast.member_a.pk,
        )
        assert stories_counted(_deliver(theirs, cast.admin_a.email)) == 3
        set_limit(cast.member_a, [Service.objects.get(pk=both[0])], actor=cast.admin_a)
        theirs = ReportSchedule.objects.get(pk=theirs.pk)  # as the next run reads it
        assert stories_counted(_deliver(theirs, cast.admin_a.email)) == 1


def test_a_limited_administrator_schedules_their_own_without_packs(
    cast: Cast, ward_and_clinic: None
) -> None:
    with tenant_context(cast.org_a):
        cast.member_a.role = Role.ADMINISTRATOR
        cast.member_a.save(update_fields=["role"])
        ward = Service.objects.get(pk=cast.ward_a.service_id)
        set_limit(cast.member_a, [ward], actor=cast.admin_a)
        report = SavedReport.objects.create(name="Ward month", kind=ReportKind.SUMMARY, months=1)
        theirs = ReportSchedule.objects.create(
            report=report,
            frequency=Frequency.MONTHLY,
            recipients=[cast.admin_a.email],
            next_run_on=timezone.localdate(),
            created_by=cast.admin_a,
        )
    client = signed_in(cast, "member_a")
    page = client.get("/reports/schedules/").content.decode()
    assert "committee pack" not in page  # no network options
    assert "Publish it on the hub" not in page and "Take it off the hub" not in page
    assert cast.admin_a.email not in page  # another administrator's schedule
    posted = client.post(
        "/reports/schedules/",
        {
            "report": report.pk,
            "frequency": Frequency.MONTHLY,
            "method": DeliveryMethod.ATTACHMENT,
            "recipients": cast.admin_a.email,
            "network_members": "on",  # not a field for them: ignored
        },
    )
    assert posted.status_code == 302
    with tenant_context(cast.org_a):
        made = ReportSchedule.objects.get(created_by=cast.member_a)
        assert made.within == [cast.ward_a.service_id] and not made.network_members
    assert client.post(f"/reports/schedules/{theirs.pk}/delete/").status_code == 404
    assert client.post(f"/reports/schedules/{made.pk}/delete/").status_code == 302
    assert client.get("/reports/outbox/").status_code == 403
    assert client.post("/reports/public-page/", {"publish": "yes"}).status_code == 403


def test_committee_packs_are_not_chosen_for_limited_staff(
    cast: Cast, ward_and_clinic: None
) -> None:
    with tenant_context(cast.org_a):
        choices = {user.pk for user in member_packs.staff_choices()}
        assert cast.responder_a.pk not in choices and cast.admin_a.pk in choices


def test_you_said_we_did_and_the_summary_downloads_hold_only_their_services(
    cast: Cast, ward_and_clinic: None
) -> None:
    """Every form of the two reports (page, CSV, PDF): the ward's change is there and the
    clinic's is not for the limited responder; both are for the administrator."""
    from feedback.choices import ChangeStatus
    from feedback.models import Story
    from tests.reports.test_reports import respond

    with tenant_context(cast.org_a):
        ward = Story.objects.get(title="About the ward")
        clinic = Story.objects.get(title="About the clinic")
    ward_response = respond(cast, ward, ChangeStatus.MADE, "Quieter night rounds on the ward")
    clinic_response = respond(cast, clinic, ChangeStatus.MADE, "A second clinic receptionist")
    today = timezone.localdate().isoformat()
    period = f"?start={today}&end={today}"

    def seen(client: Client) -> dict[str, str]:
        texts = {}
        for path in ("/reports/you-said-we-did/", "/reports/you-said-we-did.csv"):
            response = client.get(path + period)
            assert response.status_code == 200, path
            texts[path] = response.content.decode()
        pdf = client.get("/reports/you-said-we-did.pdf" + period)
        assert pdf.status_code == 200
        texts["pdf"] = pdf_text(pdf.content)
        texts["summary"] = str(stories_counted(client.get("/reports/summary.pdf" + period).content))
        return texts

    limited, whole = seen(signed_in(cast, "responder_a")), seen(signed_in(cast, "admin_a"))
    for form in ("/reports/you-said-we-did/", "/reports/you-said-we-did.csv", "pdf"):
        assert "Quieter night rounds" in limited[form], form
        assert "clinic receptionist" not in limited[form], form
        assert "clinic receptionist" in whole[form], form
    assert (limited["summary"], whole["summary"]) == ("1", "3")
    # The response to the clinic's story is not theirs to edit; the ward's is.
    responder = signed_in(cast, "responder_a")
    assert responder.get(f"/responses/{clinic_response.pk}/edit/").status_code == 404
    assert responder.get(f"/responses/{ward_response.pk}/edit/").status_code == 200
