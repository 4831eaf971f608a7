"""The stories summary's response quality and recurring themes: counted over the report's
period, services and criticalities only, and shown on the page, in the CSV and in the PDF."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from dashboards.reports.pdf import summary_pdf
from dashboards.reports.response_quality import response_quality
from dashboards.reports.summary import stories_summary
from dashboards.reports.themes import phrases_of, recurring_themes
from feedback.choices import ChangeStatus
from feedback.hub.models import ServiceListing
from feedback.models import Response, Service, Story
from feedback.quality import LABELS
from feedback.responding import Draft, publish_response
from feedback.sites_and_services import save_service
from tests.conftest import Cast, client_for, sign_in, tell_and_publish
from tests.reports.test_reports import REPLY, publish, respond, scope_of

pytestmark = pytest.mark.django_db

KIND = "what was good:kind staff"
WAITING = "what could be improved:waiting time"
ANXIOUS = "feelings:anxious"


@pytest.fixture
def member_a(cast: Cast):  # noqa: ANN201
    client = client_for(cast.org_a)
    assert sign_in(client, cast.member_a.email).status_code == 302
    return client


def bay_of_ward_a(cast: Cast) -> ServiceListing:
    """A service inside Alpha Ward One, so the ward's subtree has two services."""
    with tenant_context(cast.org_a):
        ward = Service.objects.get(pk=cast.ward_a.service_id)
        bay = save_service(
            Service(site=ward.site, parent=ward, name="Alpha Ward One Bay B", code="", type="ward")
        )
        return ServiceListing.objects.get(organisation=cast.org_a, service_id=bay.pk)


def story(cast: Cast, listing: ServiceListing, title: str, good: str, improve: str, **kw) -> Story:  # noqa: ANN003
    return publish(
        cast,
        listings=[listing],
        title=title,
        what_was_good=good,
        what_could_be_improved=improve,
        how_it_felt=kw.pop("felt", "Fine."),
        **kw,
    )


def themed_stories(cast: Cast) -> dict[str, Story]:
    """Four stories in the period (three about the ward and its bay, one about the clinic),
    one about the ward published before it, and one of B's with the same words.

    Phrases over all of A's in the period: "discharge lounge" (a, b, c), "night shift"
    (a, c, d), "four hours" (a, b), "noisy night shift" (a, c); "noisy night" is inside
    "noisy night shift" in the same stories; "waiting room" and "purple elephant parade"
    are in d alone. Tag pairs: kind staff + waiting time (a, b, c), anxious + kind staff
    (a, c, d), anxious + waiting time (a, c)."""
    bay = bay_of_ward_a(cast)
    stories = {
        "a": story(
            cast,
            cast.ward_a,
            "Four hours in the lounge",
            "Kind nurses on the ward.",
            "We sat in the discharge lounge for four hours. The noisy night shift kept me awake.",
            felt="Anxious.",
            criticality="severely critical",
            tags=[KIND, WAITING, ANXIOUS],
        ),
        "b": story(
            cast,
            bay,
            "No chairs",
            "The porter was helpful.",
            "The discharge lounge had no chairs. Four hours of waiting.",
            criticality="mildly critical",
            tags=[KIND, WAITING],
        ),
        "c": story(
            cast,
            cast.ward_a,
            "Cold and loud",
            "Lovely view.",
            "Cold discharge lounge. Such a noisy night shift!",
            criticality="severely critical",
            tags=[KIND, WAITING, ANXIOUS],
        ),
        "d": story(
            cast,
            cast.clinic_a,
            "Eye clinic",
            "Purple elephant parade in the waiting room.",
            "The waiting room was cramped. The night shift nurse was brilliant.",
            felt="Anxious.",
            criticality="not critical",
            tags=[KIND, ANXIOUS],
        ),
        "old": story(
            cast,
            cast.ward_a,
            "Long ago",
            "Kind staff.",
            "The discharge lounge again, four hours. Noisy night, purple elephant parade.",
            tags=[KIND, WAITING],
        ),
    }
    tell_and_publish(
        cast,
        [cast.ward_b],
        title="Beta lounge",
        what_was_good="Purple elephant parade.",
        what_could_be_improved="The discharge lounge, four hours.",
        tags=[KIND, WAITING],
    )
    with tenant_context(cast.org_a):
        Story.objects.filter(pk=stories["old"].pk).update(
            published_at=timezone.now() - timedelta(days=60)
        )
    return stories


def found(themes) -> tuple[dict, dict]:  # noqa: ANN001
    pairs = {p.label: (p.stories, [s.pk for s in p.examples]) for p in themes.tag_pairs}
    phrases = {p.text: (p.stories, [s.pk for s in p.examples]) for p in themes.phrases}
    return pairs, phrases


