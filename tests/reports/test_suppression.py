"""Suppression that cannot be undone: no hidden count can be worked back from the total and
the cells shown, and no share is shown for a hidden count, in the committee pack (page, CSV,
PDF) and the network league table."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from dashboards.reports.committee import SUPPRESSED
from dashboards.suppression import COMPLEMENTARY, SMALL, suppress_counts
from feedback.choices import ChangeStatus
from feedback.models import Story
from feedback.responding import Draft, publish_response
from tenants.networks import accept_invitation, create_network, invite_organisation
from tests.conftest import Cast, client_for, sign_in, tell_and_publish

T = 8
REPLY = (
    "Thank you for telling us about your stay. We are sorry about the wait and have shared "
    "your story with the ward team, who have changed how beds are allocated."
)


# --- the rule, on random tables ----------------------------------------------------------


def fitting_values(result, key, total: int, undisplayed: set) -> list[int]:  # noqa: ANN001
    """Every value the hidden cell `key` could have, for a reader who sees the shown cells,
    the total and the labels ("fewer than 8" is 0..7, "suppressed" is 8 or more, a cell
    never displayed is anything)."""
    hidden = [k for k in result.values if result.hidden(k)]
    remaining = total - sum(v for k, v in result.values.items() if not result.hidden(k))

    def bounds(k):  # noqa: ANN001, ANN202
        if k in undisplayed:
            return 0, total
        if k in result.small:
            return 0, T - 1
        return T, total

    fits = []
    for value in range(bounds(key)[0], bounds(key)[1] + 1):
        others = [bounds(k) for k in hidden if k != key]
        rest = remaining - value
        if sum(lo for lo, _ in others) <= rest <= sum(hi for _, hi in others):
            fits.append(value)
    return fits


tables = st.lists(
    st.one_of(st.integers(0, T - 1), st.integers(0, 40)), min_size=1, max_size=7
).filter(lambda cells: sum(cells) >= T)


@settings(max_examples=400, deadline=None)
@given(cells=tables, with_undisplayed=st.booleans())
def test_no_hidden_count_can_be_worked_back(cells: list[int], with_undisplayed: bool) -> None:
    table = {f"cell {i}": n for i, n in enumerate(cells)}
    undisplayed = {"cell 0"} if with_undisplayed else set()
    total = sum(cells)
    result = suppress_counts(table, total, undisplayed=undisplayed)
    shown = {k: v for k, v in table.items() if not result.hidden(k)}
    hidden = [k for k in table if result.hidden(k)]
    # Every small count is hidden, and what is shown is the true count.
    assert all(result.hidden(k) for k, v in table.items() if v < T)
    assert all(result.count(k) == str(v) for k, v in shown.items() if k not in undisplayed)
    assert all(result.count(k) in (SMALL, COMPLEMENTARY) for k in hidden)
    if not result.total_shown:
        return
    # Never exactly one hidden cell: total minus the shown cells would be it.
    assert len(hidden) != 1
    for key in hidden:
        assert table[key] in fitting_values(result, key, total, undisplayed)
        assert len(fitting_values(result, key, total, undisplayed)) >= 2, (table, key)
    # A share is shown only when every count it is made from is.
    for key in table:
        assert result.shows(key) == (key in shown)


@settings(max_examples=200, deadline=None)
@given(cells=tables)
def test_a_share_of_hidden_cells_is_never_shown(cells: list[int]) -> None:
    table = {i: n for i, n in enumerate(cells)}
    result = suppress_counts(table, sum(cells))
    for first in table:
        for second in table:
            if result.shows(first, second):
                assert table[first] >= T and table[second] >= T
                assert not result.hidden(first) and not result.hidden(second)


def test_the_worked_cases() -> None:
    # One small cell among large ones: the next smallest goes with it.
    result = suppress_counts({"a": 3, "b": 10, "c": 20}, 33)
    assert [result.count(k) for k in "abc"] == [SMALL, COMPLEMENTARY, "20"]
    # Hidden cells that add up to nothing would all be zero: one more is hidden.
    result = suppress_counts({"a": 0, "b": 0, "c": 9}, 9)
    assert [result.count(k) for k in "abc"] == [SMALL, SMALL, COMPLEMENTARY]
    # Two small cells that cannot be told apart stay the only ones hidden.
    result = suppress_counts({"a": 3, "b": 4, "c": 20}, 27)
    assert [result.count(k) for k in "abc"] == [SMALL, SMALL, "20"]
    # A part and its never-shown rest: 8 of 9 responded shows the 1 that was not.
    result = suppress_counts({"yes": 8, "no": 1}, 9, undisplayed={"no"})
    assert result.count("yes") == COMPLEMENTARY and not result.shows("yes")
    result = suppress_counts({"yes": 8, "no": 8}, 16, undisplayed={"no"})
    assert result.count("yes") == "8" and result.shows("yes")
    with pytest.raises(ValueError):
        suppress_counts({"a": 3}, 4)


# --- the committee pack and the league table, on real stories -----------------------------


@pytest.fixture
def network(cast: Cast):  # noqa: ANN201
    network = create_network(lead=cast.org_a, name="Suppression Test Network")
    accept_invitation(invite_organisation(network, cast.org_b), benchmarking_consent=True)
    return network


@pytest.fixture
def lead(cast: Cast):  # noqa: ANN201
    client = client_for(cast.org_a)
    assert sign_in(client, cast.member_a.email).status_code == 302
    return client


def b_stories(cast: Cast, count: int, criticality: str) -> None:
    for _ in range(count):
        tell_and_publish(cast, [cast.ward_b], criticality=criticality)


def b_respond(cast: Cast, count: int, change: str = ChangeStatus.NONE) -> None:
    with tenant_context(cast.org_b):
        stories = list(Story.objects.filter(responses__isnull=True).order_by("pk")[:count])
        for story in stories:
            publish_response(
                story,
                Draft(
                    REPLY,
                    change,
                    "" if change == ChangeStatus.NONE else "Beds allocated each morning",
                ),
                responder=cast.responder_b,
                written_by=cast.responder_b,
            )


def pack(lead, network, cast: Cast) -> tuple[dict, str, str]:  # noqa: ANN001
    query = f"network={network.pk}&provider={cast.org_b.pk}"
    rows = list(csv.reader(io.StringIO(lead.get(f"/reports/committee.csv?{query}").text)))
    figures = {(s, m): v for s, m, v in rows[1:]}
    html = lead.get(f"/reports/committee/?{query}").content.decode()
    pdf = lead.get(f"/reports/committee.pdf?{query}").content
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    return figures, html, text


def html_value(html: str, measure: str) -> str:
    row = html.split(f"<td>{measure}</td>", 1)[1]
    return row.split('<td class="committee-figure">', 1)[1].split("</td>", 1)[0]


@pytest.mark.django_db
def test_the_pack_shows_no_share_of_a_suppressed_count(cast: Cast, network, lead) -> None:  # noqa: ANN001
    """12 stories, 1 responded with a change made, 8 strongly critical, 4 not critical: the
    old pack showed 8% responded and 8.3 changes per 100 (so 1 of 12) and 67% critical (so
    no severely critical story)."""
    b_stories(cast, 8, "strongly critical")
    b_stories(cast, 4, "not critical")
    b_respond(cast, 1, ChangeStatus.MADE)
    figures, html, text = pack(lead, network, cast)
    assert figures[("volume", "stories")] == "12"
    assert figures[("criticality", "strongly critical")] == "8"
    for measure in (
        "stories responded to",
        "share responded (%)",
        "median hours to first response",
    ):
        assert figures[("responses", measure)] == SUPPRESSED, measure
        assert html_value(html, measure.capitalize()) == SUPPRESSED, measure
    share_critical = ("criticality", "share strongly or severely critical (%)")
    assert figures[share_critical] in (SUPPRESSED, COMPLEMENTARY)
    assert figures[("changes", "changes per 100 stories")] == SUPPRESSED
    for leaked in ("(%) 8 ", "(%) 67", "stories 8.3", "Share responded (%) 8"):
        assert leaked not in f"{text} ", leaked
    assert "Share responded (%) fewer than 8" in text


@pytest.mark.django_db
def test_a_count_next_to_one_small_remainder_is_hidden_too(cast: Cast, network, lead) -> None:  # noqa: ANN001
    """9 stories, 8 responded to: showing 8 would give away the 1 not responded to, in the
    pack and in the league table (89% of 9), and on the funnel plot."""
    from tests.dashboards.dash_client import NETWORK, csrf_token
    from tests.dashboards.test_network_comparison import league_rows

    b_stories(cast, 9, "strongly critical")
    b_respond(cast, 8)
    figures, html, text = pack(lead, network, cast)
    assert figures[("volume", "stories")] == "9"
    assert figures[("responses", "stories responded to")] == COMPLEMENTARY
    assert figures[("responses", "share responded (%)")] == COMPLEMENTARY
    assert html_value(html, "Stories responded to") == COMPLEMENTARY
    assert "Stories responded to 8" not in text and "(%) 89" not in text
    # Every story strongly critical: the other criticalities are all 0, and would be known
    # to be if 9 were shown next to a total of 9.
    assert figures[("criticality", "strongly critical")] == COMPLEMENTARY
    assert all(
        v in (SUPPRESSED, COMPLEMENTARY) for (s, m), v in figures.items() if s == "criticality"
    )

    rows, response = league_rows(lead, csrf_token(lead, NETWORK), network.pk)
    assert rows[0]["stories"] == 9
    assert rows[0]["responded"] == COMPLEMENTARY and rows[0]["position"] == COMPLEMENTARY
    funnel = response.json()["response"]["funnel"]["figure"]
    assert not any(trace.get("name") == "Providers" for trace in funnel["data"])


def test_shares_are_hidden_in_the_pack_rows_when_their_counts_are(cast: Cast) -> None:
    """The rule, on the pack's own figures without a database: a provider whose one
    response is its only change shows no figure made from either."""
    from dashboards.queries import AuthorMarks, ProviderFigures
    from dashboards.reports.committee import CommitteePack

    today = timezone.localdate()
    figures = ProviderFigures(cast.org_b.pk, 20, 19, 10, 1, 5.0)
    mix = [("not critical", 10), ("strongly critical", 10)]
    built = CommitteePack(
        network=None,
        provider=cast.org_b,
        start=today - timedelta(days=30),
        end=today,
        figures=figures,
        author_marks=AuthorMarks(responses=19, helpful=9, changes_claimed=8, changes_confirmed=8),
        criticality_mix=mix,
        response_buckets=[19] + [0] * 10,
        positive_tags=[],
        negative_tags=[],
        positive_examples=[],
        critical_examples=[],
        changes=[],
    )
    values = {m: v for _, m, v in built.rows()}
    assert values["stories responded to"] == COMPLEMENTARY  # 20 - 19 = 1 not responded
    assert values["share responded (%)"] == COMPLEMENTARY
    assert values["changes per 100 stories"] == SUPPRESSED  # 1 change
    assert values["share strongly or severely critical (%)"] == "50"
    assert values["median hours to first response"] == format(5.0, ".1f")
    assert values["responses published"] == "19"
    assert values["responses marked helpful"] == "9 of 19 (47%)"  # 10 not marked: both shown
    assert values["changes claimed"] == "8"
    # 8 of 8: the 0 not confirmed would be known, whatever else is hidden.
    assert values["changes confirmed by authors"] in (SUPPRESSED, COMPLEMENTARY)
