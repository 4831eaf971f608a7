"""Subscriptions: the rows that mirror Stripe, how Stripe's answer is applied to them, and the
changes an administrator makes (plan, interval, cancelling).

Stripe is the source of truth. Every change here starts from a subscription as Stripe
returns it *now* (`apply_stripe_subscription`), never from an event's snapshot, so events
that arrive late, twice or out of order all end in the state Stripe holds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from billing import stripe_api
from billing.models import LIVE_STATUSES, Invoice, Subscription, SubscriptionStatus
from billing.plans import Interval, Plan, get_interval, get_plan, plan_for_stripe_id
from billing.signals import subscription_changed
from tenants.audit.recording import record_audit
from tenants.models import Organisation

logger = logging.getLogger(__name__)

STRIPE_ACTOR = "Stripe"


class BillingError(Exception):
    """The billing change cannot be made; the message says why, for the person asking."""


class BillingMismatch(BillingError):
    """Stripe's subscription belongs to another customer than the row it points at."""


def reference_for(organisation: Organisation) -> str:
    return f"organisation:{organisation.pk}"


def subscription_for(organisation: Organisation) -> Subscription | None:
    """The organisation's row, if it ever started paying.

    TRICKY: no schema_context here. Billing tables live in the public schema, which is on
    every tenant's search path; switching schemas would cost a workspace request two more
    `SET search_path` statements (tenants/routing.py keeps it to one).
    """
    return Subscription.objects.filter(organisation_id=organisation.pk).first()


def ensure_subscription(
    *, reference: str, name: str, email: str, organisation: Organisation | None
) -> Subscription:
    """The payer's row, made on first use (before any Stripe subscription exists)."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        row, created = Subscription.objects.get_or_create(
            reference=reference,
            defaults={"organisation": organisation, "billing_name": name, "billing_email": email},
        )
        changed = []
        if organisation is not None and row.organisation_id is None:
            row.organisation = organisation
            changed.append("organisation")
        if name and not row.billing_name:
            row.billing_name = name
            changed.append("billing_name")
        if email and not row.billing_email:
            row.billing_email = email
            changed.append("billing_email")
        if changed and not created:
            row.save(update_fields=changed)
    return row


@transaction.atomic
def attach_organisation(reference: str, organisation: Organisation) -> Subscription:
    """Link a sign-up's subscription to the organisation made for it (onboarding calls this
    once provisioning has finished)."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        row = Subscription.objects.select_for_update().get(reference=reference)
        if row.organisation_id not in (None, organisation.pk):
            raise BillingError("That payment belongs to another organisation.")
        row.organisation = organisation
        row.save(update_fields=["organisation"])
        audit_billing(
            row,
            "billing.organisation_attached",
            f"Subscription {reference} now pays for {organisation.name}",
            actor=None,
        )
    return row


# --- applying Stripe's state ---------------------------------------------------------------------


