"""Subscription state gates the workspace, in one place (billing/access.py, answering the
gate in tenants/gate.py): every state, what it allows, the banner, the grace period, and
paying again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from alerts.gate import alerts_enabled
from billing import stripe_api
from billing.access import standing_of
from billing.models import Subscription, SubscriptionStatus
from billing.plans import ESSENTIALS
from feedback.models import Story
from tenants.gate import Standing, standing_for
from tests.billing.conftest import (
    activate,
    deliver,
    make_past_due,
    process_received,
    refreshed,
    stripe_event,
)
from tests.conftest import Cast, client_for, sign_in, tell_and_publish

pytestmark = pytest.mark.django_db

REPLY = (
    "I am sorry the wait for a bed on Alpha Ward One was so long, and thank you for telling us "
    "how kind the nurses were. We now free beds earlier in the day. Rita Responder, Ward Manager"
)


@pytest.fixture
def story(cast: Cast) -> Story:
    published = tell_and_publish(cast, [cast.ward_a], criticality="moderately critical")
    with tenant_context(cast.org_a):
        return Story.objects.get(public_id=published.public_story.pk)


def respond(client: Client, story: Story):  # noqa: ANN201
    return client.post(
        f"/stories/{story.pk}/",
        {"action": "publish", "body": REPLY, "change_status": "none", "change_description": ""},
    )


def responder(cast: Cast) -> Client:
    client = client_for(cast.org_a)
    assert sign_in(client, cast.responder_a.email).status_code == 302
    return client


def alerts_on_for(cast: Cast) -> bool:
    with tenant_context(cast.org_a):
        return alerts_enabled()


def test_no_subscription_is_full_use_as_before_billing(cast: Cast, story: Story) -> None:
    """The organisations made before billing (the demo's, the tests') keep working."""
    assert not Subscription.objects.filter(organisation=cast.org_a).exists()
    assert standing_for(cast.org_a).standing is Standing.FULL
    assert alerts_on_for(cast)
    client = responder(cast)
    assert "billing-banner" not in client.get("/").content.decode()
    assert respond(client, story).status_code == 302


def test_every_status_and_what_it_allows() -> None:
    now = timezone.now()

    def standing(status: str, **fields: object) -> Standing:
        return standing_of(
            Subscription(status=status, plan="organisation", **fields), now=now
        ).standing

    assert standing("") is Standing.FULL
    assert standing("incomplete") is Standing.FULL
    assert standing("trialing") is Standing.FULL
    assert standing("active") is Standing.FULL
    assert standing("past_due", past_due_since=now - timedelta(days=13)) is Standing.GRACE
    assert standing("past_due", past_due_since=now - timedelta(days=15)) is Standing.READ_ONLY
    for status in ("unpaid", "canceled", "incomplete_expired", "paused"):
        assert standing(status) is Standing.READ_ONLY
    grace = standing_of(
        Subscription(status="past_due", plan="organisation", past_due_since=now), now=now
    )
    assert grace.grace_ends_at == now + timedelta(days=14)
    assert grace.allows_writes and grace.alerts_enabled
    assert not standing_of(Subscription(status="unpaid"), now=now).alerts_enabled


def test_active_past_due_grace_expiry_and_paying_again(cast: Cast, story: Story, plans) -> None:
    subscription = activate(cast.org_a)
    client = responder(cast)
    assert refreshed(cast.org_a).status == SubscriptionStatus.ACTIVE
    assert "billing-banner" not in client.get("/").content.decode()

    # The renewal fails: past due, a banner, still full use for 14 days.
    failed = make_past_due(subscription)
    deliver(stripe_event("invoice.payment_failed", failed))
    process_received()
    page = client.get("/").content.decode()
    assert "Your last payment did not go through" in page
    deadline = timezone.localdate() + timedelta(days=14)
    assert f"{deadline.day} {deadline:%B %Y}" in page
    assert alerts_on_for(cast)

    # Fourteen days later: read-only. Reading works; responding, alerts and changes do not.
    Subscription.objects.filter(organisation=cast.org_a).update(
        past_due_since=timezone.now() - timedelta(days=15)
    )
    assert "This workspace is read-only" in client.get("/").content.decode()
    assert client.get(f"/stories/{story.pk}/").status_code == 200
    refused = respond(client, story)
    assert refused.status_code == 403
    assert "read-only" in refused.content.decode()
    assert "ask an administrator" in refused.content.decode().lower()
    assert not alerts_on_for(cast)
    assert client.post("/alerts/new/", {"name": "x"}).status_code == 403
    # Signing out and in, and the password pages, still work.
    assert client.post("/accounts/logout/").status_code == 302
    assert sign_in(client, cast.responder_a.email).status_code == 302
    admin = client_for(cast.org_a)
    sign_in(admin, cast.admin_a.email)
    billing_page = admin.get("/billing/")
    assert billing_page.status_code == 200 and "Pay what is owed" in billing_page.content.decode()

    # Paying what is owed restores everything.
    card = stripe_api.create_card_payment_method(
        number="4242424242424242", exp_month=12, exp_year=2031, cvc="123", name="Test"
    )
    stripe_api.attach_payment_method(card["id"], subscription["customer"])
    deliver(stripe_event("invoice.paid", stripe_api.pay_invoice(failed["id"])))
    process_received()
    assert refreshed(cast.org_a).status == SubscriptionStatus.ACTIVE
    assert "billing-banner" not in client.get("/").content.decode()
    assert alerts_on_for(cast)
    assert respond(client, story).status_code == 302


def test_cancelled_is_read_only_and_a_new_subscription_restores_it(
    cast: Cast, story: Story, plans
) -> None:
    subscription = activate(cast.org_a)
    deliver(
        stripe_event(
            "customer.subscription.deleted", stripe_api.cancel_subscription(subscription["id"])
        )
    )
    process_received()
    client = responder(cast)
    assert refreshed(cast.org_a).status == SubscriptionStatus.CANCELED
    assert "because its subscription is cancelled" in client.get("/").content.decode()
    assert respond(client, story).status_code == 403
    with tenant_context(cast.org_a):
        assert Story.objects.filter(pk=story.pk).exists()  # all data kept

    renewed = activate(cast.org_a)
    row = refreshed(cast.org_a)
    assert (row.stripe_subscription_id, row.status) == (renewed["id"], "active")
    assert respond(client, story).status_code == 302
    # A late event of the old subscription changes nothing.
    deliver(stripe_event("customer.subscription.updated", subscription))
    process_received()
    assert refreshed(cast.org_a).stripe_subscription_id == renewed["id"]


def test_unpaid_is_read_only_but_dashboards_stay_readable(cast: Cast, plans) -> None:
    activate(cast.org_a)
    Subscription.objects.filter(organisation=cast.org_a).update(status="unpaid")
    client = responder(cast)
    assert client.get("/dashboards/live/").status_code == 200
    # A Dash callback is a POST that only reads: not refused by billing (Dash answers it).
    response = client.post("/dashboards/live/_dash-update-component", "{}", content_type="x")
    assert response.status_code != 403
    assert client.post("/accounts/profile/", {"full_name": "New"}).status_code == 403
    # Making a report's PDF writes nothing of the organisation's: not refused by billing.
    assert client.post("/reports/pdf/", {"kind": "nonsense"}).status_code == 400
    # Ending one's own sessions is never held back by an unpaid bill (a wrong password: 400).
    ended = client.post("/accounts/sessions/", {"password": "not-it"})
    assert ended.status_code == 400


def test_a_plan_without_a_feature_closes_its_pages(cast: Cast, plans) -> None:
    activate(cast.org_a, plan=ESSENTIALS)
    admin = client_for(cast.org_a)
    sign_in(admin, cast.admin_a.email)
    for path in (
        "/api-keys/",
        "/dashboards/network/",
        "/reports/committee/",
        "/reports/committee.csv",
        "/reports/committee.pdf",
    ):
        response = admin.get(path)
        assert response.status_code == 403, path
        assert "is not in your plan" in response.content.decode()
    assert admin.get("/widget/").status_code == 200


def test_a_network_lead_on_the_network_plan_covers_its_members(cast: Cast, story: Story) -> None:
    from tenants.networks import accept_invitation, create_network, invite_organisation

    lead_row = Subscription.objects.create(
        reference="organisation:lead-test",
        organisation=cast.org_b,
        plan="network",
        status=SubscriptionStatus.ACTIVE,
    )
    member_row = Subscription.objects.create(
        reference="organisation:member-test",
        organisation=cast.org_a,
        plan="organisation",
        status=SubscriptionStatus.CANCELED,
    )
    assert standing_for(cast.org_a).standing is Standing.READ_ONLY
    network = create_network(lead=cast.org_b, name="Beta's network")
    membership = invite_organisation(network, cast.org_a)
    assert standing_for(cast.org_a).standing is Standing.READ_ONLY  # invited is not enough
    accept_invitation(membership, benchmarking_consent=False)
    covered = standing_for(cast.org_a)
    assert covered.standing is Standing.FULL and covered.covered_by == "Beta's network"
    assert alerts_on_for(cast)
    assert respond(responder(cast), story).status_code == 302

    # Past due within its grace period, a member keeps its own banner (full use anyway).
    member_row.status, member_row.past_due_since = SubscriptionStatus.PAST_DUE, timezone.now()
    member_row.save()
    grace = standing_for(cast.org_a)
    assert grace.standing is Standing.GRACE and grace.covered_by is None
    member_row.past_due_since = timezone.now() - timedelta(days=30)
    member_row.save()
    assert standing_for(cast.org_a).covered_by == "Beta's network"

    # The lead stops paying: its members are on their own again.
    lead_row.status = SubscriptionStatus.UNPAID
    lead_row.save()
    assert standing_for(cast.org_a).standing is Standing.READ_ONLY
    # A lead on a plan without members covers nobody.
    lead_row.status, lead_row.plan = SubscriptionStatus.ACTIVE, "organisation"
    lead_row.save()
    assert standing_for(cast.org_a).standing is Standing.READ_ONLY
    member_row.delete()