def test_tag_pairs_and_phrases_are_counted_by_stories_with_the_stories_behind_them(
    cast: Cast,
) -> None:
    s = themed_stories(cast)
    a, b, c, d = s["a"].pk, s["b"].pk, s["c"].pk, s["d"].pk
    with tenant_context(cast.org_a):
        themes = recurring_themes(scope_of(cast))
    pairs, phrases = found(themes)
    assert themes.stories_read == 4 and not themes.is_capped
    # Newest first, and the pairs in order of stories, then by name.
    assert list(pairs.items()) == [
        ("anxious + kind staff", (3, [d, c, a])),
        ("kind staff + waiting time", (3, [c, b, a])),
        ("anxious + waiting time", (2, [c, a])),
    ]
    assert list(phrases.items()) == [
        ("discharge lounge", (3, [c, b, a])),
        ("night shift", (3, [d, c, a])),
        ("noisy night shift", (2, [c, a])),
        ("four hours", (2, [b, a])),
    ]
    # In one story only (d, or the story before the period): not a theme.
    assert "waiting room" not in phrases and "purple elephant parade" not in phrases
    # Inside a longer phrase found in the very same stories.
    assert "noisy night" not in phrases


def test_themes_read_only_the_latest_stories_past_the_cap(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more stories in scope than the cap, only the newest are read, and it says so."""
    s = themed_stories(cast)
    c, d = s["c"].pk, s["d"].pk
    monkeypatch.setattr("dashboards.reports.themes.MAX_STORIES", 2)
    with tenant_context(cast.org_a):
        themes = recurring_themes(scope_of(cast))
    pairs, phrases = found(themes)
    assert themes.stories_read == 2 and themes.is_capped
    # Of the newest two (d and c), only what both share is a theme.
    assert pairs == {"anxious + kind staff": (2, [d, c])}
    assert phrases == {"night shift": (2, [d, c])}


def test_themes_keep_to_the_services_subtree_and_criticalities(cast: Cast) -> None:
    s = themed_stories(cast)
    a, b, c = s["a"].pk, s["b"].pk, s["c"].pk
    with tenant_context(cast.org_a):
        ward = scope_of(cast, service=cast.ward_a.service_id)
        on_ward = recurring_themes(ward)
        severe = recurring_themes(replace(ward, criticalities=("severely critical",)))
        clinic = recurring_themes(scope_of(cast, service=cast.clinic_a.service_id))
    pairs, phrases = found(on_ward)
    assert on_ward.stories_read == 3  # the ward's and its bay's, not the clinic's
    assert pairs["kind staff + waiting time"] == (3, [c, b, a])
    assert pairs["anxious + kind staff"] == (2, [c, a])
    assert phrases == {
        "discharge lounge": (3, [c, b, a]),
        "noisy night shift": (2, [c, a]),
        "four hours": (2, [b, a]),
    }  # "night shift" is now in the same stories as "noisy night shift"
    pairs, phrases = found(severe)
    assert severe.stories_read == 2 and "four hours" not in phrases
    assert phrases["discharge lounge"] == (2, [c, a])
    assert clinic.stories_read == 1 and not clinic.tag_pairs and not clinic.phrases


def test_phrases_leave_out_headings_stop_word_edges_and_run_within_a_sentence() -> None:
    body = "### What was good\n\nThe wait for a bed. Bed manager, kind!\n\n### How it made me feel"
    assert phrases_of(body) == {"bed manager"}
    assert "what was good" not in phrases_of("### What was good\n\nHello.")
    assert phrases_of("Cup of tea’s lovely") >= {"cup of tea's", "tea's lovely"}


VERDICTS = {
    "a": {"score": 100, "advice": []},
    "b": {
        "score": 45,
        "advice": [
            {"code": "only_redirects", "message": "Your reply only points the author to PALS."},
            {"code": "no_apology", "message": "Say sorry."},
        ],
    },
    "c": {"score": 70, "advice": [{"code": "copy_paste", "message": "Alike."}, "no_apology"]},
    "d": {"score": 81, "advice": ["no_apology"]},
    "e": {},  # history imported without a check
}


def responded_with_known_verdicts(cast: Cast) -> None:
    """One response to each of a, b, c and d (c on the clinic), one without a check and one
    published before the period (its verdict would drag every figure down)."""
    plain = {"what_was_good": "Fine.", "what_could_be_improved": "Fine.", "how_it_felt": "Fine."}
    stories = {
        "a": publish(cast, criticality="severely critical", **plain),
        "b": publish(cast, criticality="mildly critical", **plain),
        "c": publish(cast, listings=[cast.clinic_a], criticality="severely critical", **plain),
        "d": publish(cast, criticality="not critical", **plain),
        "e": publish(cast, criticality="mildly critical", **plain),
        "old": publish(cast, criticality="severely critical", **plain),
    }
    verdicts = {**VERDICTS, "old": {"score": 0, "advice": [{"code": "only_redirects"}]}}
    for key, story in stories.items():
        response = respond(cast, story, ChangeStatus.NONE)
        with tenant_context(cast.org_a):
            Response.objects.filter(pk=response.pk).update(quality=verdicts[key])
    with tenant_context(cast.org_a):
        Response.objects.filter(story=stories["old"]).update(
            published_at=timezone.now() - timedelta(days=60)
        )
    # B's responses are B's own.
    b_story = tell_and_publish(cast, [cast.ward_b], criticality="severely critical")
    with tenant_context(cast.org_b):
        publish_response(
            Story.objects.get(public_id=b_story.public_story.pk),
            Draft(REPLY),
            responder=cast.responder_b,
            written_by=cast.responder_b,
        )


def test_response_quality_matches_the_stored_verdicts(cast: Cast) -> None:
    responded_with_known_verdicts(cast)
    with tenant_context(cast.org_a):
        everything = response_quality(scope_of(cast))
        ward = response_quality(scope_of(cast, service=cast.ward_a.service_id))
        severe = response_quality(
            replace(scope_of(cast), criticalities=("severely critical", "strongly critical"))
        )
    # Scores 100, 45, 70 and 81; b (only redirects) and c (copy and paste) are generic.
    assert (everything.responses, everything.assessed) == (5, 4)
    assert everything.mean_score == pytest.approx(74.0)
    assert everything.median_score == pytest.approx(75.5)
    assert everything.generic == 2 and everything.share_generic == pytest.approx(0.5)
    assert [(a.code, a.label, a.responses) for a in everything.advice] == [
        ("no_apology", LABELS["no_apology"], 3),
        ("only_redirects", LABELS["only_redirects"], 1),
        ("copy_paste", LABELS["copy_paste"], 1),
    ]
    assert LABELS["no_apology"] == "No apology for the concerns raised"
    # The ward: a, b, d and e.
    assert (ward.responses, ward.assessed, ward.generic) == (4, 3, 1)
    assert ward.mean_score == pytest.approx(226 / 3)
    assert ward.median_score == pytest.approx(81.0)
    # Severely critical stories: a and c.
    assert (severe.responses, severe.assessed, severe.generic) == (2, 2, 1)
    assert severe.mean_score == pytest.approx(85.0)


def test_the_csv_has_response_quality_and_themes_rows(cast: Cast, member_a) -> None:  # noqa: ANN001
    themed_stories(cast)
    responded_with_known_verdicts(cast)
    today = timezone.localdate()
    start = (today - timedelta(days=29)).isoformat()
    response = member_a.get(f"/reports/summary.csv?start={start}&end={today.isoformat()}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    figures = {(section, measure): value for section, measure, value in rows[1:]}
    assert figures[("response quality", "responses published")] == "5"
    assert figures[("response quality", "responses checked")] == "4"
    assert figures[("response quality", "mean score")] == "74.0"
    assert figures[("response quality", "median score")] == "75.5"
    assert figures[("response quality", "flagged generic")] == "2"
    assert figures[("response quality", "share flagged generic")] == "0.5000"
    assert figures[("response quality", f"advice: {LABELS['no_apology']}")] == "3"
    # The themed stories and the six just published for responses: ten in the period.
    assert figures[("themes", "stories read")] == "10"
    assert figures[("themes", "tags together: kind staff + waiting time")] == "3"
    assert figures[("themes", "phrase: discharge lounge")] == "3"
    assert ("themes", "phrase: waiting room") not in figures


def test_the_pdf_has_the_new_sections(cast: Cast) -> None:
    themed_stories(cast)
    responded_with_known_verdicts(cast)
    with tenant_context(cast.org_a):
        summary = stories_summary(scope_of(cast))
        content = summary_pdf(summary, title="S", organisation_name="A", period_label="P")
    reader = PdfReader(io.BytesIO(content))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "Response quality" in text and "Recurring themes" in text
    assert "Responses published 5 (4 checked)" in text
    assert "mean 74.0, median 75.5" in text
    assert f"{LABELS['only_redirects']} 1" in text
    assert "Tags given together" in text and "kind staff + waiting time 3" in text
    assert "“discharge lounge” 3" in text and "Four hours in the lounge" in text
    assert "purple elephant parade" not in text  # in one story only


def test_the_page_shows_quality_and_themes_with_story_text_escaped(cast: Cast, member_a) -> None:  # noqa: ANN001
    script = "<script>alert(1)</script> discharge"
    first = story(cast, cast.ward_a, script, "Quiet.", "Long discharge lounge wait.", tags=[KIND])
    second = story(cast, cast.ward_a, "Plain", "Calm.", "The discharge lounge.", tags=[KIND])
    respond(cast, first, ChangeStatus.NONE)
    html = member_a.get("/reports/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert 'id="figure-quality-responses">1<' in html
    themes = html[html.index('id="themes"') :]
    assert "discharge lounge" in themes and "(2 stories)" in themes
    assert "&lt;script&gt;alert(1)&lt;/script&gt; discharge" in themes
    assert f'href="/stories/{first.pk}/"' in themes and f'href="/stories/{second.pk}/"' in themes
