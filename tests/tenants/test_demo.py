from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenants.accounts.models import Role, User
from tenants.demo import DEMO_PASSWORD
from tenants.models import MembershipStatus, Network, Organisation, OrganisationKind
from tests.conftest import client_for, sign_in

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    return out.getvalue()


def test_seed_demo_builds_the_demo_and_prints_where_to_sign_in() -> None:
    output = _seed()

    demo = Organisation.objects.filter(slug__startswith="northshire-")
    kinds = set(demo.values_list("kind", flat=True))
    assert kinds == {
        OrganisationKind.ACUTE_TRUST,
        OrganisationKind.MENTAL_HEALTH_TRUST,
        OrganisationKind.CCG_ICB,
    }
    network = Network.objects.get(name="Northshire Provider Network")
    assert network.lead.kind == OrganisationKind.CCG_ICB
    members = {m.organisation.slug: m for m in network.memberships.select_related("organisation")}
    for slug in ("northshire-hospitals", "northshire-mental-health", "harbourside-hospice"):
        assert members[slug].is_comparable
    # For the comparison's sake: one member that did not consent, one that left.
    assert members["westgate-care-home"].status == MembershipStatus.ACTIVE
    assert not members["westgate-care-home"].benchmarking_consent
    assert members["old-mill-hospice"].status == MembershipStatus.LEFT

    assert "/dashboards/live/" in output and "/dashboards/network/" in output
    for organisation in demo:
        with tenant_context(organisation):
            assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
        assert organisation.workspace_url() in output

    assert "http://localhost:8000/" in output
    assert "admin@northshire-hospitals.example" in output
    assert DEMO_PASSWORD in output


def test_seed_demo_is_idempotent() -> None:
    _seed()
    counts = (Organisation.objects.count(), Network.objects.count())
    _seed()
    assert (Organisation.objects.count(), Network.objects.count()) == counts
    trust = Organisation.objects.get(slug="northshire-hospitals")
    with tenant_context(trust):
        users = User.objects.count()
    _seed()
    with tenant_context(trust):
        assert User.objects.count() == users  # three per role, plus the named responders
        assert set(User.objects.values_list("role", flat=True)) == set(Role.values)


def test_the_demo_dashboards_have_figures_for_every_provider() -> None:
    from dashboards.queries import provider_figures
    from tenants.networks import comparable_members

    _seed()
    network = Network.objects.get(name="Northshire Provider Network")
    compared = comparable_members(network)
    assert {o.slug for o in compared} >= {"northshire-hospitals", "eastfield-community"}
    assert "westgate-care-home" not in {o.slug for o in compared}
    today = timezone.localdate()
    figures = provider_figures([o.pk for o in compared], today - timedelta(days=730), today)
    assert all(f.stories > 0 for f in figures.values())
    small = Organisation.objects.get(slug="millbrook-surgery")
    assert figures[small.pk].stories < 8  # shown as suppressed


def test_demo_logins_work() -> None:
    _seed()
    trust = Organisation.objects.get(slug="northshire-icb")
    client = client_for(trust)
    assert sign_in(client, "responder@northshire-icb.example", DEMO_PASSWORD).status_code == 302
    body = client.get("/").content.decode()
    assert "Northshire Provider Network" in body


def test_the_demo_has_responses_flags_and_changes() -> None:
    from alerts.demo import CALL_BELL_TITLES
    from feedback.hub.models import PublicResponse, PublicStory
    from feedback.models import Response

    _seed()
    # Not the emerging theme's run of stories (alerts/demo.py): this week's, too new to have
    # been answered, and a large share of the small demo the tests seed.
    seeded = PublicStory.objects.filter(organisations__slug="northshire-hospitals").exclude(
        title__in=CALL_BELL_TITLES
    )
    stories = seeded.count()
    responded = seeded.filter(responses__isnull=False).distinct().count()
    assert 0.5 < responded / stories < 0.8
    assert PublicResponse.objects.exclude(change_status="none").exists()
    assert PublicResponse.objects.values("responder_name").distinct().count() >= 3
    trust = Organisation.objects.get(slug="northshire-hospitals")
    with tenant_context(trust):
        flagged = [
            r
            for r in Response.objects.all()
            if any(a["code"] == "only_redirects" for a in r.quality["advice"])
        ]
    assert flagged, "some demo replies should be generic, for the quality check to catch"


