"""A network's response standards: set by the lead's administrators only (audited), seen by
each member beside its own targets (its networks' only), and members measured against them
in the comparison and the committee pack, from public data only, small numbers suppressed,
non-consenting, departed and outside organisations never shown."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context
from pypdf import PdfReader

from dashboards.compliance import MET, NOT_MET, Compliance, member_compliance
from dashboards.network_standards import StandardsClock, set_network_standards
from dashboards.rollups.rebuilding import rebuild_rollups
from dashboards.suppression import COMPLEMENTARY, SMALL
from feedback.hub.models import PublicResponse, PublicStory, PublicStoryOrganisation
from feedback.models import Response, Story
from feedback.responding import Draft, publish_response
from tenants.audit.models import AuditEvent
from tenants.models import NetworkStandards, Organisation
from tenants.networks import (
    accept_invitation,
    create_network,
    invite_organisation,
    leave_network,
    set_benchmarking_consent,
)
from tests.conftest import Cast, client_for, sign_in, tell_and_publish
from tests.dashboards.dash_client import NETWORK, call, csrf_token, result
from tests.dashboards.public_rows import write_public_stories

UK = ZoneInfo("Europe/London")
STANDARDS = {
    "mildly critical": "7 days",
    "moderately critical": "16 hours",
    "strongly critical": "same day",
}
REPLY = (
    "Thank you for telling us about your stay. We are sorry about the wait and have shared "
    "your story with the ward team, who have changed how beds are allocated."
)


def clock(met_percent: int = 80) -> StandardsClock:
    return StandardsClock.of(NetworkStandards(allowances=STANDARDS, met_percent=met_percent))


def constructed(monday: date, org: Organisation) -> list[tuple]:
    """Stories of one member around one working week (Monday `monday`), worked by hand:

    - 10 mildly critical (7 days) published Mon 10:00, answered Wed 10:00: in time, 48 h;
    - 2 strongly critical (same day: 17:00) published Mon 10:00, answered 16:00: in time, 6 h;
    - 8 strongly critical published Tue 18:00, after hours, so due Wed 17:00; answered Thu
      09:00: late, 39 h;
    - 8 moderately critical (16 working hours) published Fri 15:00: 2 h on Friday, 8 on
      Monday, 6 on Tuesday, so due Tue 15:00 the week after; never answered: open breaches;
    - 1 not critical, answered at once: no standard for it, not measured.
    """

    def at(day: int, hour: int) -> datetime:
        return datetime.combine(monday + timedelta(days=day), datetime.min.time(), UK).replace(
            hour=hour
        )

    return [
        *[(org, "mildly critical", at(0, 10), at(2, 10)) for _ in range(10)],
        *[(org, "strongly critical", at(0, 10), at(0, 16)) for _ in range(2)],
        *[(org, "strongly critical", at(1, 18), at(3, 9)) for _ in range(8)],
        *[(org, "moderately critical", at(4, 15), None) for _ in range(8)],
        (org, "not critical", at(0, 10), at(0, 11)),
    ]


@pytest.mark.django_db
def test_compliance_of_a_constructed_set_worked_by_hand(cast: Cast) -> None:
    monday = date(2026, 11, 2)
    due_tuesday = datetime(2026, 11, 10, 15, 0, tzinfo=UK)
    assert clock().due("moderately critical", datetime(2026, 11, 6, 15, tzinfo=UK)) == due_tuesday
    write_public_stories(constructed(monday, cast.org_a))
    ids = [cast.org_a.pk, cast.org_b.pk]
    period = (monday, monday + timedelta(days=6))

    # A minute before the 16 working hours run out the 8 are not yet breaches, only waiting.
    early = member_compliance(ids, *period, clock(), due_tuesday - timedelta(minutes=1))
    assert (early[cast.org_a.pk].in_time, early[cast.org_a.pk].late) == (12, 8)
    assert early[cast.org_a.pk].open_breaches == 0

    figures = member_compliance(ids, *period, clock(), due_tuesday)
    mine = figures[cast.org_a.pk]
    assert (mine.in_time, mine.late, mine.open_breaches) == (12, 8, 8)
    assert mine.measured == 28
    # 20 answered: 6, 6, then 8 at 39 h, then 10 at 48 h: the 10th and 11th are 39 and 48.
    assert mine.median_response_hours == pytest.approx(43.5)
    assert mine.share_in_time == pytest.approx(12 / 28)
    assert mine.is_met is False  # 43% against 80%
    assert mine.shown() == {
        "measured": "28",
        "in_time": "12",
        "share": "43",
        "median": "43.5",
        "breaches": "8",
        "met": NOT_MET,
    }
    # At 40% the same member meets them.
    at_40 = member_compliance(ids, *period, clock(40), due_tuesday)
    assert at_40[cast.org_a.pk].shown()["met"] == MET
    # An organisation with no stories is measured on nothing; one not asked for is left out.
    assert figures[cast.org_b.pk].measured == 0 and figures[cast.org_b.pk].shown()["met"] == SMALL
    assert set(member_compliance([cast.org_b.pk], *period, clock(), due_tuesday)) == {cast.org_b.pk}
    assert (
        member_compliance([cast.org_b.pk], *period, clock(), due_tuesday)[cast.org_b.pk].measured
        == 0
    )
    # Outside the period nothing is counted.
    later = (monday + timedelta(days=7), monday + timedelta(days=13))
    assert member_compliance(ids, *later, clock(), due_tuesday)[cast.org_a.pk].measured == 0


def test_small_numbers_in_the_compliance_figures_are_suppressed() -> None:
    def shown(in_time: int, late: int, breaches: int, answered_hours: float = 5.0) -> dict:
        return Compliance(1, in_time, late, breaches, answered_hours, 90).shown()

    # Fewer than 8 measured: every figure, even met or not, reads "fewer than 8".
    assert set(shown(5, 1, 1).values()) == {SMALL}
    # 3 open breaches: hidden; the late count (never shown) and the breaches together are
    # 3 = 13 - 10, but which is which cannot be told, so the share may be shown.
    figures = shown(10, 0, 3)
    assert figures["breaches"] == SMALL and figures["share"] == "77" and figures["met"] == NOT_MET
    # 3 answered late of 23 measured: the 10 in time and the 10 breaches, both shown, would
    # give the 3 back (23 - 10 - 10), so the smaller shown count (the first of equals, in
    # time) is hidden as the complement, and its share with it.
    figures = shown(10, 3, 10)
    assert figures["in_time"] == COMPLEMENTARY and figures["share"] == COMPLEMENTARY
    assert figures["breaches"] == "10" and figures["measured"] == "23"
    # A median from fewer than 8 answered stories describes too few people.
    assert shown(5, 2, 9)["median"] == SMALL and shown(5, 2, 9)["share"] == SMALL


# --- through the product -------------------------------------------------------------------


@pytest.fixture
def network(cast: Cast, db: None):  # noqa: ANN201
    network = create_network(lead=cast.org_a, name="Northshire Test Network")
    membership = invite_organisation(network, cast.org_b)
    accept_invitation(membership, benchmarking_consent=True)
    return network, membership


def form(allowances: dict[str, str], prefix: str, met: int = 80) -> dict[str, str]:
    data = {f"{prefix}-met_percent": str(met)}
    for criticality in (
        "not critical",
        "minimally critical",
        "mildly critical",
        "moderately critical",
        "strongly critical",
        "severely critical",
    ):
        data[f"{prefix}-{criticality}"] = allowances.get(criticality, "")
    return data


@pytest.mark.django_db
def test_the_leads_administrator_sets_the_standards_and_it_is_audited(
    cast: Cast, network, admin_a_client
) -> None:  # noqa: ANN001
    network, _ = network
    page = admin_a_client.get("/dashboards/standards/")
    assert page.status_code == 200 and network.name in page.content.decode()

    response = admin_a_client.post(
        f"/dashboards/standards/{network.pk}/", form(STANDARDS, f"n{network.pk}", 85)
    )
    assert response.status_code == 302
    standards = NetworkStandards.objects.get(network=network)
    assert standards.allowances == STANDARDS and standards.met_percent == 85
    assert standards.changed_by == cast.admin_a.email
    with tenant_context(cast.org_a):
        event = AuditEvent.objects.get(action="network.standards_changed")
    assert event.actor_label == cast.admin_a.email
    assert event.detail["after"] == {"allowances": STANDARDS, "met_percent": 85}
    assert event.target_id == str(standards.pk)

    # Not in the members' words: refused with the reason, nothing changed.
    bad = form({**STANDARDS, "severely critical": "asap"}, f"n{network.pk}")
    refused = admin_a_client.post(f"/dashboards/standards/{network.pk}/", bad)
    assert refused.status_code == 400
    assert "same day" in refused.content.decode()
    assert NetworkStandards.objects.get(network=network).allowances == STANDARDS


@pytest.mark.django_db
def test_only_the_leads_administrators_change_them(cast: Cast, network, admin_b_client) -> None:  # noqa: ANN001
    network, _ = network
    data = form(STANDARDS, f"n{network.pk}")
    # The lead's member of staff sees them, but may not change them.
    staff = client_for(cast.org_a)
    sign_in(staff, cast.member_a.email)
    assert staff.get("/dashboards/standards/").status_code == 200
    assert staff.post(f"/dashboards/standards/{network.pk}/", data).status_code == 403
    # A member's administrator does not lead the network: no such page for it.
    assert admin_b_client.post(f"/dashboards/standards/{network.pk}/", data).status_code == 404
    assert not NetworkStandards.objects.filter(network=network).exists()
    # Nor can the operation be run from a member's workspace, or by a lead's non-admin.
    with tenant_context(cast.org_b), pytest.raises(PermissionDenied):
        set_network_standards(network, STANDARDS, met_percent=80, actor=cast.admin_b)
    with tenant_context(cast.org_a), pytest.raises(PermissionDenied):
        set_network_standards(network, STANDARDS, met_percent=80, actor=cast.member_a)
    assert not NetworkStandards.objects.filter(network=network).exists()


@pytest.mark.django_db
def test_a_member_sees_its_networks_standards_and_no_others(
    cast: Cast, network, admin_b_client
) -> None:  # noqa: ANN001
    network, membership = network
    other = create_network(lead=cast.org_a, name="Southshire Other Network")
    invite_organisation(other, cast.org_b)  # invited only: not a member
    with tenant_context(cast.org_a):
        set_network_standards(network, STANDARDS, met_percent=80, actor=cast.admin_a)
        set_network_standards(
            other, {"severely critical": "4 hours"}, met_percent=95, actor=cast.admin_a
        )
    page = admin_b_client.get("/alerts/targets/").content.decode()
    assert f"Network standard (set by {cast.org_a.name})" in page
    assert network.name in page and "16 hours" in page
    assert other.name not in page and "4 hours" not in page and "95%" not in page
    # The member's own targets are still there, and still its own to change.
    assert "Save targets" in page

    leave_network(membership)
    page = admin_b_client.get("/alerts/targets/").content.decode()
    assert "Network standard" not in page and network.name not in page


def _story(cast: Cast, published: datetime, criticality: str, answered: datetime | None) -> None:
    """A story of B's published and (perhaps) answered through the product, then dated as
    the constructed set says, in B's schema and in the public copies alike (the comparison
    reads only the public ones; the pack's other figures, B's rollups rebuilt from its own)."""
    result_ = tell_and_publish(cast, [cast.ward_b], criticality=criticality)
    PublicStory.objects.filter(pk=result_.public_story.pk).update(published_at=published)
    ((_, story_id),) = result_.stories
    with tenant_context(cast.org_b):
        Story.objects.filter(pk=story_id).update(published_at=published, due_at=None)
        if answered is not None:
            publish_response(
                Story.objects.get(pk=story_id),
                Draft(REPLY),
                responder=cast.responder_b,
                written_by=cast.responder_b,
            )
            Story.objects.filter(pk=story_id).update(first_responded_at=answered)
            Response.objects.filter(story_id=story_id).update(published_at=answered)
    if answered is not None:
        PublicResponse.objects.filter(public_story=result_.public_story).update(
            published_at=answered
        )
        PublicStoryOrganisation.objects.filter(publicstory=result_.public_story).update(
            first_responded_at=answered
        )


def compliance_rows(client, network_id: int, start: date, end: date) -> tuple[list, str]:  # noqa: ANN001
    token = csrf_token(client, NETWORK)
    response = call(
        client,
        NETWORK,
        [("compliance", "data"), ("standards", "children")],
        [
            ("network", "value", network_id),
            ("period", "start_date", start.isoformat()),
            ("period", "end_date", end.isoformat()),
        ],
        token=token,
    )
    return result(response, "compliance", "data"), result(response, "standards", "children")


@pytest.mark.django_db
def test_the_comparison_and_the_pack_show_who_meets_the_standards(cast: Cast, network) -> None:  # noqa: ANN001
    network, membership = network
    lead = client_for(cast.org_a)
    sign_in(lead, cast.member_a.email)
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday() + 28)
    start, end = monday - timedelta(days=1), monday + timedelta(days=13)

    rows, text = compliance_rows(lead, network.pk, start, end)
    assert rows == [] and "has set no response standards" in text

    with tenant_context(cast.org_a):
        set_network_standards(network, STANDARDS, met_percent=80, actor=cast.admin_a)
    for _, criticality, published_at, answered_at in constructed(monday, cast.org_b):
        _story(cast, published_at, criticality, answered_at)
    # One published two hours ago and not answered: not yet due, so not measured.
    _story(cast, timezone.now() - timedelta(hours=2), "mildly critical", None)
    rebuild_rollups(cast.org_b)

    with CaptureQueriesContext(connection) as captured:
        rows, text = compliance_rows(lead, network.pk, start, end)
    assert rows == [
        {
            "provider": cast.org_b.name,
            "measured": "28",
            "in_time": "12",
            "share": "43",
            "median": "43.5",
            "breaches": "8",
            "met": NOT_MET,
        }
    ]
    assert f"Set by {cast.org_a.name}" in text and "16 working hours" in text and "80%" in text
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    assert "hub_publicstory" in sql and "first_responded_at" in sql
    assert "feedback_story" not in sql and cast.org_b.schema_name not in sql

    # The committee pack says the same, in its page, CSV and PDF.
    query = f"network={network.pk}&provider={cast.org_b.pk}&start={start}&end={end}"
    csv_rows = list(
        csv.reader(io.StringIO(lead.get(f"/reports/committee.csv?{query}").content.decode()))
    )
    figures = {(s, m): v for s, m, v in csv_rows[1:]}
    assert figures[("network standards", "standard: strongly critical")] == "same day"
    assert figures[("network standards", "standard: moderately critical")] == "16 working hours"
    assert figures[("network standards", "stories measured")] == "28"
    assert figures[("network standards", "answered within the standard (%)")] == "43"
    assert figures[("network standards", "median hours to first response")] == "43.5"
    assert figures[("network standards", "open breaches")] == "8"
    assert figures[("network standards", "met / not met")] == NOT_MET
    page = lead.get(f"/reports/committee/?{query}").content.decode()
    assert "Met / not met" in page and NOT_MET in page
    pdf = lead.get(f"/reports/committee.pdf?{query}")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Met / not met" in " ".join(text.split())

    # Only the first Monday's 12 stories, all answered in time: the 12 beside the 12
    # measured would say none was late or breached, so the count and its share are hidden
    # (as the complement); that they meet the standard is said, never a count.
    rows, _ = compliance_rows(lead, network.pk, start, monday)
    assert rows[0]["measured"] == "12" and rows[0]["in_time"] == COMPLEMENTARY
    assert rows[0]["share"] == COMPLEMENTARY and rows[0]["breaches"] == SMALL
    assert rows[0]["met"] == MET

    # Consent withdrawn, then gone: absent from the comparison, and no pack.
    set_benchmarking_consent(membership, False)
    assert compliance_rows(lead, network.pk, start, end)[0] == []
    assert lead.get(f"/reports/committee.csv?{query}").status_code == 404
    set_benchmarking_consent(membership, True)
    leave_network(membership)
    assert compliance_rows(lead, network.pk, start, end)[0] == []


@pytest.mark.django_db
def test_an_outsider_sees_no_network_standards_nor_compliance(cast: Cast, admin_b_client) -> None:
    # A is the lead; B is in none of its networks.
    network = create_network(lead=cast.org_a, name="Northshire Test Network")
    with tenant_context(cast.org_a):
        set_network_standards(network, STANDARDS, met_percent=80, actor=cast.admin_a)
    assert "Network standard" not in admin_b_client.get("/alerts/targets/").content.decode()
    page = admin_b_client.get("/dashboards/standards/").content.decode()
    assert network.name not in page and "leads no network" in page
    assert admin_b_client.get(NETWORK).status_code == 403
    # Nor does its callback answer, with a valid CSRF token from its own workspace.
    admin_b_client.get("/alerts/targets/")
    token = admin_b_client.cookies["csrftoken"].value
    refused = call(
        admin_b_client,
        NETWORK,
        [("compliance", "data"), ("standards", "children")],
        [("network", "value", network.pk), ("period", "start_date", None)],
        token=token,
    )
    assert refused.status_code == 403
    assert b"You cannot see this dashboard." in refused.content  # refused by access, not CSRF
    with schema_context("public"):
        assert NetworkStandards.objects.count() == 1
