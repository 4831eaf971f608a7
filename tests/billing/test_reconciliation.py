"""Nightly reconciliation: every subscription compared with Stripe, drift repaired."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from billing import stripe_api
from billing.models import Subscription, SubscriptionStatus
from billing.reconciliation import reconcile_all
from billing.tasks import reconcile_subscriptions
from tests.billing.conftest import activate, refreshed, row_for, subscribe_in_stripe
from tests.conftest import Cast

pytestmark = pytest.mark.django_db


def test_drift_is_repaired_and_reported(cast: Cast, plans) -> None:
    subscription = activate(cast.org_a)
    stripe_api.cancel_subscription(subscription["id"])  # and the webhook never came
    subscribe_in_stripe(cast.org_b)  # paid, webhook lost: only the customer is known
    Subscription.objects.create(reference="signup:never-paid", billing_name="Nobody")

    report = reconcile_all()
    assert report.checked == 2  # rows with nothing in Stripe are not asked about
    assert report.repaired[f"organisation:{cast.org_a.pk}"] == ["status"]
    assert "stripe_subscription_id" in report.repaired[f"organisation:{cast.org_b.pk}"]
    assert refreshed(cast.org_a).status == SubscriptionStatus.CANCELED
    assert refreshed(cast.org_b).status == SubscriptionStatus.ACTIVE

    again = reconcile_all()
    assert again.repaired == {} and again.failed == {}


def test_reconciliation_carries_on_when_stripe_fails_for_one(
    cast: Cast, plans, monkeypatch: pytest.MonkeyPatch
) -> None:
    activate(cast.org_a)
    row_for(cast.org_b)
    Subscription.objects.filter(organisation=cast.org_b).update(stripe_customer_id="cus_gone")
    report = reconcile_all()
    assert report.checked == 2 and list(report.failed) == [f"organisation:{cast.org_b.pk}"]

    def down(customer_id: str) -> list:
        raise stripe_api.StripeUnavailable("Stripe could not be reached just now")

    monkeypatch.setattr(stripe_api, "list_subscriptions", down)
    assert reconcile_subscriptions() == {
        "checked": 2,
        "repaired": {},
        "failed": {
            f"organisation:{cast.org_a.pk}": "Stripe could not be reached just now",
            f"organisation:{cast.org_b.pk}": "Stripe could not be reached just now",
        },
    }
    assert refreshed(cast.org_a).status == SubscriptionStatus.ACTIVE  # nothing lost


def test_it_runs_nightly_and_from_the_command_line(cast: Cast, plans) -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["billing-nightly-reconciliation"]["task"] == "billing.reconcile_subscriptions"
    assert schedule["billing-webhook-sweep"]["task"] == "billing.sweep_webhook_events"
    subscription = activate(cast.org_a)
    stripe_api.set_cancel_at_period_end(subscription["id"], True)
    out = StringIO()
    call_command("reconcile_billing", stdout=out)
    assert "repaired 1" in out.getvalue() and "cancel_at_period_end" in out.getvalue()
