"""Staff limited to some services (the first part of service-level permissions).

An administrator can limit a member of staff to some of the organisation's services, the
services within them included (`ServiceLimit`, /services/limits/). For a limited person:

- **deny by default**: `ServiceLimitMiddleware` answers 403 to every workspace page that is
  not on ALLOWED_VIEWS, so a page that has not learned to scope to services can never show
  other services' stories (tests/feedback/test_service_limits.py sweeps every URL);
- the **inbox** lists only stories about their services (its filters and counts too), a
  **story** outside them is a 404, and so are its triage and its responses' edit pages;
- the **live dashboard** (every callback) and the **stories summary** and **You said, we
  did** (page, CSV, PDF) are of their services only, whatever service is asked for
  (`dashboards.filters.tenant_scope(within=...)`), and offer only theirs to choose;
- an **export** of the inbox holds only their services' stories (kept on the export, so the
  worker applies it);
- **alert emails**: an instant alert reaches them only for a story about their services,
  and an emerging theme only when found at one of them; digests and network alerts, which
  cover many stories, do not reach them (`alerts.matching.recipients`).

- their **alert rules** are their own only, must name services, and may name only theirs
  (to themselves, no network rules).

A **service administrator** (`ServiceLimit.manages`, given by an administrator) is limited
to their services like anyone, and also moves the staff limited within them among them
(never widening anyone's access) and manages every alert rule about their services.

Not built yet (the issue stays open): long PDFs, saved and scheduled reports for limited
staff (refused), and a service administrator's own invitations of new staff.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils import timezone

from feedback.models import Service, ServiceLimit, Story
from tenants.accounts.models import Role, User
from tenants.audit.recording import record_audit

# What a limited person may open: the inbox and its stories, their exports, and signing in
# and out and their own account. Every other workspace page is refused.
ALLOWED_VIEWS = frozenset(
    {
        "workspace:home",
        "feedback:stories",
        "feedback:story",
        "feedback:triage",
        "feedback:edit_response",
        "feedback:export_inbox",
        "feedback:exports",
        "feedback:export",
        "feedback:export_status",
        "feedback:export_download",
        # The live dashboard (its page, then its callbacks, an unnamed route) and the
        # stories summary and You said, we did, each scoped to their services.
        "dashboards:index",
        "dashboards:live",
        "dashboards:dashboards.views.live",
        "reports:summary",
        "reports:summary_csv",
        "reports:summary_pdf",
        "reports:you_said_we_did",
        "reports:you_said_we_did_csv",
        "reports:you_said_we_did_pdf",
        # Their own alert rules, about their services only (alerts/forms.py `within`).
        "alerts:rules",
        "alerts:new_rule",
        "alerts:edit_rule",
        "alerts:toggle_rule",
        # Links in emails that turn them off (signed, their own).
        "alerts:unsubscribe",
        "feedback:stop_thanks_emails",
        # A service administrator's: the staff limited within their services (the views
        # refuse anyone else).
        "feedback:service_limits",
        "feedback:service_limit",
        "accounts:login",
        "accounts:logout",
        "accounts:profile",
        "accounts:sessions",
        "accounts:password_change",
        "accounts:password_change_done",
        "accounts:password_reset",
        "accounts:password_reset_done",
        "accounts:password_reset_confirm",
        "accounts:password_reset_complete",
        "accounts:sso_start",
        "accounts:sso_callback",
        "second_factor:verify",
        "second_factor:set_up",
        "second_factor:manage",
        "second_factor:new_recovery_codes",
        "second_factor:remove",
        "media",
        "security-txt",
        "security-policy",
    }
)
_CACHE = "_limited_services"


def subtree(service_ids: Iterable[int]) -> frozenset[int]:
    """These services and every service within them."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in Service.objects.values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    found, queue = set(), list(service_ids)
    while queue:
        current = queue.pop()
        if current not in found:
            found.add(current)
            queue.extend(children.get(current, ()))
    return frozenset(found)


