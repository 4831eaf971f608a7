"""Authors' marks on responses (helpful or not; a claimed change happened or not), counted
with their denominators in the stories summary (page, CSV, PDF) and the committee pack (with
small numbers suppressed), over the period and services the other figures use, and never
another organisation's."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from dashboards import queries
from dashboards.reports.committee import SUPPRESSED, committee_pack
from dashboards.suppression import COMPLEMENTARY
from feedback.choices import ChangeStatus
from feedback.followup import confirm_change, mark_helpful
from feedback.hub.models import PublicResponse, ServiceListing
from feedback.models import Response, Story
from feedback.responding import Draft, ResponseToImport, import_responses, publish_response
from tenants.accounts.models import User
from tenants.models import Organisation
from tenants.networks import accept_invitation, create_network, invite_organisation
from tests.conftest import Cast, client_for, sign_in, tell_and_publish

pytestmark = pytest.mark.django_db

REPLY = (
    "Thank you for telling us about your stay on the ward. I am sorry the wait for a bed was "
    "so long; we have shared your story with the ward team and the discharge coordinator."
)
HELPFUL, NOT_HELPFUL = True, False


def respond(
    cast: Cast,
    organisation: Organisation,
    listing: ServiceListing,
    responder: User,
    *,
    change: str = ChangeStatus.NONE,
    criticality: str = "mildly critical",
    days_ago: int = 0,
) -> PublicResponse:
    """A published story and its organisation's response (imported `days_ago` days back, as
    history is, when not today); returns the response's public copy, which authors mark."""
    published = tell_and_publish(cast, [listing], criticality=criticality)
    draft = Draft(REPLY, change, "" if change == ChangeStatus.NONE else "Beds allocated daily")
    with tenant_context(organisation):
        story = Story.objects.get(public_id=published.public_story.pk)
        if days_ago:
            at = timezone.now() - timedelta(days=days_ago)
            import_responses([ResponseToImport(story, responder, draft, at)])
            response = Response.objects.filter(story=story).latest("pk")
        else:
            response = publish_response(story, draft, responder=responder, written_by=responder)
    return PublicResponse.objects.select_related("organisation").get(pk=response.public_id)


def mark(response: PublicResponse, helpful: bool | None = None, happened: bool | None = None):  # noqa: ANN201
    """What the author says through their link, as the hub's author page does."""
    if helpful is not None:
        mark_helpful(response, helpful)
    if happened is not None:
        confirm_change(response, happened)


@dataclass(frozen=True)
class MarkedSet:
    # Expected for A over the last 30 days, all services: 3 of 6 responses marked helpful,
    # 2 of 4 changes claimed confirmed.
    ward_only: queries.AuthorMarks
    everything: queries.AuthorMarks


def build_marked_set(cast: Cast) -> MarkedSet:
    a = (cast.org_a, cast.ward_a, cast.responder_a)
    mark(respond(cast, *a, criticality="not critical"), HELPFUL)
    mark(respond(cast, *a), NOT_HELPFUL)
    mark(respond(cast, *a, change=ChangeStatus.MADE), HELPFUL, happened=True)
    mark(respond(cast, *a, change=ChangeStatus.PLANNED), happened=False)  # denied
    respond(cast, *a, change=ChangeStatus.MADE)  # the author has not said
    # Another service of A's.
    clinic = (cast.org_a, cast.clinic_a, cast.responder_a)
    mark(respond(cast, *clinic, change=ChangeStatus.MADE), HELPFUL, happened=True)
    # Outside the period: answered 60 days ago.
    mark(respond(cast, *a, change=ChangeStatus.MADE, days_ago=60), HELPFUL, happened=True)
    # Another organisation's, on its own ward (whose id in B's schema may be the ward's in A's).
    b = (cast.org_b, cast.ward_b, cast.responder_b)
    mark(respond(cast, *b, change=ChangeStatus.MADE), HELPFUL, happened=True)
    mark(respond(cast, *b), HELPFUL)
    return MarkedSet(
        ward_only=queries.AuthorMarks(
            responses=5, helpful=2, changes_claimed=3, changes_confirmed=1
        ),
        everything=queries.AuthorMarks(
            responses=6, helpful=3, changes_claimed=4, changes_confirmed=2
        ),
    )


def last_30_days(organisation: Organisation, **kwargs: object) -> queries.Scope:
    today = timezone.localdate()
    return queries.Scope(organisation.pk, today - timedelta(days=29), today, **kwargs)


def test_marks_are_counted_in_the_period_service_and_criticality(cast: Cast) -> None:
    expected = build_marked_set(cast)
    assert queries.author_marks(last_30_days(cast.org_a)) == expected.everything
    ward = last_30_days(cast.org_a, service_ids=(cast.ward_a.service_id,))
    assert queries.author_marks(ward) == expected.ward_only
    not_critical = last_30_days(cast.org_a, criticalities=("not critical",))
    assert queries.author_marks(not_critical) == queries.AuthorMarks(1, 1, 0, 0)
    # A longer period takes in the response answered 60 days ago.
    today = timezone.localdate()
    longer = queries.Scope(cast.org_a.pk, today - timedelta(days=89), today)
    assert queries.author_marks(longer) == queries.AuthorMarks(7, 4, 5, 3)
    shares = queries.author_marks(last_30_days(cast.org_a))
    assert shares.share_helpful == 0.5 and shares.share_confirmed == 0.5


