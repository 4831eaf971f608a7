"""The quality committee pack: one comparable provider of a network, from public data only,
with every small number suppressed, for the lead or a consenting member and nobody else."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from dashboards import queries
from dashboards.filters import DEFAULT_DAYS
from dashboards.reports.committee import SUPPRESSED, committee_pack
from feedback.choices import ChangeStatus
from feedback.models import Story
from feedback.responding import Draft, publish_response
from tenants.networks import (
    accept_invitation,
    create_network,
    invite_organisation,
    leave_network,
    set_benchmarking_consent,
)
from tests.conftest import Cast, client_for, sign_in, tell_and_publish

pytestmark = pytest.mark.django_db

REPLY = (
    "Thank you for telling us about your stay. We are sorry about the wait and have shared "
    "your story with the ward team, who have changed how beds are allocated."
)


@pytest.fixture
def network(cast: Cast):  # noqa: ANN201
    network = create_network(lead=cast.org_a, name="Northshire Test Network")
    membership = invite_organisation(network, cast.org_b)
    accept_invitation(membership, benchmarking_consent=True)
    return network, membership


@pytest.fixture
def lead(cast: Cast):  # noqa: ANN201
    client = client_for(cast.org_a)
    assert sign_in(client, cast.member_a.email).status_code == 302
    return client


def b_stories(cast: Cast, count: int, **kwargs: object) -> None:
    for _ in range(count):
        tell_and_publish(cast, [cast.ward_b], **kwargs)


def pack_url(network, cast: Cast, kind: str = "committee/", **extra: str) -> str:  # noqa: ANN001
    query = f"network={network.pk}&provider={cast.org_b.pk}"
    for key, value in extra.items():
        query += f"&{key}={value}"
    return f"/reports/{kind}?{query}"


def csv_figures(response) -> dict:  # noqa: ANN001
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "measure", "value"]
    return {(s, m): v for s, m, v in rows[1:]}


def test_the_pack_figures_are_the_network_comparison_figures(cast: Cast, network, lead) -> None:  # noqa: ANN001
    network, _ = network
    waiting = ["what could be improved:waiting time"]
    b_stories(cast, 8, criticality="strongly critical", tags=waiting)
    b_stories(cast, 4, criticality="not critical", title="Kind & <b>caring</b> staff")
    with tenant_context(cast.org_b):
        story = Story.objects.filter(criticality="strongly critical").first()
        publish_response(
            story,
            Draft(REPLY, ChangeStatus.MADE, "Beds allocated each morning"),
            responder=cast.responder_b,
            written_by=cast.responder_b,
        )
    today = timezone.localdate()
    start = today - timedelta(days=DEFAULT_DAYS - 1)
    expected = queries.provider_figures([cast.org_b.pk], start, today)[cast.org_b.pk]
    assert expected.stories == 12
    with CaptureQueriesContext(connection) as captured:
        response = lead.get(pack_url(network, cast, "committee.csv"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment; filename=")
    figures = csv_figures(response)
    assert figures[("volume", "stories")] == str(expected.stories)
    assert figures[("responses", "stories responded to")] == SUPPRESSED  # 1, under 8
    # Shares of suppressed counts would give them back: 8% of 12 is the 1 response, 8.3
    # changes per 100 the 1 change, and 67% critical (8 of 12, 8 of them strongly) says no
    # story was severely critical. So they are suppressed too.
    assert figures[("responses", "share responded (%)")] == SUPPRESSED
    assert figures[("criticality", "share strongly or severely critical (%)")] == SUPPRESSED
    assert figures[("changes", "changes per 100 stories")] == SUPPRESSED
    assert figures[("criticality", "strongly critical")] == "8"
    assert figures[("criticality", "not critical")] == SUPPRESSED  # 4
    assert figures[("negative tags", "waiting time")] == "8"
    # Only public data: the rollups and the published copies, never B's schema.
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    assert "rollups_serviceday" in sql
    assert "feedback_story" not in sql and cast.org_b.schema_name not in sql

    html = lead.get(pack_url(network, cast)).content.decode()
    assert cast.org_b.name in html and "Beds allocated each morning" in html
    assert "Kind &amp; &lt;b&gt;caring&lt;/b&gt; staff" in html

    pdf = lead.get(pack_url(network, cast, "committee.pdf"))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = " ".join(
        " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages).split()
    )
    assert cast.org_b.name in text and network.name in text
    assert "Stories 12" in text and "Kind & <b>caring</b> staff" in text
    assert f"{start:%-d %b %Y} to {today:%-d %b %Y}" in text


# A date as the pack prints it: "7 Dec 2026", "2026-12-07".
DATE = re.compile(r"\b\d{1,2} [A-Z][a-z]{2,8} \d{4}\b|\b\d{4}-\d{2}-\d{2}\b")


def test_a_provider_with_fewer_than_8_stories_shows_no_number(cast: Cast, network, lead) -> None:  # noqa: ANN001
    network, _ = network
    b_stories(cast, 7, criticality="strongly critical", title="Seven of them")
    with tenant_context(cast.org_a):
        pack = committee_pack(
            network, cast.org_b, timezone.localdate() - timedelta(days=30), timezone.localdate()
        )
    assert pack.suppressed
    values = [v for s, _, v in pack.rows() if s != "period"]
    assert values and all(v == SUPPRESSED for v in values)
    csv_values = csv_figures(lead.get(pack_url(network, cast, "committee.csv")))
    assert all(v == SUPPRESSED for (s, _), v in csv_values.items() if s != "period")
    html = lead.get(pack_url(network, cast)).content.decode()
    assert "Seven of them" not in html and ">7<" not in html
    pdf = lead.get(pack_url(network, cast, "committee.pdf")).content
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    # Dates (the period, when the pack was made) may hold a 7 of their own: not a count.
    text = DATE.sub("[date]", " ".join(text.split()))
    assert "Seven of them" not in text and " 7 " not in f" {text} "


def test_only_comparable_members_and_permitted_viewers(cast: Cast, network, lead) -> None:  # noqa: ANN001
    network, membership = network
    b_stories(cast, 8, criticality="strongly critical")
    assert lead.get(pack_url(network, cast)).status_code == 200
    # The lead itself is not a member of its network: not a provider one can choose.
    own = f"/reports/committee/?network={network.pk}&provider={cast.org_a.pk}"
    assert lead.get(own).status_code == 404
    for bad in ("network=abc&provider=1", "provider=1", f"network={network.pk + 99}&provider=1"):
        assert lead.get(f"/reports/committee/?{bad}").status_code == 404
    assert lead.get(pack_url(network, cast, start="nonsense")).status_code == 400
    assert lead.get(pack_url(network, cast, "committee.csv", end="2999-01-01")).status_code == 400

    set_benchmarking_consent(membership, False)
    for kind in ("committee/", "committee.csv", "committee.pdf"):
        assert lead.get(pack_url(network, cast, kind)).status_code == 404, kind
    set_benchmarking_consent(membership, True)
    assert lead.get(pack_url(network, cast)).status_code == 200
    leave_network(membership)
    for kind in ("committee/", "committee.csv", "committee.pdf"):
        assert lead.get(pack_url(network, cast, kind)).status_code == 404, kind


def test_a_member_without_consent_or_an_outsider_sees_no_pack(cast: Cast) -> None:
    # B leads; A is a member that has not agreed to be compared: A sees nothing of B's.
    network = create_network(lead=cast.org_b, name="B's network")
    accept_invitation(invite_organisation(network, cast.org_a), benchmarking_consent=False)
    member = client_for(cast.org_a)
    sign_in(member, cast.member_a.email)
    url = f"/reports/committee/?network={network.pk}&provider={cast.org_b.pk}"
    assert member.get(url).status_code == 404
    anonymous = client_for(cast.org_a)
    for kind in ("committee/", "committee.csv", "committee.pdf"):
        response = anonymous.get(f"/reports/{kind}?network={network.pk}&provider=1")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_league_table_links_each_provider_to_its_pack(cast: Cast, network, lead) -> None:  # noqa: ANN001
    from tests.dashboards.dash_client import NETWORK, csrf_token
    from tests.dashboards.test_network_comparison import league_rows

    network, _ = network
    rows, _ = league_rows(lead, csrf_token(lead, NETWORK), network.pk)
    link = rows[0]["pack"]
    assert f"/reports/committee/?network={network.pk}&provider={cast.org_b.pk}&start=" in link
    url = link[link.index("(") + 1 : -1]
    assert lead.get(url).status_code == 200