def limited_services(user: User) -> frozenset[int] | None:
    """The services `user` is limited to (subtrees expanded), or None: every service. Read
    once per user object (in the active schema)."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, _CACHE):
        limit = ServiceLimit.objects.filter(user_id=user.pk).first()
        chosen = list(limit.services.values_list("pk", flat=True)) if limit else None
        setattr(user, _CACHE, None if chosen is None else subtree(chosen))
    return getattr(user, _CACHE)


def managed_services(user: User) -> frozenset[int] | None:
    """The services a service administrator manages (subtrees expanded); None for anyone
    else. An administrator without a limit manages everything, as an administrator."""
    limit = ServiceLimit.objects.filter(user_id=user.pk, manages=True).first()
    if limit is None:
        return None
    return subtree(limit.services.values_list("pk", flat=True))


def may_manage_limits(user: User) -> bool:
    """Administrators who see every service, and service administrators."""
    if user.has_role(Role.ADMINISTRATOR) and limited_services(user) is None:
        return True
    return managed_services(user) is not None


def managed_staff(user: User):  # noqa: ANN201 - a QuerySet of User
    """Whose services `user` may set: everyone, for an administrator who sees every
    service; for a service administrator, the staff limited within their services."""
    people = User.objects.filter(is_active=True)
    managed = managed_services(user)
    if managed is None:
        return people
    inside = [
        limit.user_id
        for limit in ServiceLimit.objects.prefetch_related("services")
        if limit.user_id != user.pk and {s.pk for s in limit.services.all()} <= managed
    ]
    return people.filter(pk__in=inside)


def story_in_scope(user: User, story: Story) -> bool:
    allowed = limited_services(user)
    if allowed is None:
        return True
    return bool(allowed.intersection(story.services.values_list("pk", flat=True)))


class LimitError(Exception):
    """The limit would leave the workspace unmanageable; the message says why."""


def set_limit(
    user: User,
    services: list[Service],
    *,
    actor: User,
    manages: bool = False,
    request: HttpRequest | None = None,
) -> None:
    """Limit `user` to `services` (none: no limit, every service); `manages`: they become a
    service administrator of them. A service administrator may only move staff among their
    own services, and neither lift a limit nor make another service administrator."""
    managed = managed_services(actor)
    if managed is not None:
        if not managed_staff(actor).filter(pk=user.pk).exists():
            raise LimitError("They are not limited within your services.")
        if not services or not {s.pk for s in services} <= managed or manages:
            raise LimitError(
                "Choose among your own services: only an administrator can widen someone's "
                "access or make a service administrator."
            )
    with transaction.atomic():
        if services and user.role == Role.ADMINISTRATOR:
            others = User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).exclude(
                pk=user.pk
            )
            if not others.filter(service_limit__isnull=True).exists():
                raise LimitError(
                    "Someone must still see every service: limit another administrator's "
                    "access only once at least one administrator has no limit."
                )
        if services:
            limit, _ = ServiceLimit.objects.get_or_create(user=user)
            limit.services.set(services)
            limit.manages = manages
            limit.updated_at = timezone.now()
            limit.save(update_fields=["updated_at", "manages"])
            summary = f"Limited {user.full_name} to " + ", ".join(s.name for s in services)
            if manages:
                summary += ", as their service administrator"
        else:
            ServiceLimit.objects.filter(user=user).delete()
            summary = f"{user.full_name} sees every service again"
        record_audit(
            "staff.services_limited",
            actor=actor,
            target=user,
            summary=summary[:300],
            detail={"services": [s.pk for s in services], "manages": manages},
            request=request,
        )


def allowed_for(user_ids: Iterable[int], service_ids: Iterable[int] | None) -> set[int]:
    """Of these accounts, those who may hear of something about `service_ids` (None: about
    many services at once, as a digest): the unlimited, and the limited whose services it
    is about."""
    ids = set(user_ids)
    limits = {
        limit.user_id: subtree(limit.services.values_list("pk", flat=True))
        for limit in ServiceLimit.objects.filter(user_id__in=ids)
    }
    about = set(service_ids) if service_ids is not None else None
    return {
        pk
        for pk in ids
        if pk not in limits or (about is not None and limits[pk].intersection(about))
    }


class ServiceLimitMiddleware:
    """Deny by default: a limited person reaches only ALLOWED_VIEWS of a workspace."""

    def __init__(self, get_response) -> None:  # noqa: ANN001
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        user = getattr(request, "user", None)
        if (
            tenant is None
            or tenant.is_hub
            or user is None
            or not user.is_authenticated
            or request.path_info.startswith(("/static/", "/healthz", "/livez"))
        ):
            return self.get_response(request)
        if limited_services(user) is None:
            return self.get_response(request)
        request.service_limited = True  # the menu shows only what they may open
        try:
            name = resolve(request.path_info, urlconf=getattr(request, "urlconf", None)).view_name
        except Resolver404:
            return self.get_response(request)
        if name in ALLOWED_VIEWS:
            return self.get_response(request)
        return render(request, "feedback/service_limited.html", status=403)