def test_the_demo_has_alert_rules_and_missed_targets() -> None:
    from alerts.escalation import open_breaches
    from alerts.models import AlertRule

    _seed()
    trust = Organisation.objects.get(slug="northshire-hospitals")
    assert trust.email_domains == ["northshire-hospitals.example"]
    with tenant_context(trust):
        frequencies = set(AlertRule.objects.values_list("frequency", flat=True))
        assert frequencies == {"instant", "daily", "weekly"}
        # The default rule, four of the demo's own and one asking for emerging themes.
        assert AlertRule.objects.count() == 6
        assert AlertRule.objects.filter(emerging_themes=True).count() == 1
    _seed()
    with tenant_context(trust):
        assert AlertRule.objects.count() == 6  # idempotent
        assert open_breaches().exists()


def test_the_demo_has_a_pending_safeguarding_concern_and_a_withdrawn_story() -> None:
    from feedback.hub.models import (
        AuthorRequest,
        PublicStory,
        SafeguardingConcern,
        Submission,
        SubmissionState,
        WithdrawnStory,
    )

    output = _seed()
    _seed()  # idempotent: still one of each

    (concern,) = SafeguardingConcern.objects.all()
    assert concern.acknowledged_at is None and concern.escalated_at is None
    assert Submission.objects.get(pk=concern.submission_id).state == SubmissionState.PENDING
    trust = Organisation.objects.get(slug="northshire-hospitals")
    assert concern.organisation == trust and trust.pals_details
    with tenant_context(trust):
        assert User.objects.filter(is_safeguarding_contact=True).count() == 1
    (tombstone,) = WithdrawnStory.objects.all()
    assert tombstone.response_count == 1 and list(tombstone.organisations.all()) == [trust]
    assert not PublicStory.objects.filter(pk=tombstone.public_id).exists()
    assert Submission.objects.filter(state=SubmissionState.WITHDRAWN).count() == 1
    assert AuthorRequest.objects.filter(via_link=False).count() == 1
    assert f"/stories/{tombstone.public_id}/" in output
    assert "/moderation/safeguarding/" in output and "/your-story/" in output
    client = client_for(None)
    gone = client.get(f"/stories/{tombstone.public_id}/")
    assert gone.status_code == 410
    assert f"1 response from {trust.name} was removed" in gone.content.decode()


def test_the_demo_outbox_shows_sent_retried_and_parked_messages_on_the_platform_page() -> None:
    from django.conf import settings

    from tenants.accounts.models import User as PlatformUser
    from tenants.models import OutboxMessage, OutboxMessageState
    from tests.conftest import PASSWORD, pass_second_factor

    output = _seed()
    _seed()  # idempotent: still one of each
    demo = {m.key: m for m in OutboxMessage.objects.filter(key__startswith="demo.outbox:")}
    assert set(demo) == {"demo.outbox:sent", "demo.outbox:retried", "demo.outbox:parked"}
    sent, retried, parked = (demo[f"demo.outbox:{name}"] for name in ("sent", "retried", "parked"))
    assert sent.state == OutboxMessageState.SENT and sent.sent_at and sent.recipient == ""
    assert retried.state == OutboxMessageState.WAITING
    assert retried.attempts > 0 and retried.last_error
    assert retried.next_attempt_at > timezone.now() + timedelta(hours=1)
    assert parked.state == OutboxMessageState.PARKED and parked.last_error
    assert parked.attempts == settings.OUTBOX_MAX_ATTEMPTS
    assert parked.organisation.slug == "northshire-icb"
    assert "/admin/tenants/outboxmessage/" in output

    operator = PlatformUser.objects.create_superuser("ops@carevoice.example", PASSWORD)
    admin = client_for(None)
    admin.force_login(operator)
    pass_second_factor(admin, operator.email)
    page = admin.get("/admin/tenants/outboxmessage/").content.decode()
    for shown in ("Sent", "Waiting", "Parked", "o***@northshire-icb.example", "550 5.1.1"):
        assert shown in page
