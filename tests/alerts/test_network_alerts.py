"""Network alert rules: a network's lead hears about its members' published stories, from the
hub's public copy only, once per rule, story and recipient; never about a member that does not
consent, has left or was never in its network, and never about another lead's members.

In-process, with the tasks run where they are queued (the real worker and broker are in
test_network_alerts_worker.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from alerts import network_alerts, tasks
from alerts.digests import send_digests
from alerts.models import AlertDelivery, AlertRule, NetworkEvaluation, Scope
from alerts.network_alerts import evaluate_network_story, unevaluated_network_story_ids
from feedback.hub.models import PublicStory
from tenants import gate
from tenants.accounts.models import User
from tenants.gate import GateProvider, OrganisationStanding, Standing
from tenants.models import Network, Organisation
from tenants.networks import accept_invitation, create_network, invite_organisation, leave_network
from tenants.provisioning import provision_organisation
from tests.conftest import (
    AUTHOR_EMAIL,
    AUTHOR_POSTCODE,
    PASSWORD,
    Cast,
    client_for,
    enrol_second_factor,
    sign_in,
    tell_and_publish,
)
from tests.outbox_mail import sent_mail_to

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Lead:
    organisation: Organisation
    admin: User
    network: Network


def make_lead(slug: str, name: str) -> Lead:
    provisioned = provision_organisation(
        name=name,
        slug=slug,
        kind="ccg/icb",
        admin_email=f"admin@{slug}.example",
        admin_name=f"Admin of {name}",
        admin_password=PASSWORD,
    )
    network = create_network(lead=provisioned.organisation, name=f"{name} network")
    return Lead(provisioned.organisation, provisioned.admin, network)


def join(lead: Lead, organisation: Organisation, *, consent: bool = True) -> None:
    accept_invitation(invite_organisation(lead.network, organisation), benchmarking_consent=consent)


@pytest.fixture
def icb(cast: Cast) -> Lead:
    """Gamma ICB leads a network in which Alpha (org A) is an active, consenting member."""
    lead = make_lead("gamma-icb", "Gamma Integrated Care Board")
    join(lead, cast.org_a)
    return lead


def network_rule(lead: Lead, **fields: object) -> AlertRule:
    tags = fields.pop("tags", [])
    with tenant_context(lead.organisation):
        rule = AlertRule.objects.create(
            owner_id=lead.admin.pk,
            name=fields.pop("name", "Members' stories"),
            scope=Scope.NETWORK,
            **fields,
        )
        rule.recipients.set([lead.admin.pk])
        if tags:
            from feedback.models import Tag

            rule.tags.set(Tag.objects.filter(name__in=tags))
    return rule


def publish_at(cast: Cast, listing, **overrides: object) -> int:  # noqa: ANN001
    """A story published through moderation; returns its public id."""
    overrides.setdefault("criticality", "strongly critical")
    return tell_and_publish(cast, [listing], **overrides).public_story.pk


def evaluate(lead: Lead, public_story_id: int) -> int:
    with tenant_context(lead.organisation):
        return evaluate_network_story(public_story_id)


def mails_to(address: str) -> list[mail.EmailMessage]:
    return sent_mail_to(address)


def network_rows(lead: Lead) -> list[AlertDelivery]:
    with tenant_context(lead.organisation):
        return list(AlertDelivery.objects.filter(public_story_id__isnull=False))


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Network evaluations queued by the publishing receiver: (schema sent in, story), each
    run at once in that schema, as a worker would."""
    calls: list[tuple[str, int]] = []

    def run_now(public_story_id: int) -> None:
        schema = connection.schema_name
        calls.append((schema, public_story_id))
        # As the worker does: the organisation of the schema the message was sent in.
        with schema_context("public"):
            organisation = Organisation.objects.get(schema_name=schema)
        with tenant_context(organisation):
            tasks.evaluate_network_story(public_story_id)

    monkeypatch.setattr(tasks.evaluate_network_story, "delay", run_now)
    yield calls


