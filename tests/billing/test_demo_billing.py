"""The demo's billing: a paying trust, a past-due trust with its banner, the ICB on the
Network plan; idempotent, and possible without a Stripe server."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from billing import stripe_api
from billing.models import Subscription
from tenants.demo import DEMO_PASSWORD
from tenants.models import Organisation
from tests.conftest import client_for, sign_in

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--stories", "20", stdout=out)
    return out.getvalue()


def _states() -> dict[str, tuple[str, str, str, str]]:
    return {
        row.organisation.slug: (row.plan, row.interval, row.status, row.stripe_subscription_id)
        for row in Subscription.objects.select_related("organisation")
    }


def test_the_demo_pays_through_the_local_stripe_server() -> None:
    output = _seed()
    states = _states()
    assert {slug: state[:3] for slug, state in states.items()} == {
        "northshire-hospitals": ("organisation", "monthly", "active"),
        "northshire-mental-health": ("organisation", "annual", "past_due"),
        "northshire-icb": ("network", "annual", "active"),
    }
    for slug, (_, _, status, subscription_id) in states.items():
        assert stripe_api.retrieve_subscription(subscription_id)["status"] == status, slug
    assert "Billing (in the local Stripe server):" in output
    assert (
        "Northshire Mental Health NHS Trust: Organisation plan, annual, payment overdue" in output
    )
    assert "4242 4242 4242 4242" in output

    mental_health = Organisation.objects.get(slug="northshire-mental-health")
    client = client_for(mental_health)
    sign_in(client, "responder@northshire-mh.example", DEMO_PASSWORD)
    assert "Your last payment did not go through" in client.get("/").content.decode()
    trust = client_for(Organisation.objects.get(slug="northshire-hospitals"))
    sign_in(trust, "admin@northshire-hospitals.example", DEMO_PASSWORD)
    page = trust.get("/billing/").content.decode()
    assert "Status: <strong>Active" in page and "£399" in page

    _seed()
    assert _states() == states  # idempotent: nothing new made


def test_the_demo_without_a_stripe_server_records_the_same_states(settings) -> None:
    settings.STRIPE_API_KEY = ""
    output = _seed()
    states = _states()
    assert states["northshire-mental-health"][:3] == ("organisation", "annual", "past_due")
    assert states["northshire-hospitals"][3] == ""  # no Stripe ids
    assert "Billing (in this database only" in output
