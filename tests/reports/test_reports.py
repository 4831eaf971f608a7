"""Reports: the stories summary, You said we did and the CSV, on the workspace, built from
the same figures as the dashboards and never another organisation's."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from dashboards import queries
from dashboards.filters import tenant_scope
from dashboards.reports.summary import previous_period, stories_summary
from dashboards.reports.you_said_we_did import changes_made
from feedback.choices import ChangeStatus
from feedback.models import Response, Story
from feedback.responding import Draft, publish_response
from tests.conftest import Cast, client_for, sign_in, tell_and_publish

pytestmark = pytest.mark.django_db

REPLY = (
    "Thank you for telling us about your stay on the ward. I am sorry the wait for a bed was "
    "so long; we have shared your story with the ward team and the discharge coordinator."
)


def publish(cast: Cast, listings=None, **kwargs: object) -> Story:  # noqa: ANN001
    published = tell_and_publish(cast, listings or [cast.ward_a], **kwargs)
    with tenant_context(cast.org_a):
        return Story.objects.get(public_id=published.public_story.pk)


def respond(cast: Cast, story: Story, change: str, description: str = "") -> Response:
    with tenant_context(cast.org_a):
        return publish_response(
            story,
            Draft(REPLY, change, description),
            responder=cast.responder_a,
            written_by=cast.responder_a,
        )


def scope_of(cast: Cast, service: object = None) -> queries.Scope:
    today = timezone.localdate()
    return tenant_scope(
        cast.org_a.pk,
        start=(today - timedelta(days=29)).isoformat(),
        end=today.isoformat(),
        service=service,
        criticality=None,
        today=today,
    )


@pytest.fixture
def member_a(cast: Cast):  # noqa: ANN201
    client = client_for(cast.org_a)
    assert sign_in(client, cast.member_a.email).status_code == 302
    return client


def test_the_summary_figures_are_the_dashboards_figures_for_the_same_period(cast: Cast) -> None:
    kind = publish(cast, criticality="not critical", tags=["what was good:kind staff"])
    severe = publish(
        cast, criticality="severely critical", tags=["what could be improved:waiting time"]
    )
    publish(cast, listings=[cast.clinic_a], criticality="strongly critical")
    tell_and_publish(cast, [cast.ward_b], criticality="severely critical")
    respond(cast, severe, ChangeStatus.PLANNED, "A discharge coordinator")
    with tenant_context(cast.org_a):
        scope = scope_of(cast)
        summary = stories_summary(scope)
        kpis = queries.kpis(scope)
    assert (summary.stories, summary.responded) == (kpis.stories, kpis.responded) == (3, 1)
    assert summary.share_responded == kpis.share_responded
    assert summary.median_response_hours == kpis.median_response_hours
    assert summary.share_within_target == kpis.share_within_target
    assert (summary.changes_planned, summary.changes_made) == (1, 0)
    mix = dict(summary.criticality_mix)
    assert (mix["not critical"], mix["severely critical"], mix["strongly critical"]) == (1, 1, 1)
    assert sum(mix.values()) == summary.stories
    assert [t.name for t in summary.positive_tags] == ["kind staff"]
    assert [t.name for t in summary.negative_tags] == ["waiting time"]
    assert [s.pk for s in summary.positive_examples] == [kind.pk]
    assert severe.pk in {s.pk for s in summary.critical_examples}
    assert len(summary.critical_examples) == 2  # B's story is never one of A's
    assert all(len(s.excerpt) <= 301 for s in summary.critical_examples)
    # The previous period is as long and ends the day before; nothing was published then.
    before = previous_period(scope)
    assert before.end == scope.start - timedelta(days=1)
    assert before.end - before.start == scope.end - scope.start
    assert summary.stories_previous == 0


def test_a_service_narrows_the_summary_to_its_subtree(cast: Cast) -> None:
    publish(cast, criticality="severely critical")
    publish(cast, listings=[cast.clinic_a], criticality="severely critical")
    with tenant_context(cast.org_a):
        scope = scope_of(cast, service=cast.clinic_a.service_id)
        summary = stories_summary(scope)
        assert summary.stories == queries.kpis(scope).stories == 1
        assert [s.pk for s in summary.critical_examples] == [
            Story.objects.get(services=cast.clinic_a.service_id).pk
        ]


def test_you_said_we_did_lists_only_changes_made_in_the_period(cast: Cast) -> None:
    made = publish(cast, criticality="strongly critical", title="Cold food on the ward")
    planned = publish(cast, criticality="strongly critical", title="Noisy nights")
    nothing = publish(cast, criticality="mildly critical", title="Parking")
    earlier = publish(cast, criticality="mildly critical", title="Long ago")
    respond(cast, made, ChangeStatus.MADE, "Meals now come from the ward kitchen, hot")
    respond(cast, planned, ChangeStatus.PLANNED, "Quieter night rounds")
    respond(cast, nothing, ChangeStatus.NONE)
    old = respond(cast, earlier, ChangeStatus.MADE, "Made before the period")
    with tenant_context(cast.org_a):
        Response.objects.filter(pk=old.pk).update(published_at=timezone.now() - timedelta(days=60))
        items = changes_made(scope_of(cast))
    assert [(i.story_title, i.change) for i in items] == [
        ("Cold food on the ward", "Meals now come from the ward kitchen, hot")
    ]
    assert items[0].response_excerpt.startswith("Thank you for telling us")
    assert items[0].story_excerpt.startswith("The nurses were kind and explained everything.")


def test_the_pages_show_the_report_and_you_said_we_did(cast: Cast, member_a) -> None:  # noqa: ANN001
    made = publish(cast, criticality="strongly critical", title="Cold food on the ward")
    respond(cast, made, ChangeStatus.MADE, "Meals now come hot")
    page = member_a.get("/reports/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Stories summary" in html and 'id="figure-stories">1<' in html
    assert "Cold food on the ward" in html
    assert 'href="/reports/"' in member_a.get("/dashboards/live/").content.decode()
    listed = member_a.get("/reports/you-said-we-did/").content.decode()
    assert "Meals now come hot" in listed and "Cold food on the ward" in listed


def test_you_said_we_did_csv_has_a_row_per_change_made(cast: Cast, member_a) -> None:  # noqa: ANN001
    made = publish(cast, criticality="strongly critical", title='=HYPERLINK("x") cold food')
    planned = publish(cast, criticality="strongly critical", title="Noisy nights")
    respond(cast, made, ChangeStatus.MADE, "Meals now come hot")
    respond(cast, planned, ChangeStatus.PLANNED, "Quieter night rounds")
    today = timezone.localdate()
    start = (today - timedelta(days=6)).isoformat()
    response = member_a.get(f"/reports/you-said-we-did.csv?start={start}&end={today}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="you-said-we-did-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "story id",
        "story title",
        "story excerpt",
        "change",
        "response excerpt",
        "responded on",
    ]
    assert len(rows) == 2
    story_id, title, story_excerpt, change, response_excerpt, responded_on = rows[1]
    assert story_id == str(made.pk)
    # A title a spreadsheet would run as a formula is kept as text.
    assert title == '\'=HYPERLINK("x") cold food'
    assert story_excerpt.startswith("The nurses were kind")
    assert change == "Meals now come hot"
    assert response_excerpt.startswith("Thank you for telling us")
    assert responded_on == today.isoformat()
    assert member_a.get("/reports/you-said-we-did.csv?start=2026-13-01").status_code == 400


def test_the_csv_lists_every_figure_as_section_measure_value(cast: Cast, member_a) -> None:  # noqa: ANN001
    publish(cast, criticality="not critical", tags=["what was good:kind staff"])
    today = timezone.localdate()
    start = (today - timedelta(days=6)).isoformat()
    response = member_a.get(f"/reports/summary.csv?start={start}&end={today.isoformat()}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment; filename=")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "measure", "value"]
    assert all(len(row) == 3 for row in rows)
    figures = {(section, measure): value for section, measure, value in rows[1:]}
    assert figures[("period", "start")] == start
    assert figures[("volume", "stories")] == "1"
    assert figures[("criticality", "not critical")] == "1"
    assert figures[("positive tags", "kind staff")] == "1"
    assert figures[("responses", "share responded")] == "0.0000"


def test_bad_dates_and_services_are_refused_with_a_message(cast: Cast, member_a) -> None:  # noqa: ANN001
    page = member_a.get("/reports/?start=not-a-date")
    assert page.status_code == 400 and "Enter a valid date" in page.content.decode()
    backwards = member_a.get("/reports/?start=2026-03-01&end=2026-02-01")
    assert backwards.status_code == 400
    assert "start on or before" in backwards.content.decode()
    csv_response = member_a.get("/reports/summary.csv?service=abc")
    assert csv_response.status_code == 400
    assert "cannot be made" in csv_response.content.decode()
    assert member_a.get("/reports/you-said-we-did/?end=2999-01-01").status_code == 400


def test_reports_need_sign_in(cast: Cast) -> None:
    client = client_for(cast.org_a)
    for path in ("/reports/", "/reports/you-said-we-did/", "/reports/summary.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_one_organisation_cannot_get_another_report(cast: Cast, member_a) -> None:  # noqa: ANN001
    tell_and_publish(cast, [cast.ward_b], criticality="severely critical", title="Beta secret")
    member_a.defaults["HTTP_HOST"] = f"{cast.org_b.slug}.localhost"
    for path in ("/reports/", "/reports/summary.csv", "/reports/you-said-we-did/"):
        response = member_a.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    member_a.defaults["HTTP_HOST"] = f"{cast.org_a.slug}.localhost"
    for path in ("/reports/", "/reports/summary.csv", "/reports/you-said-we-did/"):
        response = member_a.get(f"{path}?service={cast.ward_b.service_id}")
        body = response.content.decode()
        assert "Beta secret" not in body and "Beta Private Ward" not in body
        if path.endswith(".csv") and response.status_code == 200:
            assert "\nvolume,stories,0" in body.replace("\r", "")


def test_a_story_title_with_html_is_escaped(cast: Cast, member_a) -> None:  # noqa: ANN001
    publish(cast, criticality="not critical", title="<script>alert(1)</script> & <b>bold</b>")
    html = member_a.get("/reports/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html


def test_an_excerpt_is_the_first_300_characters_of_plain_text() -> None:
    from dashboards.reports.excerpts import excerpt

    body = "### What was good\n\n" + "word " * 100
    short = excerpt(body)
    assert not short.startswith("#") and short.startswith("word word")
    assert len(short) == 300 and short.endswith("…")
    assert excerpt("### Heading\n\nShort.") == "Short."


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("-0.2500", "-0.2500"),  # a fall on the previous period stays a number
        ("+3", "+3"),
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("@now", "'@now"),
        ("+44 7700 900000", "'+44 7700 900000"),
        ("kind staff", "kind staff"),
        (12, 12),
    ],
)
def test_csv_cells_that_would_run_as_formulas_are_text(value: object, written: object) -> None:
    from feedback.csv_export import spreadsheet_safe as _plain

    assert _plain(value) == written