def test_a_members_published_story_fires_the_leads_network_rule_once(
    cast: Cast, icb: Lead, queued: list[tuple[str, int]], django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    rule = network_rule(icb, name="Serious at members", min_criticality="strongly critical")
    with django_capture_on_commit_callbacks(execute=True):
        public_id = publish_at(cast, cast.ward_a, title="Left alone overnight")
    # Queued once, in the lead's schema only.
    assert queued == [(icb.organisation.schema_name, public_id)]
    [message] = mails_to(icb.admin.email)
    assert message.subject == (
        f"[{icb.organisation.name}] New story at {cast.org_a.name}: Left alone overnight"
    )
    assert "Alpha Ward One" in message.body and "Strongly critical" in message.body
    # The story's page in the lead's network inbox.
    assert f"http://gamma-icb.localhost:8000/network/stories/{public_id}/" in message.body
    assert "/alerts/unsubscribe/" in message.body
    # The hub's public copy only: never the author's contact details.
    with schema_context("public"):
        story = PublicStory.objects.get(pk=public_id)
    for private in (AUTHOR_EMAIL, AUTHOR_POSTCODE, story.author_nickname):
        assert private not in message.body
        assert private not in message.alternatives[0][0]
    [row] = network_rows(icb)
    assert row.key == f"instant:{rule.pk}:public-story-{public_id}:{icb.admin.email}"
    assert row.state == "sent" and row.rule_id == rule.pk and row.story_id is None
    # Redelivery (a second message, the sweeper, a retry) sends nothing twice.
    assert evaluate(icb, public_id) == 0
    with tenant_context(icb.organisation):
        assert unevaluated_network_story_ids(grace=timedelta(0)) == []
        tasks.evaluate_network_story(public_id)
    assert len(mails_to(icb.admin.email)) == 1 and len(network_rows(icb)) == 1
    # The member's own rules are not the lead's: A's default rule told A's admin only.
    with tenant_context(cast.org_a):
        assert not AlertDelivery.objects.filter(public_story_id=public_id).exists()


@pytest.mark.parametrize(
    ("conditions", "matches"),
    [
        ({}, True),
        ({"min_criticality": "severely critical"}, False),
        ({"service_types": ["ward"]}, True),
        ({"service_types": ["clinic", "hospice"]}, False),
        ({"words": "parking, overnight"}, True),
        ({"words": "parking"}, False),
        ({"tags": ["kind staff"]}, True),
        ({"tags": ["staff attitude"]}, False),
        ({"network_members": "A"}, True),
        ({"network_members": "B"}, False),
    ],
)
def test_network_rules_match_by_member_service_type_criticality_tags_and_words(
    cast: Cast, icb: Lead, conditions: dict, matches: bool
) -> None:
    join(icb, cast.org_b)
    if "network_members" in conditions:
        member = cast.org_a if conditions["network_members"] == "A" else cast.org_b
        conditions = {"network_members": [member.pk]}
    network_rule(icb, **conditions)
    public_id = publish_at(
        cast, cast.ward_a, title="Alone overnight", tags=["what was good:kind staff"]
    )
    evaluate(icb, public_id)
    assert bool(mails_to(icb.admin.email)) is matches


def test_stories_of_non_consenting_left_and_non_members_never_fire(
    cast: Cast, icb: Lead, queued: list[tuple[str, int]], django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    network_rule(icb)
    # B: invited only (not a member), then a member that does not consent.
    membership = invite_organisation(icb.network, cast.org_b)
    with django_capture_on_commit_callbacks(execute=True):
        invited_only = publish_at(cast, cast.ward_b)
    accept_invitation(membership, benchmarking_consent=False)
    with django_capture_on_commit_callbacks(execute=True):
        no_consent = publish_at(cast, cast.ward_b)
    # A: a consenting member that left.
    leave_network(icb.network.memberships.get(organisation=cast.org_a))
    with django_capture_on_commit_callbacks(execute=True):
        left = publish_at(cast, cast.ward_a)
    assert queued == []  # nobody is told to look
    with tenant_context(icb.organisation):
        # Nor does the sweeper find them, nor would a stray message send anything.
        assert unevaluated_network_story_ids(grace=timedelta(0)) == []
        for public_id in (invited_only, no_consent, left):
            assert evaluate_network_story(public_id) == 0
        assert AlertDelivery.objects.count() == 0
    with schema_context("public"):
        two_members = tell_and_publish(cast, [cast.ward_a, cast.ward_b]).public_story.pk
    assert evaluate(icb, two_members) == 0
    assert mails_to(icb.admin.email) == []


def test_a_story_naming_a_consenting_and_a_non_consenting_member_shows_only_the_first(
    cast: Cast, icb: Lead
) -> None:
    join(icb, cast.org_b, consent=False)
    network_rule(icb)
    public_id = tell_and_publish(
        cast, [cast.ward_a, cast.ward_b], criticality="severely critical"
    ).public_story.pk
    assert evaluate(icb, public_id) == 1
    [message] = mails_to(icb.admin.email)
    assert cast.org_a.name in message.subject
    assert cast.org_b.name not in message.body and "Beta Private Ward" not in message.body
    with tenant_context(icb.organisation):
        rule = AlertRule.objects.get(scope=Scope.NETWORK)
        rule.network_members = [cast.org_b.pk]  # named, but not consenting: never matches
        rule.save()
    other = tell_and_publish(cast, [cast.ward_a, cast.ward_b]).public_story.pk
    assert evaluate(icb, other) == 0


def test_one_leads_rules_never_see_another_networks_members(
    cast: Cast, icb: Lead, queued: list[tuple[str, int]], django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    delta = make_lead("delta-icb", "Delta Integrated Care Board")
    join(delta, cast.org_b)
    network_rule(icb)
    network_rule(delta)
    with django_capture_on_commit_callbacks(execute=True):
        at_a = publish_at(cast, cast.ward_a, title="A story at Alpha")
        at_b = publish_at(cast, cast.ward_b, title="A story at Beta")
    assert sorted(queued) == sorted(
        [(icb.organisation.schema_name, at_a), (delta.organisation.schema_name, at_b)]
    )
    assert [m.subject.rsplit(": ", 1)[1] for m in mails_to(icb.admin.email)] == ["A story at Alpha"]
    assert [m.subject.rsplit(": ", 1)[1] for m in mails_to(delta.admin.email)] == [
        "A story at Beta"
    ]
    # Even asked directly, a lead's evaluation ignores the other network's member.
    assert evaluate(icb, at_b) == 0 and evaluate(delta, at_a) == 0
    with tenant_context(icb.organisation):
        assert unevaluated_network_story_ids(grace=timedelta(0)) == []
        assert [r.public_story_id for r in AlertDelivery.objects.all()] == [at_a]


def test_a_daily_digest_includes_members_stories_once(cast: Cast, icb: Lead) -> None:
    join(icb, cast.org_b, consent=False)
    rule = network_rule(icb, name="Every morning", frequency="daily")
    now = timezone.now()
    yesterday = now - timedelta(days=1)
    with schema_context("public"):
        # Joined two days ago, so yesterday's stories count.
        icb.network.memberships.update(
            joined_at=now - timedelta(days=2), consent_changed_at=now - timedelta(days=2)
        )
    ids = [
        publish_at(cast, cast.ward_a, title="Digest one"),
        publish_at(cast, cast.clinic_a, title="Digest two"),
        publish_at(cast, cast.ward_b, title="Not consenting"),
    ]
    with schema_context("public"):
        PublicStory.objects.filter(pk__in=ids).update(published_at=yesterday)
    with tenant_context(icb.organisation):
        assert send_digests("daily", now=now) == 1
        assert send_digests("daily", now=now) == 0  # once per period
        [row] = AlertDelivery.objects.filter(rule=rule)
    assert row.kind == "digest" and row.stories_count == 2
    assert "Digest one" in row.body and "Digest two" in row.body
    assert "Not consenting" not in row.body and cast.org_b.name not in row.body
    assert cast.org_a.name in row.body and AUTHOR_EMAIL not in row.body
    [message] = mails_to(icb.admin.email)
    assert "2 new stories at network members" in message.subject


def test_the_sweeper_finds_members_stories_whose_network_alerts_never_ran(
    cast: Cast, icb: Lead
) -> None:
    network_rule(icb)
    now = timezone.now()
    # Published with the broker down: the receiver's message never left.
    lost = publish_at(cast, cast.ward_a, title="Lost in the outage")
    before_joining = publish_at(cast, cast.ward_a, title="Before Alpha joined")
    with schema_context("public"):
        PublicStory.objects.filter(pk=before_joining).update(published_at=now - timedelta(days=3))
        icb.network.memberships.update(joined_at=now - timedelta(days=1))
    with tenant_context(icb.organisation):
        # TRICKY: stories from before a member joined (or consented) never count.
        assert unevaluated_network_story_ids(grace=timedelta(0)) == [lost]
        assert unevaluated_network_story_ids() == []  # within the grace: still on its way
        with pytest.MonkeyPatch.context() as patch:
            sent: list[int] = []
            patch.setattr(tasks.evaluate_network_story, "delay", sent.append)
            patch.setattr(network_alerts, "GRACE", timedelta(0))
            tasks.sweep()
        assert sent == [lost]
        assert evaluate_network_story(lost) == 1
        assert evaluate_network_story(lost) == 0
        assert NetworkEvaluation.objects.filter(public_story_id=lost).exists()
        assert unevaluated_network_story_ids(grace=timedelta(0)) == []
        # A delivery recorded but never sent (the worker died) goes with the next sweep.
        AlertDelivery.objects.update(state="pending", sent_at=None)
        assert tasks.sweep() == 1
        assert tasks.sweep() == 0
    # The row handed over again writes no second email: the outbox's key is the delivery's.
    assert len(mails_to(icb.admin.email)) == 1
    assert len(network_rows(icb)) == 1


# --- the rule page --------------------------------------------------------------------------


def lead_client(lead: Lead):  # noqa: ANN201
    with tenant_context(lead.organisation):
        enrol_second_factor(User.objects.get(pk=lead.admin.pk))
    client = client_for(lead.organisation)
    assert sign_in(client, lead.admin.email).status_code == 302
    return client


def test_only_a_lead_is_offered_members_stories_listing_consenting_members(
    cast: Cast, icb: Lead, admin_b_client
) -> None:  # noqa: ANN001
    join(icb, cast.org_b, consent=False)
    client = lead_client(icb)
    page = client.get("/alerts/new/").content.decode()
    assert "Our network members&#x27; stories" in page
    assert cast.org_a.name in page and cast.org_b.name not in page
    data = {
        "name": "Alpha's wards",
        "scope": "network",
        "network_members": [str(cast.org_a.pk)],
        "service_types": ["ward"],
        "min_criticality": "not critical",
        "frequency": "instant",
    }
    # A member that does not consent cannot be chosen.
    refused = client.post("/alerts/new/", {**data, "network_members": [str(cast.org_b.pk)]})
    assert refused.status_code == 400
    assert f"{cast.org_b.pk} is not one of the available choices" in refused.content.decode()
    publish_at(cast, cast.ward_a, title="Seen in the preview")
    saved = client.post("/alerts/new/", data)
    assert saved.status_code == 302
    with tenant_context(icb.organisation):
        rule = AlertRule.objects.get(name="Alpha's wards")
    assert rule.scope == "network" and rule.network_members == [cast.org_a.pk]
    assert rule.service_types == ["ward"]
    edit = client.get(saved["Location"]).content.decode()
    assert "would have matched <strong>1</strong> story" in edit
    assert "Seen in the preview" in edit
    listing = client.get("/alerts/").content.decode()
    assert f"Stories at {cast.org_a.name}, ward" in listing

    # Not a lead: no such choice, and posting one anyway makes a rule about its own stories.
    assert "network members" not in admin_b_client.get("/alerts/new/").content.decode()
    response = admin_b_client.post("/alerts/new/", {**data, "name": "Sneaky"})
    assert response.status_code == 302
    with tenant_context(cast.org_b):
        sneaky = AlertRule.objects.get(name="Sneaky")
    assert sneaky.scope == "own" and sneaky.network_members == [] and sneaky.service_types == []


class WithoutNetworkFeatures(GateProvider):
    def standing_for(self, organisation: Organisation) -> OrganisationStanding:
        return OrganisationStanding(Standing.FULL, capabilities=frozenset())


def test_a_lead_whose_plan_lacks_network_features_gets_neither_the_choice_nor_alerts(
    cast: Cast, icb: Lead
) -> None:
    network_rule(icb)
    client = lead_client(icb)
    previous = gate.register_provider(WithoutNetworkFeatures())
    try:
        assert "network members" not in client.get("/alerts/new/").content.decode()
        public_id = publish_at(cast, cast.ward_a)
        assert evaluate(icb, public_id) == 0
        with tenant_context(icb.organisation):
            assert unevaluated_network_story_ids(grace=timedelta(0)) == []
    finally:
        gate.register_provider(previous)
    assert evaluate(icb, public_id) == 1  # the plan allows it again


def test_a_leads_own_stories_never_fire_its_network_rules(cast: Cast) -> None:
    from alerts.evaluation import evaluate_story
    from feedback.models import Story

    network = create_network(lead=cast.org_a, name="Alpha's own network")
    accept_invitation(invite_organisation(network, cast.org_b), benchmarking_consent=True)
    lead = Lead(cast.org_a, cast.admin_a, network)
    rule = network_rule(lead, name="Members only", frequency="instant")
    daily = network_rule(lead, name="Members daily", frequency="daily")
    public_id = publish_at(cast, cast.ward_a, title="Alpha's own story")
    with tenant_context(cast.org_a):
        story = Story.objects.get(public_id=public_id)
        Story.objects.filter(pk=story.pk).update(published_at=timezone.now() - timedelta(days=1))
        evaluate_story(story.pk)
        send_digests("daily")
        assert not AlertDelivery.objects.filter(rule__in=[rule, daily]).exists()
        assert evaluate_network_story(public_id) == 0  # A is the lead, not a member
