"""Make Stripe's products and plans agree with billing/plans.py, and record them.

Idempotent: a product or plan that exists with the right values is left alone, so running
it twice creates nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from billing import stripe_api
from billing.models import PlanPrice
from billing.plans import CURRENCY, PLANS, STRIPE_INTERVAL, Interval


class PlanConflict(Exception):
    """Stripe holds a plan under one of our ids with another price; Stripe never changes a
    plan's price, so the code needs a new id for the new price."""


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def sync_plans() -> SyncReport:
    report = SyncReport()
    for plan in PLANS.values():
        description = f"{plan.audience}; {plan.staff_seats} staff accounts"
        product = stripe_api.retrieve_product(plan.stripe_product_id)
        if product is None:
            stripe_api.create_product(plan.stripe_product_id, f"Carevoice {plan.name}", description)
            report.created.append(plan.stripe_product_id)
        elif product.get("name") != f"Carevoice {plan.name}" or (
            product.get("description") != description
        ):
            stripe_api.update_product(plan.stripe_product_id, f"Carevoice {plan.name}", description)
            report.updated.append(plan.stripe_product_id)
        else:
            report.unchanged.append(plan.stripe_product_id)
        for interval in Interval:
            plan_id = plan.stripe_plan_id(interval)
            wanted = {
                "amount": plan.price(interval),
                "currency": CURRENCY,
                "interval": STRIPE_INTERVAL[interval],
            }
            existing = stripe_api.retrieve_plan(plan_id)
            if existing is None:
                stripe_api.create_plan(
                    plan_id,
                    product_id=plan.stripe_product_id,
                    nickname=f"{plan.name}, {interval.label.lower()}",
                    **wanted,
                )
                report.created.append(plan_id)
            else:
                found = {key: existing.get(key) for key in wanted}
                if found != wanted:
                    raise PlanConflict(
                        f"Stripe's plan {plan_id} is {found}, but billing/plans.py says "
                        f"{wanted}. Stripe cannot change a plan's price: give the new price a "
                        "new id in billing/plans.py."
                    )
                report.unchanged.append(plan_id)
            _record(plan.key, interval, plan.stripe_product_id, plan_id, wanted)
    return report


def _record(plan_key: str, interval: Interval, product_id: str, plan_id: str, wanted: dict) -> None:
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        PlanPrice.objects.update_or_create(
            plan=plan_key,
            interval=interval.value,
            defaults={
                "amount_pence": wanted["amount"],
                "currency": wanted["currency"],
                "stripe_product_id": product_id,
                "stripe_plan_id": plan_id,
                "synced_at": timezone.now(),
            },
        )