def _timestamp(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def _id(value: Any) -> str:
    """Stripe gives a related object as its id, or expanded as a dict."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def first_item(data: dict[str, Any]) -> dict[str, Any]:
    items = (data.get("items") or {}).get("data") or []
    return items[0] if items else {}


def plan_of(data: dict[str, Any]) -> tuple[Plan, Interval] | None:
    item = first_item(data)
    plan = item.get("plan") or item.get("price") or data.get("plan") or {}
    return plan_for_stripe_id(_id(plan))


def period_end_of(data: dict[str, Any]) -> datetime | None:
    # Older API versions (and the local server) put the period on the subscription; newer
    # ones on each item.
    return _timestamp(data.get("current_period_end") or first_item(data).get("current_period_end"))


def _should_adopt(row: Subscription, data: dict[str, Any]) -> bool:
    """Whether Stripe subscription `data`, which is not the row's, should replace it."""
    if not row.stripe_subscription_id:
        return True
    status = data.get("status", "")
    if row.status in LIVE_STATUSES:
        # Two running subscriptions for one payer: keep the one we have; the event says so.
        return False
    # The row's subscription has ended (or never started): a running one replaces it.
    return status in LIVE_STATUSES


@dataclass(frozen=True)
class Applied:
    subscription: Subscription
    changed: list[str]
    note: str = ""


def apply_stripe_subscription(
    row: Subscription, data: dict[str, Any], *, source: str, now: datetime | None = None
) -> Applied:
    """Make `row` say what Stripe's subscription `data` says. Idempotent.

    Call inside a transaction with `row` locked (select_for_update).
    """
    now = now or timezone.now()
    subscription_id = str(data.get("id") or "")
    customer_id = _id(data.get("customer"))
    if row.stripe_customer_id and customer_id and customer_id != row.stripe_customer_id:
        raise BillingMismatch(
            f"Stripe subscription {subscription_id} belongs to customer {customer_id}, "
            f"not to {row.reference}'s customer {row.stripe_customer_id}."
        )
    if subscription_id != row.stripe_subscription_id and not _should_adopt(row, data):
        return Applied(
            row,
            [],
            f"kept {row.stripe_subscription_id} ({row.status}); {subscription_id} "
            f"({data.get('status')}) is another subscription of the same payer",
        )
    before = {field: getattr(row, field) for field in _MIRRORED}
    previous_status = row.status
    row.stripe_subscription_id = subscription_id
    if customer_id:
        row.stripe_customer_id = customer_id
    row.status = str(data.get("status") or "")
    found = plan_of(data)
    if found is not None:
        row.plan, row.interval = found[0].key, found[1].value
    row.current_period_end = period_end_of(data)
    row.cancel_at_period_end = bool(data.get("cancel_at_period_end"))
    if row.status == SubscriptionStatus.PAST_DUE:
        row.past_due_since = row.past_due_since or now
    else:
        row.past_due_since = None
    changed = [field for field in _MIRRORED if getattr(row, field) != before[field]]
    row.synced_at = now
    row.save(update_fields=[*changed, "synced_at"])
    if row.status != previous_status:
        audit_billing(
            row,
            "billing.status_changed",
            f"Subscription {_status_label(previous_status)} → {_status_label(row.status)} "
            f"({source})",
            actor=None,
            actor_label=STRIPE_ACTOR,
            detail={"from": previous_status, "to": row.status, "subscription": subscription_id},
        )
        transaction.on_commit(
            lambda: subscription_changed.send(
                sender=Subscription, subscription=row, previous_status=previous_status
            )
        )
    return Applied(row, changed)


_MIRRORED = [
    "stripe_subscription_id",
    "stripe_customer_id",
    "status",
    "plan",
    "interval",
    "current_period_end",
    "cancel_at_period_end",
    "past_due_since",
]


def _status_label(status: str) -> str:
    return (
        SubscriptionStatus(status).label.lower() if status in SubscriptionStatus.values else status
    )


def record_invoice(row: Subscription, data: dict[str, Any]) -> Invoice:
    invoice, _ = Invoice.objects.update_or_create(
        stripe_invoice_id=str(data["id"]),
        defaults={
            "subscription": row,
            "number": data.get("number") or "",
            "status": data.get("status") or "",
            "amount_due_pence": int(data.get("amount_due") or 0),
            "amount_paid_pence": int(data.get("amount_paid") or 0),
            "currency": data.get("currency") or "gbp",
            "hosted_invoice_url": data.get("hosted_invoice_url") or "",
            "issued_at": _timestamp(data.get("created") or data.get("date")) or timezone.now(),
        },
    )
    return invoice


def subscription_id_of_invoice(data: dict[str, Any]) -> str:
    """An invoice's subscription: top-level in older API versions, under `parent` in newer."""
    direct = _id(data.get("subscription"))
    if direct:
        return direct
    parent = data.get("parent") or {}
    return _id((parent.get("subscription_details") or {}).get("subscription"))


def find_row_for(data: dict[str, Any]) -> Subscription | None:
    """The row a Stripe subscription belongs to: by its id, the reference we put in its
    metadata, or its customer."""
    rows = Subscription.objects.select_for_update()
    subscription_id = str(data.get("id") or "")
    if subscription_id:
        row = rows.filter(stripe_subscription_id=subscription_id).first()
        if row is not None:
            return row
    reference = (data.get("metadata") or {}).get(stripe_api.REFERENCE_KEY)
    if reference:
        row = rows.filter(reference=reference).first()
        if row is not None:
            return row
    customer_id = _id(data.get("customer"))
    if customer_id:
        return rows.filter(stripe_customer_id=customer_id).first()
    return None


def refresh_from_stripe(row: Subscription, *, source: str) -> Applied:
    """Read the payer's subscriptions from Stripe and apply the one that counts. Call inside
    a transaction with `row` locked."""
    candidates: list[dict[str, Any]] = []
    if row.stripe_customer_id:
        candidates = stripe_api.list_subscriptions(row.stripe_customer_id)
    elif row.stripe_subscription_id:
        candidates = [stripe_api.retrieve_subscription(row.stripe_subscription_id)]
    if not candidates:
        return Applied(row, [], "nothing in Stripe yet")
    own = next((c for c in candidates if c.get("id") == row.stripe_subscription_id), None)
    live = [c for c in candidates if c.get("status") in LIVE_STATUSES]
    if own is not None and (own.get("status") in LIVE_STATUSES or not live):
        chosen = own
    else:
        chosen = live[0] if live else candidates[0]
    return apply_stripe_subscription(row, chosen, source=source)


# --- changes an administrator makes --------------------------------------------------------------


@contextmanager
def _locked(organisation: Organisation) -> Iterator[Subscription]:
    with transaction.atomic():
        row = (
            Subscription.objects.select_for_update().filter(organisation_id=organisation.pk).first()
        )
        if row is None or not row.stripe_subscription_id:
            raise BillingError("There is no subscription to change: choose a plan and pay first.")
        yield row


def change_plan(
    organisation: Organisation,
    plan_key: str,
    interval_value: str,
    *,
    actor: Any,
    request: HttpRequest | None = None,
) -> Subscription:
    from billing.seats import check_plan_fits

    plan, interval = get_plan(plan_key), get_interval(interval_value)
    with _locked(organisation) as row:
        if row.status not in LIVE_STATUSES:
            raise BillingError("The subscription has ended: pay again to choose a plan.")
        if (row.plan, row.interval) == (plan.key, interval.value):
            return row
        check_plan_fits(organisation, plan)
        current = stripe_api.retrieve_subscription(row.stripe_subscription_id)
        item_id = first_item(current).get("id")
        if not item_id:
            raise BillingError("Stripe's subscription has no item to change; contact support.")
        previous = f"{row.get_plan_display()} ({row.get_interval_display().lower()})"
        updated = stripe_api.change_subscription_plan(
            row.stripe_subscription_id, item_id=str(item_id), plan_id=plan.stripe_plan_id(interval)
        )
        apply_stripe_subscription(row, updated, source="plan change")
        audit_billing(
            row,
            "billing.plan_changed",
            f"Changed plan from {previous} to {plan.name} ({interval.label.lower()})",
            actor=actor,
            request=request,
            detail={"plan": plan.key, "interval": interval.value},
        )
    return row


def cancel_subscription(
    organisation: Organisation,
    *,
    at_period_end: bool,
    actor: Any,
    request: HttpRequest | None = None,
) -> Subscription:
    with _locked(organisation) as row:
        if row.status not in LIVE_STATUSES:
            raise BillingError("The subscription has already ended.")
        if at_period_end:
            updated = stripe_api.set_cancel_at_period_end(row.stripe_subscription_id, True)
            summary = "Cancelled the subscription at the end of the period"
        else:
            updated = stripe_api.cancel_subscription(row.stripe_subscription_id)
            summary = "Cancelled the subscription now"
        apply_stripe_subscription(row, updated, source="cancelled by an administrator")
        audit_billing(row, "billing.cancelled", summary, actor=actor, request=request)
    return row


def resume_subscription(
    organisation: Organisation, *, actor: Any, request: HttpRequest | None = None
) -> Subscription:
    with _locked(organisation) as row:
        if row.status not in LIVE_STATUSES or not row.cancel_at_period_end:
            raise BillingError("The subscription is not waiting to be cancelled.")
        updated = stripe_api.set_cancel_at_period_end(row.stripe_subscription_id, False)
        apply_stripe_subscription(row, updated, source="resumed by an administrator")
        audit_billing(row, "billing.resumed", "Kept the subscription", actor=actor, request=request)
    return row


def check_with_stripe(
    organisation: Organisation, *, actor: Any, request: HttpRequest | None = None
) -> Applied:
    """An administrator's "check with Stripe now": the reconciliation, for one organisation."""
    with transaction.atomic():
        row = (
            Subscription.objects.select_for_update().filter(organisation_id=organisation.pk).first()
        )
        if row is None:
            raise BillingError("There is no subscription yet.")
        applied = refresh_from_stripe(row, source="checked by an administrator")
        audit_billing(
            row,
            "billing.checked",
            "Checked the subscription with Stripe"
            + (f": {', '.join(applied.changed)} updated" if applied.changed else ": no change"),
            actor=actor,
            request=request,
        )
    return applied


# --- audit ---------------------------------------------------------------------------------------


def audit_billing(
    row: Subscription,
    action: str,
    summary: str,
    *,
    actor: Any,
    request: HttpRequest | None = None,
    actor_label: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record in the organisation's own audit log (its administrators read it there), or in
    the public schema's for a sign-up that has no organisation yet."""
    organisation = row.organisation if row.organisation_id else None
    kwargs = {
        "actor": actor,
        "summary": summary,
        "target": row,
        "detail": detail,
        "request": request,
        "actor_label": actor_label,
    }
    if organisation is None:
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            record_audit(action, **kwargs)
    elif connection.schema_name == organisation.schema_name:
        record_audit(action, **kwargs)
    else:
        # The actor (Stripe, a task, platform staff) is not an account of this schema.
        label = actor_label or getattr(actor, "email", None) or STRIPE_ACTOR
        with tenant_context(organisation):
            record_audit(action, **{**kwargs, "actor": None, "actor_label": label})
