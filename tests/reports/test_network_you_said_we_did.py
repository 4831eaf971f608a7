"""A network's You said, we did on the hub and on the lead's own website: only the changes
of active members that agreed to be compared, from published responses only, escaped; the
embed framed only by the lead's listed sites; the snippets on the lead's workspace page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from dashboards.reports.network_you_said_we_did import default_period, months_before
from feedback.choices import ChangeStatus
from feedback.models import Story
from feedback.responding import Draft, publish_response
from tenants import gate
from tenants.embedding import set_embed_hosts
from tenants.gate import GateProvider, OrganisationStanding, Standing
from tenants.models import Network, NetworkMembership, Organisation
from tenants.networks import (
    accept_invitation,
    create_network,
    invite_organisation,
    leave_network,
    set_benchmarking_consent,
)
from tests.conftest import Cast, client_for, sign_in, tell, tell_and_publish
from tests.reports.test_reports import REPLY, publish, respond

pytestmark = pytest.mark.django_db

NAME = "Northshire <em>Test</em> Network"


def page_path(network: Network) -> str:
    return f"/networks/{network.slug}/you-said-we-did/"


def embed_path(network: Network) -> str:
    return f"/networks/{network.slug}/you-said-we-did/embed/"


def script_path(network: Network) -> str:
    return f"/networks/{network.slug}/you-said-we-did.js"


@pytest.fixture
def network(cast: Cast) -> tuple[Network, NetworkMembership]:
    """A leads the network; B is invited (not yet a member)."""
    network = create_network(lead=cast.org_a, name=NAME, description="Acute <b>providers</b>")
    return network, invite_organisation(network, cast.org_b)


def change_at_b(cast: Cast, title: str, status: str, description: str) -> None:
    told = tell_and_publish(cast, [cast.ward_b], title=title)
    with tenant_context(cast.org_b):
        publish_response(
            Story.objects.get(public_id=told.public_story.pk),
            Draft(REPLY, status, description),
            responder=cast.responder_b,
            written_by=cast.responder_b,
        )


def set_hosts(organisation: Organisation, actor: object, hosts: list[str]) -> None:
    with tenant_context(organisation):
        set_embed_hosts(organisation, hosts, actor=actor)


def test_only_active_consenting_members_changes_appear(cast: Cast, network) -> None:  # noqa: ANN001
    network, membership = network
    change_at_b(cast, "Nowhere to park", ChangeStatus.MADE, "A second car park opened")
    # The lead's own change: the lead is not a member, and it is not in the list.
    respond(cast, publish(cast, title="Bells at night"), ChangeStatus.MADE, "Call bells fixed")
    hub = client_for(None)

    def shown() -> str:
        response = hub.get(page_path(network))
        assert response.status_code == 200
        body = response.content.decode()
        assert "Call bells fixed" not in body and "Bells at night" not in body
        return body

    invited = shown()  # invited, not yet a member
    assert "second car park" not in invited and cast.org_b.name not in invited
    assert "No members of this network have agreed to appear here yet." in invited

    accept_invitation(membership, benchmarking_consent=True)
    with CaptureQueriesContext(connection) as captured:
        member = shown()
    assert "A second car park opened" in member and "Nowhere to park" in member
    assert f'<a href="/organisations/{cast.org_b.slug}/">{cast.org_b.name}</a>' in member
    # Public data only: no member's schema is opened.
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    assert cast.org_b.schema_name not in sql and "feedback_story" not in sql

    set_benchmarking_consent(membership, False)
    assert "second car park" not in shown()
    set_benchmarking_consent(membership, True)
    leave_network(membership)
    assert "second car park" not in shown()
    assert "second car park" not in hub.get(embed_path(network)).content.decode()


def test_a_member_of_another_network_only_is_absent(cast: Cast) -> None:
    # B leads its own network with A as a consenting member; A's network has no members.
    theirs = create_network(lead=cast.org_b, name="Beta network")
    accept_invitation(invite_organisation(theirs, cast.org_a), benchmarking_consent=True)
    ours = create_network(lead=cast.org_a, name="Alpha network")
    change_at_b(cast, "Nowhere to park", ChangeStatus.MADE, "A second car park opened")
    respond(cast, publish(cast, title="Bells at night"), ChangeStatus.MADE, "Call bells fixed")
    hub = client_for(None)
    body_ours = hub.get(page_path(ours)).content.decode()
    assert "second car park" not in body_ours and "Call bells" not in body_ours
    body_theirs = hub.get(page_path(theirs)).content.decode()
    assert "Call bells fixed" in body_theirs and "second car park" not in body_theirs


def test_nothing_unpublished_and_no_sign_in(cast: Cast, network) -> None:  # noqa: ANN001
    network, membership = network
    accept_invitation(membership, benchmarking_consent=True)
    change_at_b(cast, "Planned only", ChangeStatus.PLANNED, "A bigger car park, next year")
    change_at_b(cast, "Nothing changed here", ChangeStatus.NONE, "")
    tell([cast.ward_b], title="Waiting for moderation")
    hub = client_for(None)
    for path in (page_path(network), embed_path(network)):
        response = hub.get(path)
        assert response.status_code == 200  # no sign-in asked for
        body = response.content.decode()
        assert "Planned only" not in body and "bigger car park" not in body
        assert "Nothing changed here" not in body and "Waiting for moderation" not in body
        assert "No changes recorded in this period." in body


def test_text_is_escaped_everywhere(cast: Cast, network) -> None:  # noqa: ANN001
    network, membership = network
    accept_invitation(membership, benchmarking_consent=True)
    change_at_b(cast, "Bell <script>alert(1)</script>", ChangeStatus.MADE, "Bells <b>fixed</b>")
    hub = client_for(None)
    for path in (page_path(network), embed_path(network)):
        body = hub.get(path).content.decode()
        assert "Bells &lt;b&gt;fixed&lt;/b&gt;" in body and "<b>fixed</b>" not in body
        assert "Bell &lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert "<script>alert(1)" not in body
        assert "Northshire &lt;em&gt;Test&lt;/em&gt; Network" in body and "<em>Test" not in body
    page = hub.get(page_path(network)).content.decode()
    assert "Acute &lt;b&gt;providers&lt;/b&gt;" in page
    script = hub.get(script_path(network))
    assert script["Content-Type"].startswith("text/javascript")
    js = script.content.decode()
    assert "<em>" not in js and "\\u003Cem\\u003E" in js
    (src,) = [line for line in js.replace("\\u002D", "-").splitlines() if "frame.src" in line]
    assert src.startswith('  frame.src = "http://') and src.endswith(f'{embed_path(network)}";')


def frame_ancestors(response: object) -> str:
    policy = response["Content-Security-Policy"]  # type: ignore[index]
    (directive,) = [d.strip() for d in policy.split(";") if "frame-ancestors" in d]
    return directive


def test_the_embed_may_be_framed_only_by_the_leads_listed_sites(cast: Cast, network) -> None:  # noqa: ANN001
    network, membership = network
    accept_invitation(membership, benchmarking_consent=True)
    hub = client_for(None)
    # Nothing listed: nobody may frame it, as for the widget.
    embed = hub.get(embed_path(network))
    assert frame_ancestors(embed) == "frame-ancestors 'none'"
    assert embed["X-Frame-Options"] == "DENY"

    set_hosts(cast.org_a, cast.admin_a, ["www.northshire-icb.example", "*.icb.nhs.uk"])
    # The member's own widget sites have no say over the lead's embed.
    set_hosts(cast.org_b, cast.admin_b, ["www.beta-trust.example"])
    embed = hub.get(embed_path(network))
    assert embed.status_code == 200
    assert frame_ancestors(embed) == (
        "frame-ancestors 'self' www.northshire-icb.example *.icb.nhs.uk"
    )
    assert "X-Frame-Options" not in embed
    # A period the embed refuses is still the lead's frame: the message shows in place.
    refused = hub.get(embed_path(network) + "?start=nonsense")
    assert refused.status_code == 400
    assert frame_ancestors(refused) == (
        "frame-ancestors 'self' www.northshire-icb.example *.icb.nhs.uk"
    )
    # The full page is not for framing.
    page = hub.get(page_path(network))
    assert frame_ancestors(page) == "frame-ancestors 'none'"
    assert page["X-Frame-Options"] == "DENY"


def test_unknown_network_and_a_lead_without_network_features_are_not_found(
    cast: Cast,
    network,  # noqa: ANN001
) -> None:
    network, _ = network
    hub = client_for(None)
    for path in (
        "/networks/no-such-network/you-said-we-did/",
        "/networks/no-such-network/you-said-we-did/embed/",
        "/networks/no-such-network/you-said-we-did.js",
    ):
        assert hub.get(path).status_code == 404

    class WithoutNetworkFeatures(GateProvider):
        def standing_for(self, organisation: Organisation) -> OrganisationStanding:
            return OrganisationStanding(Standing.FULL, capabilities=frozenset())

    previous = gate.register_provider(WithoutNetworkFeatures())
    try:
        for path in (page_path(network), embed_path(network), script_path(network)):
            assert hub.get(path).status_code == 404
    finally:
        gate.register_provider(previous)
    assert hub.get(page_path(network)).status_code == 200


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-02-30", "Enter a valid date."),
        ("end=yesterday", "Enter a valid date."),
        ("start=2020-03-01&end=2020-02-01", "The period must start on or before its end."),
        ("end=2999-01-01", "The period cannot end after today."),
        ("start=2020-01-01&end=2021-06-01", "Choose a period of at most a year."),
        ("start=" + "9" * 5000, "Enter a valid date."),
    ],
)
def test_a_bad_period_is_a_400_with_a_message(cast: Cast, network, query, message) -> None:  # noqa: ANN001
    network, _ = network
    hub = client_for(None)
    for path in (page_path(network), embed_path(network)):
        response = hub.get(f"{path}?{query}")
        assert response.status_code == 400
        assert message in response.content.decode()


def test_the_period_chooses_the_changes(cast: Cast, network) -> None:  # noqa: ANN001
    network, membership = network
    accept_invitation(membership, benchmarking_consent=True)
    change_at_b(cast, "Nowhere to park", ChangeStatus.MADE, "A second car park opened")
    hub = client_for(None)
    today = timezone.localdate()
    start, end = default_period(today)
    default = hub.get(page_path(network)).content.decode()
    assert "A second car park opened" in default
    assert f"from {start:%-d %B %Y} to {end:%-d %B %Y}" in default
    earlier = hub.get(f"{page_path(network)}?start=2020-01-01&end=2020-03-01").content.decode()
    assert "second car park" not in earlier and "from 1 January 2020 to 1 March 2020" in earlier
    today_only = f"?start={today}&end={today}"
    assert "A second car park opened" in hub.get(page_path(network) + today_only).content.decode()
    yesterday = today - timedelta(days=1)
    before = hub.get(f"{page_path(network)}?start={yesterday}&end={yesterday}")
    assert "second car park" not in before.content.decode()


def test_two_months_back_is_calendar_months() -> None:
    from datetime import date

    assert months_before(date(2026, 4, 30), 2) == date(2026, 2, 28)
    assert months_before(date(2026, 1, 15), 2) == date(2025, 11, 15)
    assert default_period(date(2026, 3, 31)) == (date(2026, 2, 1), date(2026, 3, 31))


def test_the_leads_workspace_page_gives_the_snippets_and_no_one_elses(
    cast: Cast,
    network,  # noqa: ANN001
) -> None:
    network, membership = network
    accept_invitation(membership, benchmarking_consent=True)
    set_hosts(cast.org_a, cast.admin_a, ["www.northshire-icb.example"])
    lead = client_for(cast.org_a)
    assert sign_in(lead, cast.member_a.email).status_code == 302
    page = lead.get("/reports/network-you-said-we-did/")
    assert page.status_code == 200
    body = page.content.decode()
    assert f'{script_path(network)}" async&gt;&lt;/script&gt;' in body
    assert '&lt;iframe src="http://' in body and embed_path(network) in body
    assert "www.northshire-icb.example" in body
    assert "Change the list on the" not in body  # a member, not an administrator

    # The member's staff: their organisation leads no network, and A's is not offered.
    member = client_for(cast.org_b)
    assert sign_in(member, cast.responder_b.email).status_code == 302
    other = member.get("/reports/network-you-said-we-did/").content.decode()
    assert "Your organisation leads no network." in other
    assert network.slug not in other and "northshire-icb" not in other

    # Signed out: the sign-in page, not the snippets.
    assert client_for(cast.org_a).get("/reports/network-you-said-we-did/").status_code == 302
