"""Plans in code, and `sync_plans` making the local Stripe server agree with them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing import stripe_api
from billing.models import PlanPrice
from billing.plans import (
    ESSENTIALS,
    NETWORK,
    ORGANISATION,
    PLANS,
    Feature,
    Interval,
    plan_for_stripe_id,
    suggested_plan,
)
from billing.sync import PlanConflict, sync_plans
from tests.billing.conftest import local_count

pytestmark = pytest.mark.django_db


def test_the_three_plans_their_prices_seats_and_features() -> None:
    assert set(PLANS) == {"essentials", "organisation", "network"}
    for plan in PLANS.values():
        assert 9.5 * plan.monthly_pence <= plan.annual_pence <= 10.5 * plan.monthly_pence
    assert (ESSENTIALS.staff_seats, ORGANISATION.staff_seats, NETWORK.staff_seats) == (10, 100, 40)
    assert NETWORK.network_members == 12
    assert not ESSENTIALS.has(Feature.NETWORK_COMPARISON) and ESSENTIALS.has(Feature.WIDGET)
    assert all(NETWORK.has(feature) for feature in Feature)
    assert suggested_plan("hospice") == ESSENTIALS
    assert suggested_plan("acute trust") == ORGANISATION
    assert suggested_plan("ccg/icb") == NETWORK
    assert ORGANISATION.stripe_plan_id(Interval.MONTHLY) == "carevoice-organisation-monthly"
    assert plan_for_stripe_id("carevoice-network-annual") == (NETWORK, Interval.ANNUAL)


def test_sync_plans_twice_creates_nothing_new() -> None:
    call_command("sync_plans", stdout=StringIO())
    products, plans = local_count("products"), local_count("plans")
    rows = list(PlanPrice.objects.order_by("stripe_plan_id").values_list("stripe_plan_id", "pk"))
    assert [plan_id for plan_id, _ in rows] == sorted(
        plan.stripe_plan_id(interval) for plan in PLANS.values() for interval in Interval
    )

    out = StringIO()
    call_command("sync_plans", stdout=out)
    assert "0 created, 0 updated, 9 unchanged" in out.getvalue()
    assert (local_count("products"), local_count("plans")) == (products, plans)
    assert (
        list(PlanPrice.objects.order_by("stripe_plan_id").values_list("stripe_plan_id", "pk"))
        == rows
    )

    stripe_plan = stripe_api.retrieve_plan("carevoice-organisation-annual")
    assert (stripe_plan["amount"], stripe_plan["currency"], stripe_plan["interval"]) == (
        ORGANISATION.annual_pence,
        "gbp",
        "year",
    )
    assert stripe_plan["product"] == "carevoice-organisation"


def test_a_price_stripe_cannot_change_is_refused_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sync_plans()
    cheaper = type(ESSENTIALS)(**{**ESSENTIALS.__dict__, "monthly_pence": 3_900})
    monkeypatch.setitem(PLANS, "essentials", cheaper)
    with pytest.raises(PlanConflict, match="new id"):
        sync_plans()
    with pytest.raises(CommandError, match="cannot change a plan's price"):
        call_command("sync_plans", stdout=StringIO())


def test_a_sync_racing_another_takes_the_objects_the_other_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two syncs at once (two deploys, or two test workers on one Stripe server): both find
    a product or plan missing, both create it, and the second is refused as already there."""
    sync_plans()
    products, plans = local_count("products"), local_count("plans")
    # This sync looks before the other's objects were made...
    monkeypatch.setattr(stripe_api, "retrieve_product", lambda product_id: None)
    monkeypatch.setattr(stripe_api, "retrieve_plan", lambda plan_id: None)
    report = sync_plans()  # ...and is refused when it creates them: they are taken
    assert len(report.created) == len(PLANS) * (1 + len(Interval))
    assert (local_count("products"), local_count("plans")) == (products, plans)
    made = stripe_api.create_plan(
        "carevoice-organisation-annual",
        product_id="carevoice-organisation",
        amount=ORGANISATION.annual_pence,
        currency="gbp",
        interval="year",
        nickname="ignored: the plan is there",
    )
    assert (made["id"], made["amount"]) == (
        "carevoice-organisation-annual",
        ORGANISATION.annual_pence,
    )
