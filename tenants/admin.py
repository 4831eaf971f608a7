"""Django admin on the hub, for platform staff. Organisation staff never see it."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from tenants.accounts.forms import RATE_LIMITED, RateLimitedLoginForm
from tenants.accounts.models import User
from tenants.accounts.second_factor import SecondFactorError, has_second_factor, reset_second_factor
from tenants.audit.models import AuditEvent
from tenants.audit.recording import record_audit
from tenants.crypto import ContactKeyError
from tenants.messages import discard_message, masked_address, retry_message
from tenants.models import (
    Domain,
    Network,
    NetworkMembership,
    Organisation,
    OutboxMessage,
    OutboxMessageState,
)


class RateLimitedAdminLoginForm(RateLimitedLoginForm, AdminAuthenticationForm):
    pass


class CarevoiceAdminSite(admin.AdminSite):
    site_header = "Carevoice platform administration"
    site_title = "Carevoice admin"
    login_form = RateLimitedAdminLoginForm

    def has_permission(self, request: HttpRequest) -> bool:
        # Only after the second factor (SecondFactorMiddleware sends the rest to it first).
        return super().has_permission(request) and request.user.is_verified()

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            # TRICKY: without `next`, Django falls back to LOGIN_REDIRECT_URL, which names a
            # workspace page the hub does not have: a 500 for any client that omits it.
            request.GET = request.GET.copy()
            request.GET[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        response = super().login(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        if form is not None and any(
            e.code == RATE_LIMITED for e in form.errors.as_data().get("__all__", [])
        ):
            response.status_code = 429
        return response

    def logout(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # TRICKY: as with login, Django falls back to LOGOUT_REDIRECT_URL, a workspace page
        # the hub does not have: signing out of the hub's admin answered 500. Back to its
        # sign-in page instead.
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            request.GET = request.GET.copy()
            request.GET[REDIRECT_FIELD_NAME] = reverse("admin:login", current_app=self.name)
        return super().logout(request, extra_context)


site = CarevoiceAdminSite(name="admin")


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Organisation, site=site)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "ods_code", "region", "status", "created_at"]
    list_filter = ["kind", "status", "region"]
    search_fields = ["name", "slug", "ods_code"]
    readonly_fields = ["schema_name", "slug", "created_at", "ready_at"]
    inlines = [DomainInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # New organisations are provisioned (schema cloned), never added as a bare row.
        return False


class MembershipInline(admin.TabularInline):
    model = NetworkMembership
    extra = 0


@admin.register(Network, site=site)
class NetworkAdmin(admin.ModelAdmin):
    list_display = ["name", "lead", "created_at"]
    inlines = [MembershipInline]


@admin.register(User, site=site)
class PlatformUserAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "full_name",
        "is_staff",
        "is_superuser",
        "is_active",
        "second_factor",
        "last_login",
    ]
    search_fields = ["email", "full_name"]
    exclude = ["password", "user_permissions"]
    readonly_fields = ["last_login", "date_joined"]
    actions = ["reset_second_factors"]

    @admin.display(boolean=True, description="Second factor")
    def second_factor(self, user: User) -> bool:
        return has_second_factor(user)

    @admin.action(description="Reset the second factor (lost phone): set up again at next sign-in")
    def reset_second_factors(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        done = 0
        for user in queryset:
            try:
                reset_second_factor(user, actor=request.user, request=request)
            except SecondFactorError as exc:
                self.message_user(request, f"{user.email}: {exc}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} second factor{'s' if done != 1 else ''} reset.")


@admin.register(AuditEvent, site=site)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "actor_label", "action", "summary"]
    list_filter = ["action"]
    search_fields = ["actor_label", "summary"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OutboxMessage, site=site)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Outgoing emails (tenants/messages.py), for platform staff to see what is stuck and
    retry it, or discard a parked one they have dealt with. The subject, bodies and
    attachments are never shown, the address only masked."""

    list_display = [
        "created_at",
        "kind",
        "channel",
        "state",
        "attempts",
        "next_attempt_at",
        "last_error",
        "organisation",
        "masked_recipient",
    ]
    list_filter = ["state", "channel", "kind"]
    # Only these are shown on a message's page: never the subject or the bodies.
    fields = [
        "kind",
        "channel",
        "key",
        "state",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "last_error",
        "organisation",
        "masked_recipient",
        "created_at",
        "sent_at",
    ]
    readonly_fields = fields
    actions = ["retry_now", "discard"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[OutboxMessage]:
        # The subject, bodies and attachments are never even loaded (nor decrypted) here.
        return (
            super()
            .get_queryset(request)
            .select_related("organisation")
            .defer("recipient", "subject", "text_body", "html_body", "attachments")
        )

    @admin.display(description="Recipient")
    def masked_recipient(self, message: OutboxMessage) -> str:
        try:
            return masked_address(message.recipient)
        except ContactKeyError:
            # Written under a key since dropped: the page still lists it.
            return "(unreadable with the current keys)"

    @admin.action(description="Retry now (parked or waiting messages)")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        retried = 0
        waiting = [OutboxMessageState.PARKED, OutboxMessageState.WAITING]
        for message in queryset.filter(state__in=waiting):
            if retry_message(message):
                retried += 1
                record_audit(
                    "outbox.message_retried",
                    actor=request.user,
                    target=message,
                    summary=f"Retried outgoing email {message.pk} ({message.kind}) "
                    f"after {message.attempts} attempts",
                    detail={"kind": message.kind, "state": message.state},
                    request=request,
                )
        self.message_user(request, f"{retried} message{'s' if retried != 1 else ''} retried.")

    @admin.action(description="Discard (parked messages dealt with another way)")
    def discard(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        discarded = 0
        for message in queryset.filter(state=OutboxMessageState.PARKED):
            with transaction.atomic():  # deleted with its audit row, or neither
                if not discard_message(message):
                    continue
                record_audit(
                    "outbox.message_discarded",
                    actor=request.user,
                    target=message,
                    summary=f"Discarded parked outgoing email {message.pk} ({message.kind}) "
                    f"after {message.attempts} attempts",
                    detail={"kind": message.kind, "attempts": message.attempts},
                    request=request,
                )
            discarded += 1
        skipped = queryset.exclude(state=OutboxMessageState.PARKED).count()
        text = f"{discarded} message{'s' if discarded != 1 else ''} discarded."
        if skipped:
            text += f" {skipped} not parked, so kept: only a parked message can be discarded."
        self.message_user(request, text, messages.WARNING if skipped else messages.INFO)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
