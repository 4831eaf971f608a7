"""Network comparison: consenting members only, from public rollups only, with small numbers
suppressed and funnel limits that match worked values."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboards.statistics import funnel_limits, funnel_position, median_hours, suppressed
from tenants.networks import (
    accept_invitation,
    create_network,
    invite_organisation,
    leave_network,
)
from tests.conftest import Cast, client_for, sign_in, tell_and_publish
from tests.dashboards.dash_client import NETWORK, call, csrf_token, result


def test_funnel_limits_match_worked_values() -> None:
    # p = 0.6, n = 100: standard error sqrt(0.6 * 0.4 / 100) = 0.04899
    limits = funnel_limits(0.6, 100)
    assert limits.lower_95 == pytest.approx(0.50398, abs=1e-5)
    assert limits.upper_95 == pytest.approx(0.69602, abs=1e-5)
    assert limits.lower_998 == pytest.approx(0.44861, abs=1e-5)
    assert limits.upper_998 == pytest.approx(0.75139, abs=1e-5)
    # p = 0.9, n = 25: se = 0.06; upper limits are clipped at 100%
    limits = funnel_limits(0.9, 25)
    assert limits.lower_95 == pytest.approx(0.78240, abs=1e-5)
    assert limits.upper_998 == 1.0
    assert limits.lower_998 == pytest.approx(0.71459, abs=1e-5)
    assert funnel_position(0.45, 0.6, 100) == "below 95% limit"
    assert funnel_position(0.44, 0.6, 100) == "below 99.8% limit"
    assert funnel_position(0.6, 0.6, 100) == "within limits"
    assert funnel_position(0.75, 0.6, 100) == "above 95% limit"
    with pytest.raises(ValueError):
        funnel_limits(0.5, 0)


def test_medians_from_buckets_and_suppression() -> None:
    # 4 answered within 1 h, 4 between 1 and 4 h: the median is the 1 h boundary.
    assert median_hours([4, 4] + [0] * 9) == pytest.approx(1.0)
    # 1 in the first bucket, 3 in 12-24 h: the 2nd of 4 lies a third into 12-24 h.
    assert median_hours([1, 0, 0, 3] + [0] * 7) == pytest.approx(12 + 12 * (1 / 3))
    assert median_hours([0] * 11) is None
    assert median_hours([0] * 10 + [5]) == 720
    assert suppressed(7) and not suppressed(8)


@pytest.fixture
def network(cast: Cast, db: None):  # noqa: ANN201
    network = create_network(lead=cast.org_a, name="Northshire Test Network")
    membership = invite_organisation(network, cast.org_b)
    return network, membership


def league_rows(client, token, network_id):  # noqa: ANN001, ANN201
    response = call(
        client,
        NETWORK,
        [("league", "data"), ("funnel", "figure")],
        [
            ("network", "value", network_id),
            ("period", "start_date", None),
            ("period", "end_date", None),
        ],
        token=token,
    )
    return result(response, "league", "data"), response


@pytest.mark.django_db
def test_the_lead_compares_consenting_members_from_public_rollups_only(
    cast: Cast, network, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    network, membership = network
    client = client_for(cast.org_a)
    sign_in(client, cast.member_a.email)
    token = csrf_token(client, NETWORK)
    rows, _ = league_rows(client, token, network.pk)
    assert rows == []  # invited, not yet a member

    accept_invitation(membership, benchmarking_consent=True)
    for _ in range(3):
        tell_and_publish(cast, [cast.ward_b], criticality="strongly critical")
    rows, _ = league_rows(client, token, network.pk)
    assert len(rows) == 1 and cast.org_b.name in rows[0]["provider"]
    assert rows[0]["stories"] == "fewer than 8"  # 3 stories: suppressed, never a number
    assert rows[0]["responded"] == "fewer than 8"

    # Published and committed: B's data version changes, so the cached league is recomputed.
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            tell_and_publish(cast, [cast.ward_b], criticality="not critical")
    with CaptureQueriesContext(connection) as captured:
        rows, response = league_rows(client, token, network.pk)
    assert rows[0]["stories"] == 8
    # 3 of 8 critical and 0 of 8 responded: as shares they would give the counts back.
    assert rows[0]["critical"] == "fewer than 8"
    assert rows[0]["responded"] == "fewer than 8"
    assert f"/organisations/{cast.org_b.slug}/" in rows[0]["provider"]
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    assert "rollups_serviceday" in sql
    assert "feedback_story" not in sql and cast.org_b.schema_name not in sql
    # Nor is it plotted: a point at 0% over 8 stories would say the same.
    funnel = json.loads(response.content)["response"]["funnel"]["figure"]
    assert not any(trace.get("name") == "Providers" for trace in funnel["data"])

    leave_network(membership)
    rows, _ = league_rows(client, token, network.pk)
    assert rows == []  # a member that left is absent


@pytest.mark.django_db
def test_members_without_consent_are_absent_and_outsiders_see_nothing(cast: Cast, network) -> None:  # noqa: ANN001
    network, membership = network
    accept_invitation(membership, benchmarking_consent=False)
    lead = client_for(cast.org_a)
    sign_in(lead, cast.member_a.email)
    token = csrf_token(lead, NETWORK)
    rows, _ = league_rows(lead, token, network.pk)
    assert rows == []

    # B is a member without consent: no comparison page for it.
    member = client_for(cast.org_b)
    sign_in(member, cast.admin_b.email)
    page = member.get(NETWORK)
    assert page.status_code == 403
    assert "does not take part in this dashboard" in page.content.decode()
    assert "Network comparison</a>" not in member.get("/dashboards/live/").content.decode()
    refused = call(
        member,
        NETWORK,
        [("league", "data"), ("funnel", "figure")],
        [
            ("network", "value", network.pk),
            ("period", "start_date", None),
            ("period", "end_date", None),
        ],
        token=member.cookies.get("csrftoken").value if member.cookies.get("csrftoken") else "x",
    )
    assert refused.status_code == 403


@pytest.mark.django_db
def test_a_consenting_member_sees_its_network_but_not_one_it_is_not_in(cast: Cast, network) -> None:  # noqa: ANN001
    network, membership = network
    accept_invitation(membership, benchmarking_consent=True)
    other = create_network(lead=cast.org_a, name="A network B is not in")
    member = client_for(cast.org_b)
    sign_in(member, cast.admin_b.email)
    token = csrf_token(member, NETWORK)
    layout = member.get(f"{NETWORK}_dash-layout").content.decode()
    assert network.name in layout and other.name not in layout
    rows, _ = league_rows(member, token, network.pk)
    assert [cast.org_b.name in r["provider"] for r in rows] == [True]
    refused = call(
        member,
        NETWORK,
        [("league", "data"), ("funnel", "figure")],
        [
            ("network", "value", other.pk),
            ("period", "start_date", None),
            ("period", "end_date", None),
        ],
        token=token,
    )
    assert refused.status_code == 204  # another network's id: nothing
