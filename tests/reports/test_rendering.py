"""One report renderer: the page's download, the worker's long report and the scheduled
delivery make the same PDF for the same kind, scope and period, the same as drawing it
straight from the figures, and a scope of one organisation never shows another's stories."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from dashboards.filters import tenant_scope
from dashboards.models import DeliveryMethod, Frequency, ReportDelivery
from dashboards.queries import Scope
from dashboards.reports import delivering, long_reports
from dashboards.reports.pdf import summary_pdf, you_said_we_did_pdf
from dashboards.reports.rendering import TITLES, UnknownReport, period_label, render_report
from dashboards.reports.saved_reports import save_report
from dashboards.reports.scheduling import schedule_report
from dashboards.reports.summary import stories_summary
from dashboards.reports.you_said_we_did import changes_made
from feedback.choices import ChangeStatus
from feedback.models import Story
from feedback.responding import Draft, publish_response
from tenants.models import Organisation
from tests.conftest import Cast, client_for, sign_in, tell_and_publish
from tests.reports.test_reports import REPLY, publish, respond

pytestmark = pytest.mark.django_db

KINDS = ["summary", "you-said-we-did"]


def text_of(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def last_30_days(organisation: Organisation) -> Scope:
    today = timezone.localdate()
    with tenant_context(organisation):
        return tenant_scope(
            organisation.pk,
            start=(today - timedelta(days=29)).isoformat(),
            end=today.isoformat(),
            service=None,
            criticality=None,
            today=today,
        )


def drawn_as_before(kind: str, scope: Scope, organisation: Organisation) -> bytes:
    """The PDF as the three callers each drew it before render_report."""
    with tenant_context(organisation):
        if kind == "summary":
            return summary_pdf(
                stories_summary(scope),
                title="Stories summary",
                organisation_name=organisation.name,
                period_label=period_label(scope),
            )
        return you_said_we_did_pdf(
            changes_made(scope),
            title="You said, we did",
            organisation_name=organisation.name,
            period_label=period_label(scope),
        )


@pytest.fixture
def stories_of_a(cast: Cast) -> None:
    publish(cast, criticality="not critical", tags=["what was good:kind staff"])
    cold = publish(cast, criticality="strongly critical", title="Cold food on the ward")
    respond(cast, cold, ChangeStatus.MADE, "Meals now come hot")
    late = publish(cast, criticality="severely critical", title="Long wait for a bed")
    respond(cast, late, ChangeStatus.PLANNED, "A discharge coordinator")


@pytest.fixture
def stories_of_b(cast: Cast) -> None:
    published = tell_and_publish(
        cast, [cast.ward_b], criticality="severely critical", title="Beta secret"
    )
    with tenant_context(cast.org_b):
        story = Story.objects.get(public_id=published.public_story.pk)
        publish_response(
            story,
            Draft(REPLY, ChangeStatus.MADE, "Beta private change"),
            responder=cast.responder_b,
            written_by=cast.responder_b,
        )


@pytest.mark.parametrize("kind", KINDS)
def test_the_page_the_worker_and_the_delivery_make_the_same_pdf(
    cast: Cast, stories_of_a: None, kind: str, tmp_path: Path
) -> None:
    scope = last_30_days(cast.org_a)
    start, end = scope.start.isoformat(), scope.end.isoformat()
    before = text_of(drawn_as_before(kind, scope, cast.org_a))
    assert cast.org_a.name in before and "Cold food on the ward" in before

    # The page's download.
    client = client_for(cast.org_a)
    assert sign_in(client, cast.member_a.email).status_code == 302
    path = "/reports/summary.pdf" if kind == "summary" else "/reports/you-said-we-did.pdf"
    response = client.get(f"{path}?start={start}&end={end}")
    assert response.status_code == 200
    stem = "stories-summary" if kind == "summary" else "you-said-we-did"
    filename = f"{stem}-{start}-{end}.pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'

    # The worker's long report, written to its file.
    with override_settings(MEDIA_ROOT=tmp_path), tenant_context(cast.org_a):
        token = long_reports.new_token()
        built = Path(long_reports.build(token, kind, start, end, None))
        assert long_reports.progress(token)["percent"] == 100

    # The scheduled delivery of a saved report of that kind, named as the kind's title.
    with tenant_context(cast.org_a):
        report = save_report(
            name=TITLES[kind],
            kind=kind,
            months=1,
            start=None,
            end=None,
            service_id=None,
            actor=cast.admin_a,
        )
        schedule = schedule_report(
            report.pk,
            frequency=Frequency.MONTHLY,
            method=DeliveryMethod.ATTACHMENT,
            recipients=[cast.admin_a.email],
            network_members=False,
            actor=cast.admin_a,
        )
        delivery = ReportDelivery.objects.create(
            key=delivering.delivery_key(schedule, scope.start, scope.end, cast.admin_a.email),
            schedule=schedule,
            report_name=report.name,
            period_start=scope.start,
            period_end=scope.end,
            recipient=cast.admin_a.email,
            method=DeliveryMethod.ATTACHMENT,
        )
        name, delivered, content_type = delivering.report_file(delivery)
    assert (name, content_type) == (filename, "application/pdf")

    rendered = render_report(kind, scope)
    assert rendered.filename == filename
    assert text_of(rendered.content) == before
    assert text_of(response.content) == before
    assert text_of(built.read_bytes()) == before
    assert text_of(delivered) == before


@pytest.mark.parametrize("kind", KINDS)
def test_a_scope_shows_only_its_own_organisation_whatever_schema_is_active(
    cast: Cast, stories_of_a: None, stories_of_b: None, kind: str
) -> None:
    scope_a, scope_b = last_30_days(cast.org_a), last_30_days(cast.org_b)
    for active in (cast.org_a, cast.org_b, None):
        if active is None:
            texts = [text_of(render_report(kind, s).content) for s in (scope_a, scope_b)]
        else:
            with tenant_context(active):
                texts = [text_of(render_report(kind, s).content) for s in (scope_a, scope_b)]
        of_a, of_b = (" ".join(text.split()) for text in texts)
        assert cast.org_a.name in of_a and "Cold food on the ward" in of_a
        assert cast.org_b.name not in of_a
        assert "Beta secret" not in of_a and "Beta private change" not in of_a
        assert cast.org_b.name in of_b and "Beta secret" in of_b
        assert cast.org_a.name not in of_b and "Cold food on the ward" not in of_b
        assert "Meals now come hot" not in of_b


def test_an_unknown_kind_is_refused(cast: Cast) -> None:
    with pytest.raises(UnknownReport):
        render_report("committee", last_30_days(cast.org_a))


def test_a_caller_may_name_the_title_and_period(cast: Cast, stories_of_a: None) -> None:
    rendered = render_report(
        "you-said-we-did", last_30_days(cast.org_a), "Last month", title="Board <changes>"
    )
    text = " ".join(text_of(rendered.content).split())
    assert "Board <changes>" in text and "Last month" in text
    assert "You said, we did" not in text
    assert PdfReader(io.BytesIO(rendered.content)).metadata.title == "Board <changes>"
