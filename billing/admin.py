"""Billing in the hub's Django admin: webhook events (failures first, with "reprocess"),
subscriptions (with "check with Stripe") and the plans as synced."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from billing import reconciliation, webhooks
from billing.models import Invoice, PlanPrice, Subscription, WebhookEvent, WebhookState
from tenants.admin import site
from tenants.audit.recording import record_audit


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(WebhookEvent, site=site)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "type", "state", "attempts", "subscription", "short_outcome"]
    list_filter = ["state", "type"]
    search_fields = ["stripe_event_id", "type", "outcome"]
    readonly_fields = [
        "stripe_event_id",
        "type",
        "state",
        "received_at",
        "claimed_at",
        "processed_at",
        "attempts",
        "outcome",
        "subscription",
        "payload",
    ]
    actions = ["reprocess"]

    @admin.display(description="outcome")
    def short_outcome(self, event: WebhookEvent) -> str:
        return event.outcome[:120]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEvent]:
        return super().get_queryset(request).select_related("subscription__organisation")

    @admin.action(description="Reprocess the selected events now")
    def reprocess(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        results: dict[str, int] = {}
        for event in queryset.order_by("received_at"):
            state = webhooks.reprocess(event.pk)
            results[state] = results.get(state, 0) + 1
            record_audit(
                "billing.webhook_reprocessed",
                actor=request.user,
                summary=f"Reprocessed {event.type} {event.stripe_event_id}: {state}",
                target=event,
                request=request,
            )
        summary = ", ".join(f"{count} {state}" for state, count in sorted(results.items()))
        failed = results.get(WebhookState.FAILED, 0)
        self.message_user(
            request,
            f"Reprocessed: {summary}.",
            messages.WARNING if failed else messages.SUCCESS,
        )


class InvoiceInline(admin.TabularInline):
    model = Invoice
    extra = 0
    can_delete = False
    fields = ["issued_at", "stripe_invoice_id", "number", "status", "amount_due_pence"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Subscription, site=site)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "organisation",
        "plan",
        "interval",
        "status",
        "past_due_since",
        "current_period_end",
        "synced_at",
    ]
    list_filter = ["status", "plan", "interval"]
    search_fields = [
        "reference",
        "organisation__name",
        "stripe_customer_id",
        "stripe_subscription_id",
    ]
    # Stripe is the source of truth: rows change through webhooks and reconciliation only.
    readonly_fields = [
        "reference",
        "organisation",
        "billing_name",
        "billing_email",
        "stripe_customer_id",
        "stripe_subscription_id",
        "status",
        "plan",
        "interval",
        "current_period_end",
        "cancel_at_period_end",
        "past_due_since",
        "synced_at",
        "created_at",
    ]
    inlines = [InvoiceInline]
    actions = ["check_with_stripe"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Check the selected subscriptions with Stripe now")
    def check_with_stripe(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        repaired = 0
        for row in queryset:
            try:
                changed = reconciliation.reconcile_subscription(row.pk)
            except Exception as exc:  # noqa: BLE001 - shown to the operator
                self.message_user(request, f"{row.reference}: {exc}", messages.ERROR)
                continue
            repaired += bool(changed)
            record_audit(
                "billing.checked",
                actor=request.user,
                summary=f"Checked {row.reference} with Stripe"
                + (f": {', '.join(changed)} repaired" if changed else ": no drift"),
                target=row,
                request=request,
            )
        self.message_user(request, f"Checked {queryset.count()}; repaired {repaired}.")


@admin.register(PlanPrice, site=site)
class PlanPriceAdmin(ReadOnlyAdmin):
    list_display = ["stripe_plan_id", "plan", "interval", "amount_pence", "currency", "synced_at"]
