"""The fuller committee pack: recurring themes, response quality and changes made from the
provider's published copies, and the lead's action plan, shown to the lead and to the
provider itself, never to another member, and edited only by the lead's staff."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from dashboards.filters import DEFAULT_DAYS
from dashboards.models import CommitteeAction
from dashboards.queries import Scope
from dashboards.reports.committee import SUPPRESSED, committee_pack
from dashboards.reports.response_quality import response_quality
from feedback.choices import ChangeStatus
from feedback.models import Story
from feedback.responding import Draft, publish_response
from tenants.audit.models import AuditEvent
from tenants.networks import (
    accept_invitation,
    create_network,
    invite_organisation,
    set_benchmarking_consent,
)
from tests.conftest import Cast, client_for, sign_in, tell_and_publish

pytestmark = pytest.mark.django_db

PAIR = ["what could be improved:waiting time", "what was good:kind staff"]
PARKING = "Parking charges confusing."
REPLIES = [
    "Thank you for telling us about the parking. We are sorry it was confusing and the "
    "estates team has put clearer signs at both entrances of the car park this week.",
    "We are grateful you wrote to us. The waiting time you describe is longer than it should "
    "be, and the ward manager has changed how beds are allocated each morning.",
    "Thank you. The clinic now phones patients the day before to confirm the time and to "
    "explain the charges, and we have asked reception to give everyone the leaflet.",
    "We are sorry that the wait was so long. The emergency department has added a second "
    "triage nurse in the evenings, when most people arrive, to shorten the wait.",
]


@pytest.fixture
def network(cast: Cast):  # noqa: ANN201
    network = create_network(lead=cast.org_a, name="Northshire Test Network")
    membership = invite_organisation(network, cast.org_b)
    accept_invitation(membership, benchmarking_consent=True)
    return network, membership


def signed_in(organisation, email: str):  # noqa: ANN001, ANN201
    client = client_for(organisation)
    assert sign_in(client, email).status_code == 302
    return client


@pytest.fixture
def lead(cast: Cast):  # noqa: ANN201
    return signed_in(cast.org_a, cast.member_a.email)


def pack_url(network, provider, kind: str = "committee/") -> str:  # noqa: ANN001
    return f"/reports/{kind}?network={network.pk}&provider={provider.pk}"


def actions_url(network, member) -> str:  # noqa: ANN001
    return f"/reports/committee/actions/?network={network.pk}&member={member.pk}"


def csv_figures(response) -> dict:  # noqa: ANN001
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "measure", "value"]
    return {(s, m): v for s, m, v in rows[1:]}


def pdf_text(response) -> str:  # noqa: ANN001
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(response.content)).pages
    return " ".join(" ".join(p.extract_text() for p in pages).split())


def twelve_stories_with_replies(cast: Cast) -> None:
    """B: 8 stories with the tag pair and the parking phrase, 4 with a phrase of their own;
    8 of them answered, one change made and one planned."""
    for _ in range(8):
        tell_and_publish(
            cast,
            [cast.ward_b],
            tags=PAIR,
            what_was_good=PARKING,
            what_could_be_improved="Nothing.",
            how_it_felt="Fine.",
        )
    for _ in range(4):
        tell_and_publish(
            cast,
            [cast.ward_b],
            what_was_good="Signage unclear everywhere.",
            what_could_be_improved="Nothing.",
            how_it_felt="Fine.",
        )
    with tenant_context(cast.org_b):
        stories = list(Story.objects.order_by("pk"))[:8]
        for i, story in enumerate(stories):
            change = (ChangeStatus.NONE, "")
            if i == 0:
                change = (ChangeStatus.MADE, "Beds allocated each morning")
            elif i == 1:
                change = (ChangeStatus.PLANNED, "New signage planned")
            publish_response(
                story,
                Draft(REPLIES[i % len(REPLIES)], *change),
                responder=cast.responder_b,
                written_by=cast.responder_b,
            )


def test_themes_quality_and_changes_made_from_the_published_copies(
    cast: Cast,
    network,  # noqa: ANN001
    lead,  # noqa: ANN001
) -> None:
    network, _ = network
    twelve_stories_with_replies(cast)
    today = timezone.localdate()
    start = today - timedelta(days=DEFAULT_DAYS - 1)
    with tenant_context(cast.org_b):
        stored = response_quality(Scope(organisation_id=cast.org_b.pk, start=start, end=today))
    assert stored.responses == 8 and stored.mean_score is not None

    with CaptureQueriesContext(connection) as captured:
        response = lead.get(pack_url(network, cast.org_b, "committee.csv"))
    assert response.status_code == 200
    figures = csv_figures(response)
    # Recurring themes: the pair and the phrase in 8 stories; the phrase in 4 is not named.
    assert figures[("recurring themes", "tags together: kind staff + waiting time")] == "8"
    assert figures[("recurring themes", "phrase: parking charges confusing")] == "8"
    assert not any("signage unclear" in m for _, m in figures)
    # Response quality: the check run again on the published replies gives the verdicts
    # stored with them in B's own schema.
    assert figures[("response quality", "responses checked")] == "8"
    assert figures[("response quality", "mean quality score (out of 100)")] == format(
        stored.mean_score, ".0f"
    )
    assert figures[("response quality", "median quality score (out of 100)")] == format(
        stored.median_score, ".0f"
    )
    # One change made: a count under 8.
    assert figures[("changes made", "you said, we did: changes made")] == SUPPRESSED
    # Only public data: never B's schema.
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    assert "feedback_story" not in sql and cast.org_b.schema_name not in sql

    html = lead.get(pack_url(network, cast.org_b)).content.decode()
    assert "Recurring themes" in html and "kind staff + waiting time" in html
    assert "“parking charges confusing”" in html and "signage unclear" not in html
    made = html[html.index("You said, we did: changes made") : html.index("Changes planned")]
    assert "Beds allocated each morning" in made and "New signage planned" not in made
    assert "Parking charges confusing" in made  # what the story said
    assert "New signage planned" in html[html.index("Changes planned") :]

    text = pdf_text(lead.get(pack_url(network, cast.org_b, "committee.pdf")))
    assert "Recurring themes" in text and "Tags together: kind staff + waiting time" in text
    assert "Phrase: parking charges confusing (8 stories)" in text
    assert "Responses checked 8" in text
    assert f"Mean quality score (out of 100) {stored.mean_score:.0f}" in text
    assert "We did: Beds allocated each morning" in text and "Planned: New signage" in text


def test_a_suppressed_pack_names_no_theme_and_no_score(cast: Cast, network, lead) -> None:  # noqa: ANN001
    network, _ = network
    for _ in range(7):
        tell_and_publish(cast, [cast.ward_b], tags=PAIR, what_was_good=PARKING)
    figures = csv_figures(lead.get(pack_url(network, cast.org_b, "committee.csv")))
    assert not any(s == "recurring themes" for s, _ in figures)
    assert figures[("response quality", "responses checked")] == SUPPRESSED
    assert figures[("response quality", "mean quality score (out of 100)")] == SUPPRESSED
    assert figures[("changes made", "you said, we did: changes made")] == SUPPRESSED
    html = lead.get(pack_url(network, cast.org_b)).content.decode()
    assert "parking charges" not in html.lower() and "Recurring themes" not in html


def form(prefix: str, **values: str) -> dict:
    fields = {"action": "", "owner": "", "due_on": "", "status": "open", "note": ""}
    fields.update(values)
    return {f"{prefix}-{k}": v for k, v in fields.items()}


def add(client, network, member, **values: str):  # noqa: ANN001, ANN201
    data = {"network": network.pk, "member": member.pk, **form("new", **values)}
    return client.post(actions_url(network, member), data)


def test_the_lead_adds_changes_and_removes_actions_with_audit_rows(
    cast: Cast,
    network,  # noqa: ANN001
    lead,  # noqa: ANN001
) -> None:
    network, _ = network
    due = (timezone.localdate() + timedelta(days=14)).isoformat()
    page = lead.get(actions_url(network, cast.org_b))
    assert page.status_code == 200 and "No actions recorded" in page.content.decode()
    # The pack links to the plan for the lead.
    pack = lead.get(pack_url(network, cast.org_b)).content.decode()
    assert f"/reports/committee/actions/?network={network.pk}&amp;member={cast.org_b.pk}" in pack

    response = add(
        lead,
        network,
        cast.org_b,
        action="Review discharge letters",
        owner="Head of patient experience",
        due_on=due,
        note="Agreed at the March committee",
    )
    assert response.status_code == 302
    with tenant_context(cast.org_a):
        row = CommitteeAction.objects.get()
        assert (row.network_id, row.member_id, row.status) == (network.pk, cast.org_b.pk, "open")
        assert row.created_by == cast.member_a
        event = AuditEvent.objects.get(action="dashboards.committee_action")
        assert event.target_id == str(row.pk) and event.actor == cast.member_a
    # Kept in the lead's schema, not the member's.
    with tenant_context(cast.org_b):
        assert not CommitteeAction.objects.exists()

    # Bad input: 400 with the reason, nothing saved.
    bad = [
        {"action": "", "owner": "Matron", "due_on": due},
        {"action": "Fix it", "owner": "", "due_on": due},
        {"action": "Fix it", "owner": "Matron", "due_on": "31/02/2026"},
        {"action": "Fix it", "owner": "Matron", "due_on": due, "status": "maybe"},
        {"action": "x" * 301, "owner": "Matron", "due_on": due},
        {"action": "   ", "owner": "Matron", "due_on": due},
    ]
    for values in bad:
        refused = add(lead, network, cast.org_b, **values)
        assert refused.status_code == 400, values
        assert "errorlist" in refused.content.decode(), values
    with tenant_context(cast.org_a):
        assert CommitteeAction.objects.count() == 1

    change_url = f"/reports/committee/actions/{row.pk}/"
    base = {"network": network.pk, "member": cast.org_b.pk}
    done = form(
        f"a{row.pk}",
        action="Review discharge letters",
        owner="Head of patient experience",
        due_on=due,
        status="done",
        note="Letters rewritten",
    )
    assert lead.post(change_url, {**base, **done}).status_code == 302
    refused = lead.post(change_url, {**base, **form(f"a{row.pk}", action="x", owner="y")})
    assert refused.status_code == 400
    with tenant_context(cast.org_a):
        row.refresh_from_db()
        assert (row.status, row.note) == ("done", "Letters rewritten")
        changed = AuditEvent.objects.filter(action="dashboards.committee_action").latest("pk")
        assert changed.detail["was"] == "open" and changed.detail["status"] == "done"
    assert lead.post("/reports/committee/actions/999999/", {**base, **done}).status_code == 404

    assert lead.post(change_url, {**base, "remove": "1"}).status_code == 302
    with tenant_context(cast.org_a):
        assert not CommitteeAction.objects.exists()
        assert AuditEvent.objects.filter(action="dashboards.committee_action").count() == 3


def test_the_next_pack_shows_each_action_and_flags_the_overdue(
    cast: Cast,
    network,  # noqa: ANN001
    lead,  # noqa: ANN001
) -> None:
    network, _ = network
    today = timezone.localdate()
    for action, due, status in [
        ("Call back the family", today - timedelta(days=3), "open"),
        ("Audit the ward rounds", today + timedelta(days=10), "open"),
        ("Publish the new leaflet", today - timedelta(days=20), "done"),
    ]:
        response = add(
            lead, network, cast.org_b, action=action, owner="Matron", due_on=due.isoformat()
        )
        assert response.status_code == 302
        if status == "done":
            with tenant_context(cast.org_a):
                CommitteeAction.objects.filter(action=action).update(status="done")
    # Closed long before the period: not in the pack any more.
    with tenant_context(cast.org_a):
        CommitteeAction.objects.create(
            network_id=network.pk,
            member_id=cast.org_b.pk,
            action="An old dropped action",
            owner="Matron",
            due_on=today - timedelta(days=400),
            status="dropped",
            updated_at=timezone.now() - timedelta(days=400),
        )

    figures = csv_figures(lead.get(pack_url(network, cast.org_b, "committee.csv")))
    plan = {m: v for (s, m), v in figures.items() if s == "action plan"}
    overdue = f"Call back the family (owner: Matron; due {today - timedelta(days=3):%-d %b %Y})"
    assert plan[overdue] == "Open, overdue"
    assert (
        plan[f"Audit the ward rounds (owner: Matron; due {today + timedelta(days=10):%-d %b %Y})"]
        == "Open"
    )
    assert (
        plan[f"Publish the new leaflet (owner: Matron; due {today - timedelta(days=20):%-d %b %Y})"]
        == "Done"
    )
    assert len(plan) == 3  # not the old dropped one

    html = lead.get(pack_url(network, cast.org_b)).content.decode()
    assert '<tr class="overdue"><td>Call back the family</td>' in html
    assert "Open, overdue" in html and "An old dropped action" not in html
    text = pdf_text(lead.get(pack_url(network, cast.org_b, "committee.pdf")))
    assert "Action plan" in text and "Call back the family (Open, overdue)" in text
    assert "Audit the ward rounds (Open)" in text and "Publish the new leaflet (Done)" in text
    assert f"Owner at {cast.org_b.name}: Matron" in text


def test_a_member_sees_only_its_own_actions_and_cannot_edit_the_plan(
    cast: Cast,
    network,  # noqa: ANN001
    lead,  # noqa: ANN001
) -> None:
    from tests.feedback.test_network_discussion import third_member

    network, membership = network
    gamma, _ = third_member(network)
    due = (timezone.localdate() + timedelta(days=7)).isoformat()
    assert (
        add(
            lead, network, cast.org_b, action="B's own action", owner="Matron", due_on=due
        ).status_code
        == 302
    )
    assert (
        add(
            lead, network, gamma, action="Gamma's secret action", owner="Director", due_on=due
        ).status_code
        == 302
    )

    # B sees its own plan in its own pack, read-only, and never Gamma's.
    b = signed_in(cast.org_b, cast.admin_b.email)
    own = b.get(pack_url(network, cast.org_b)).content.decode()
    assert "B&#x27;s own action" in own and "Gamma" not in own.split("Action plan")[1]
    assert "Edit the action plan" not in own
    for kind in ("committee.csv", "committee.pdf"):
        body = b.get(pack_url(network, cast.org_b, kind)).content
        text = (
            pdf_text(b.get(pack_url(network, cast.org_b, kind)))
            if kind.endswith("pdf")
            else body.decode()
        )
        assert "B's own action" in text and "Gamma's secret action" not in text, kind
    # B may see Gamma's pack (both consent to comparison), but not Gamma's actions.
    for kind in ("committee/", "committee.csv"):
        body = b.get(pack_url(network, gamma, kind)).content.decode()
        assert "secret action" not in body and "Action plan" not in body, kind
    assert "secret action" not in pdf_text(b.get(pack_url(network, gamma, "committee.pdf")))

    # The pack a member receives (delivered, to the lead's or its own recipients) carries
    # that member's plan only.
    today = timezone.localdate()
    received = committee_pack(network, gamma, today - timedelta(days=30), today)
    assert [a.action for a in received.actions] == ["Gamma's secret action"]
    assert "B's own action" not in " ".join(m for _, m, _ in received.rows())

    # B's staff cannot read or edit the lead's plan, not even about B.
    with tenant_context(cast.org_a):
        b_action = CommitteeAction.objects.get(member_id=cast.org_b.pk)
    assert b.get(actions_url(network, cast.org_b)).status_code == 404
    assert add(b, network, cast.org_b, action="Self-set", owner="Me", due_on=due).status_code == 404
    change = {
        "network": network.pk,
        "member": cast.org_b.pk,
        **form(f"a{b_action.pk}", action="Done by us", owner="Me", due_on=due, status="done"),
    }
    assert b.post(f"/reports/committee/actions/{b_action.pk}/", change).status_code == 404
    assert (
        b.post(f"/reports/committee/actions/{b_action.pk}/", {**change, "remove": "1"}).status_code
        == 404
    )
    with tenant_context(cast.org_a):
        b_action.refresh_from_db()
        assert (b_action.action, b_action.status) == ("B's own action", "open")
    with tenant_context(cast.org_b):
        assert not CommitteeAction.objects.exists()
        assert not AuditEvent.objects.filter(action="dashboards.committee_action").exists()

    # The lead cannot edit one member's action through another member's page.
    wrong = {**change, "member": gamma.pk}
    assert lead.post(f"/reports/committee/actions/{b_action.pk}/", wrong).status_code == 404

    # A member that withdraws its consent has no pack, so no plan page either.
    set_benchmarking_consent(membership, False)
    assert lead.get(actions_url(network, cast.org_b)).status_code == 404
    assert (
        add(lead, network, cast.org_b, action="More", owner="Matron", due_on=due).status_code == 404
    )
    # And an organisation outside the network has none.
    outsider = create_network(lead=cast.org_b, name="B's own network")
    assert lead.get(actions_url(outsider, cast.org_b)).status_code == 404
