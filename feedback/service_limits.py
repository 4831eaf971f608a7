"""Service-level permissions: staff limited to some services, and service administrators.

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
  (to themselves, no network rules); the alert emails they see are their own, the missed
  response targets and emerging themes their services';
- **thanks passed on**, the **learned themes**, **leaflets, posters and screens** and
  **invitations to tell** are of their services only.

A **service administrator** (`ServiceLimit.manages`, given by an administrator) is limited
to their services like anyone, and also moves the staff limited within them among them
(never widening anyone's access) and manages every alert rule about their services.

Their **long PDFs** keep the limit on their row (the worker applies it; they open only
their own), their **saved reports** are about theirs (one about all services opens on
theirs), and a limited administrator's **schedules** are their own, count only their
services and carry no committee packs. **Any scheduled report** is narrowed to its
recipient's services when the recipient is limited (`narrowest`, `limit_of_address`), and
whole-organisation committee packs never reach them.

A service administrator also **invites** members and responders limited within their
services (onboarding/invitations.py; the limit is made with the account, in the
acceptance's transaction) and switches the accounts of the staff they manage off and on.
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
from tenants.accounts.second_factor_middleware import SIGN_IN_VIEWS
from tenants.audit.recording import record_audit

# What a limited person may open: signing in and out (the second factor's SIGN_IN_VIEWS),
# their own account, and the pages below that scope to their services. Every other
# workspace page is refused.
ALLOWED_VIEWS = SIGN_IN_VIEWS | frozenset(
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
        # Long PDFs (the limit kept on the row, applied by the worker; their own only), saved
        # reports (those about all services open on theirs) and, for an administrator, their
        # own schedules, whose reports count their services only. A delivery's signed link is
        # the recipient's report, narrowed to their services when they are limited.
        "reports:long_pdf_start",
        "reports:long_pdf",
        "reports:long_pdf_status",
        "reports:long_pdf_download",
        "report_schedules:saved",
        "report_schedules:saved_open",
        "report_schedules:saved_delete",
        "report_schedules:schedules",
        "report_schedules:schedule_delete",
        "report_schedules:download",
        # Their own alert rules, about their services only (alerts/forms.py `within`).
        "alerts:rules",
        "alerts:new_rule",
        "alerts:edit_rule",
        "alerts:toggle_rule",
        # Their own alert emails; their services' overdue stories and emerging themes.
        "alerts:deliveries",
        "alerts:delivery",
        "alerts:breaches",
        "alerts:emerging_themes",
        "alerts:review_emerging_theme",
        # Links in emails that turn them off (signed, their own).
        "alerts:unsubscribe",
        "feedback:stop_thanks_emails",
        # A service administrator's: the staff limited within their services (the views
        # refuse anyone else).
        "feedback:service_limits",
        "feedback:service_limit",
        "feedback:service_limit_account",
        # Scoped to their services: thanks passed on (and their own thanks emails), the
        # learned themes of their stories, leaflets, posters and screens, and invitations to
        # tell.
        "feedback:thanks",
        "feedback:my_thanks_emails",
        "feedback:themes",
        "feedback:reach",
        "feedback:reach_download",
        "onboarding:tell_invitations",
        "onboarding:staff_invitations",
        "onboarding:resend_invitation",
        "onboarding:revoke_invitation",
        "accounts:profile",
        "accounts:sessions",
        "accounts:password_change",
        "accounts:password_change_done",
        "second_factor:manage",
        "second_factor:new_recovery_codes",
        "second_factor:remove",
        "media",
        "security-txt",
        "security-policy",
    }
)
_CACHE = "_limited_services"
_MANAGES = "_manages_services"


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
        setattr(user, _MANAGES, bool(limit and limit.manages))
    return getattr(user, _CACHE)


def is_service_administrator(user: User) -> bool:
    """Whether `user` is a service administrator (read with `limited_services`)."""
    limited_services(user)
    return bool(getattr(user, _MANAGES, False))


def limit_of_address(email: str) -> frozenset[int] | None:
    """The services the active account with this address is limited to; None for an
    unlimited account or an address with no account (a report's recipient, say)."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    return limited_services(user) if user is not None else None


def narrowest(*limits: Iterable[int] | None) -> frozenset[int] | None:
    """The services every one of `limits` allows (None: no limit at all)."""
    found: frozenset[int] | None = None
    for limit in limits:
        if limit is not None:
            found = frozenset(limit) if found is None else found & frozenset(limit)
    return found


def managed_services(user: User) -> frozenset[int] | None:
    """The services a service administrator manages (subtrees expanded); None for anyone
    else. An administrator without a limit manages everything, as an administrator."""
    limit = ServiceLimit.objects.filter(user_id=user.pk, manages=True).first()
    if limit is None:
        return None
    return subtree(limit.services.values_list("pk", flat=True))


def administers_everything(user: User) -> bool:
    """An administrator who sees every service: one limited to some is, for what is about
    services, as any member of staff limited to them."""
    return user.has_role(Role.ADMINISTRATOR) and limited_services(user) is None


def may_manage_limits(user: User) -> bool:
    """Administrators who see every service, and service administrators."""
    return administers_everything(user) or managed_services(user) is not None


def managed_staff(user: User):  # noqa: ANN201 - a QuerySet of User
    """Whose services (and account) `user` may set: everyone, for an administrator who sees
    every service; for a service administrator, the members and responders limited within
    their services."""
    people = User.objects.all()  # switched-off accounts too: they can be switched back on
    managed = managed_services(user)
    if managed is None:
        return people
    inside = [
        limit.user_id
        for limit in ServiceLimit.objects.prefetch_related("services")
        if limit.user_id != user.pk and {s.pk for s in limit.services.all()} <= managed
    ]
    # Members and responders: an administrator is not a service administrator's to manage.
    return people.filter(pk__in=inside).exclude(role=Role.ADMINISTRATOR)


def covers(user: User, within: Iterable[int] | None) -> bool:
    """Whether `user` may open something made for the services `within` (None: made for
    every service), such as an export or a long PDF: anyone without a limit; a limited
    person only what was made within their services as they are now (a colleague's link,
    or their own made before their limit was narrowed, is refused)."""
    allowed = limited_services(user)
    if allowed is None:
        return True
    return within is not None and set(within) <= allowed


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
    # What `limited_services` read from this object before is out of date now.
    user.__dict__.pop(_CACHE, None)
    user.__dict__.pop(_MANAGES, None)


def services_for_invitation(actor: User, service_ids: Iterable[int], role: str) -> list[int] | None:
    """The services a person `actor` invites will be limited to (None: every service), or
    LimitError. An administrator who sees every service may limit them or not; a service
    administrator invites members and responders only, limited within their own services;
    anyone else limited to some services invites nobody."""
    chosen = sorted(set(service_ids))
    if len(Service.objects.filter(pk__in=chosen, is_active=True)) != len(chosen):
        raise LimitError("Choose among the organisation's services.")
    managed = managed_services(actor)
    if managed is None:
        if not actor.has_role(Role.ADMINISTRATOR) or limited_services(actor) is not None:
            raise LimitError("Only administrators and service administrators invite staff.")
        return chosen or None
    if role == Role.ADMINISTRATOR:
        raise LimitError("A service administrator invites members and responders only.")
    if not chosen or not set(chosen) <= managed:
        raise LimitError(
            "Choose the services they will see, among your own: only an administrator can "
            "invite someone who sees every service."
        )
    return chosen


def limit_new_account(
    user: User,
    service_ids: Iterable[int],
    *,
    actor: User | None,
    request: HttpRequest | None = None,
) -> ServiceLimit:
    """Limit an account just made from an invitation to the services it named, in the
    caller's transaction. LimitError when none of them is left (deleted since): the account
    must not be made, as it would see every service."""
    services = list(Service.objects.filter(pk__in=list(service_ids)))
    if not services:
        raise LimitError(
            "The services this invitation was for no longer exist: ask for a new invitation."
        )
    limit = ServiceLimit.objects.create(user=user)
    limit.services.set(services)
    record_audit(
        "staff.services_limited",
        actor=actor or user,
        target=user,
        summary=(
            f"Limited {user.full_name} to " + ", ".join(s.name for s in services) + " (invited)"
        )[:300],
        detail={"services": [s.pk for s in services], "manages": False, "invited": True},
        request=request,
    )
    return limit


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
        request.service_administrator = is_service_administrator(user)
        try:
            name = resolve(request.path_info, urlconf=getattr(request, "urlconf", None)).view_name
        except Resolver404:
            return self.get_response(request)
        if name in ALLOWED_VIEWS:
            return self.get_response(request)
        return render(request, "feedback/service_limited.html", status=403)