def test_another_organisations_marks_are_never_counted(cast: Cast) -> None:
    build_marked_set(cast)
    assert queries.author_marks(last_30_days(cast.org_b)) == queries.AuthorMarks(2, 2, 1, 1)
    # B's service ids, asked for as A's, select none of B's responses.
    b_ids = tuple(
        ServiceListing.objects.filter(organisation=cast.org_b).values_list("service_id", flat=True)
    )
    as_a = queries.author_marks(last_30_days(cast.org_a, service_ids=b_ids))
    ward_named = 5 if cast.ward_a.service_id in b_ids else 0
    clinic_named = 1 if cast.clinic_a.service_id in b_ids else 0
    assert as_a.responses == ward_named + clinic_named  # only A's own, under a shared id
    for organisation in (cast.org_a, cast.org_b):
        with tenant_context(organisation):
            # Whichever schema is active, the figures are the scope's organisation's.
            assert queries.author_marks(last_30_days(cast.org_a)).responses == 6


@pytest.fixture
def member_a(cast: Cast):  # noqa: ANN201
    client = client_for(cast.org_a)
    assert sign_in(client, cast.member_a.email).status_code == 302
    return client


def test_the_summary_page_csv_and_pdf_show_the_marks_as_shares(cast: Cast, member_a) -> None:  # noqa: ANN001
    build_marked_set(cast)
    today = timezone.localdate()
    period = f"start={today - timedelta(days=29)}&end={today}"

    rows = list(
        csv.reader(io.StringIO(member_a.get(f"/reports/summary.csv?{period}").content.decode()))
    )
    figures = {(s, m): v for s, m, v in rows[1:]}
    assert figures[("authors' marks", "responses published")] == "6"
    assert figures[("authors' marks", "responses marked helpful")] == "3"
    assert figures[("authors' marks", "share marked helpful")] == "0.5000"
    assert figures[("authors' marks", "changes claimed")] == "4"
    assert figures[("authors' marks", "changes confirmed by authors")] == "2"
    assert figures[("authors' marks", "share confirmed")] == "0.5000"
    ward = list(
        csv.reader(
            io.StringIO(
                member_a.get(
                    f"/reports/summary.csv?{period}&service={cast.ward_a.service_id}"
                ).content.decode()
            )
        )
    )
    ward_figures = {(s, m): v for s, m, v in ward[1:]}
    assert ward_figures[("authors' marks", "responses marked helpful")] == "2"
    assert ward_figures[("authors' marks", "changes confirmed by authors")] == "1"

    html = member_a.get(f"/reports/?{period}").content.decode()
    assert "3 of 6 responses published in the period (50%)" in html
    assert "2 of 4 changes claimed in them (50%)" in html

    pdf = member_a.get(f"/reports/summary.pdf?{period}")
    assert pdf.status_code == 200
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages).split()
    )
    assert "Responses marked helpful by their authors 3 of 6 responses published (50%)" in text
    assert "Changes confirmed by authors 2 of 4 changes claimed (50%)" in text


def b_responses(cast: Cast, count: int, **kwargs: object) -> list[PublicResponse]:
    return [
        respond(cast, cast.org_b, cast.ward_b, cast.responder_b, **kwargs) for _ in range(count)
    ]


def pack_figures(client, network, cast: Cast) -> tuple[dict, str, str]:  # noqa: ANN001
    query = f"network={network.pk}&provider={cast.org_b.pk}"
    rows = list(
        csv.reader(io.StringIO(client.get(f"/reports/committee.csv?{query}").content.decode()))
    )
    pdf = client.get(f"/reports/committee.pdf?{query}").content
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    html = client.get(f"/reports/committee/?{query}").content.decode()
    return {(s, m): v for s, m, v in rows[1:]}, text, html


def test_the_committee_pack_shows_each_members_marks_with_small_numbers_suppressed(
    cast: Cast,
) -> None:
    network = create_network(lead=cast.org_a, name="Marks Test Network")
    accept_invitation(invite_organisation(network, cast.org_b), benchmarking_consent=True)
    lead = client_for(cast.org_a)
    assert sign_in(lead, cast.member_a.email).status_code == 302
    plain = b_responses(cast, 8)
    changes = b_responses(cast, 8, change=ChangeStatus.MADE)
    for response in plain:
        mark(response, HELPFUL)
    for response in changes[:3]:
        mark(response, happened=True)
    for response in changes[3:5]:
        mark(response, happened=False)

    figures, text, html = pack_figures(lead, network, cast)
    assert figures[("authors' marks", "responses published")] == "16"
    assert figures[("authors' marks", "responses marked helpful")] == "8 of 16 (50%)"
    assert figures[("authors' marks", "changes claimed")] == "8"
    # 3 confirmed: under 8, so neither it nor its share is shown.
    assert figures[("authors' marks", "changes confirmed by authors")] == SUPPRESSED
    assert "Responses marked helpful 8 of 16 (50%)" in text
    assert "Changes confirmed by authors fewer than 8" in text
    assert "8 of 16 (50%)" in html

    # 4 more marked helpful: 12 of 16 would give away the 4 that are not.
    for response in changes[:4]:
        mark(response, HELPFUL)
    figures, text, _ = pack_figures(lead, network, cast)
    assert figures[("authors' marks", "responses marked helpful")] == COMPLEMENTARY
    assert "12 of 16" not in text

    # A's own marks never reach B's pack.
    mark(respond(cast, cast.org_a, cast.ward_a, cast.responder_a), HELPFUL)
    with tenant_context(cast.org_a):
        today = timezone.localdate()
        pack = committee_pack(network, cast.org_b, today - timedelta(days=30), today)
    assert pack.author_marks == queries.AuthorMarks(16, 12, 8, 3)
