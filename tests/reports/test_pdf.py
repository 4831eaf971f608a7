"""Reports as PDFs: the figures are the summary's, the charts are really drawn, people's
text is escaped, and the downloads validate like the pages and stay in their workspace."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from dashboards import queries
from dashboards.reports.pdf import DEJAVU, escape, summary_pdf, you_said_we_did_pdf
from dashboards.reports.rendering import period_label
from dashboards.reports.summary import stories_summary
from dashboards.reports.you_said_we_did import changes_made
from feedback.choices import ChangeStatus
from tests.conftest import Cast, client_for, sign_in, tell_and_publish
from tests.reports.test_reports import publish, respond, scope_of

pytestmark = pytest.mark.django_db


def text_of(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def drawing_operators(content: bytes) -> int:
    """Filled rectangles in the pages' content streams: the charts' bars and axes."""
    reader = PdfReader(io.BytesIO(content))
    streams = b"".join(page.get_contents().get_data() for page in reader.pages)
    return len(re.findall(rb"\bre\b", streams))


@pytest.fixture
def member_a(cast: Cast):  # noqa: ANN201
    client = client_for(cast.org_a)
    assert sign_in(client, cast.member_a.email).status_code == 302
    return client


def test_the_summary_pdf_has_the_organisation_period_figures_and_charts(cast: Cast) -> None:
    publish(cast, criticality="not critical", tags=["what was good:kind staff"])
    severe = publish(cast, criticality="severely critical", title="Long wait for a bed")
    publish(cast, criticality="strongly critical")
    respond(cast, severe, ChangeStatus.PLANNED, "A discharge coordinator")
    with tenant_context(cast.org_a):
        scope = scope_of(cast)
        summary = stories_summary(scope)
        content = summary_pdf(
            summary,
            title="Stories summary",
            organisation_name="Alpha & <Sons> Trust",
            period_label=period_label(scope),
        )
        buckets = queries.response_times(scope)
    assert content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(content))
    assert reader.metadata.title == "Stories summary"
    text = text_of(content)
    flat = " ".join(text.split())
    assert "Alpha & <Sons> Trust" in flat
    assert period_label(scope) in flat
    assert "Page 1" in flat
    assert f"Stories {summary.stories}" in flat and summary.stories == 3
    assert f"Stories responded to {summary.responded} of {summary.stories} (33%)" in flat
    assert f"Changes planned {summary.changes_planned}" in flat
    assert "Long wait for a bed" in flat
    # The charts are drawn: their captions, axis labels and many rectangles (bars).
    assert "Stories by criticality" in flat and "Time to first response" in flat
    assert "target:" in flat and "Most given positive tags" in flat and "kind staff" in flat
    assert "Severely critical" in flat
    # One filled rectangle per bar that is not zero: the criticalities, the response times
    # and the tags given.
    bars = (
        sum(1 for _, count in summary.criticality_mix if count)
        + sum(1 for count in buckets if count)
        + len(summary.positive_tags)
        + len(summary.negative_tags)
    )
    assert drawing_operators(content) == bars == 5
    assert sum(buckets) == summary.responded


def test_people_text_is_escaped_for_reportlab_markup(cast: Cast) -> None:
    title = "<b>Bold</b> & <font size=40>big</font> <unclosed"
    made = publish(cast, criticality="strongly critical", title=title)
    respond(cast, made, ChangeStatus.MADE, "We fixed <i>it</i> & more")
    with tenant_context(cast.org_a):
        scope = scope_of(cast)
        summary_text = text_of(
            summary_pdf(stories_summary(scope), title="S", organisation_name="A", period_label="P")
        )
        items = changes_made(scope)
        ysw = text_of(
            you_said_we_did_pdf(items, title="Y", organisation_name="A", period_label="P")
        )
    assert title in summary_text
    assert title in ysw and "We fixed <i>it</i> & more" in ysw
    assert escape("<b>&") == "&lt;b&gt;&amp;"


def test_the_pdf_downloads_are_attachments_and_validate_like_the_pages(
    cast: Cast,
    member_a,  # noqa: ANN001
) -> None:
    made = publish(cast, criticality="strongly critical", title="Cold food on the ward")
    respond(cast, made, ChangeStatus.MADE, "Meals now come hot")
    today = timezone.localdate()
    start = (today - timedelta(days=6)).isoformat()
    for path in ("/reports/summary.pdf", "/reports/you-said-we-did.pdf"):
        response = member_a.get(f"{path}?start={start}&end={today.isoformat()}")
        assert response.status_code == 200, path
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment; filename=")
        assert response["Content-Disposition"].endswith('.pdf"')
        text = " ".join(text_of(response.content).split())
        assert cast.org_a.name in text and "Cold food on the ward" in text
        assert member_a.get(f"{path}?start=not-a-date").status_code == 400
        assert member_a.get(f"{path}?service=abc").status_code == 400
        assert member_a.get(f"{path}?end=2999-01-01").status_code == 400
    assert "Meals now come hot" in text


def test_the_pdfs_need_sign_in_and_stay_in_their_workspace(cast: Cast, member_a) -> None:  # noqa: ANN001
    tell_and_publish(cast, [cast.ward_b], criticality="severely critical", title="Beta secret")
    anonymous = client_for(cast.org_a)
    for path in ("/reports/summary.pdf", "/reports/you-said-we-did.pdf"):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    member_a.defaults["HTTP_HOST"] = f"{cast.org_b.slug}.localhost"
    for path in ("/reports/summary.pdf", "/reports/you-said-we-did.pdf"):
        response = member_a.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    again = client_for(cast.org_a)
    assert sign_in(again, cast.member_a.email).status_code == 302
    for query in ("", f"?service={cast.ward_b.service_id}"):  # ids are per schema
        text = text_of(again.get(f"/reports/summary.pdf{query}").content)
        assert "Beta secret" not in text and "Beta Private Ward" not in text


@pytest.mark.skipif(not (DEJAVU / "DejaVuSans.ttf").is_file(), reason="no DejaVu Sans here")
def test_welsh_and_polish_letters_are_drawn_when_the_system_has_dejavu() -> None:
    from types import SimpleNamespace

    item = SimpleNamespace(
        story_title="Gwasanaeth ŵyr a ŷd, Zażółć",
        story_excerpt="“Diolch” … ẞ",
        change="Newid",
        responded_at=timezone.now(),
    )
    content = you_said_we_did_pdf(
        [item], title="Y", organisation_name="Ysbyty Gŵyr", period_label="P"
    )
    text = text_of(content)
    assert "Gwasanaeth ŵyr a ŷd, Zażółć" in text and "Ysbyty Gŵyr" in text
