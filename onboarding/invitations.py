"""Inviting staff to an organisation's workspace by email.

An administrator invites an address with a role; the person gets a signed link to the
organisation's own domain, valid for seven days, and sets their name and password there,
which creates their account in that organisation's schema. The link names the organisation
and a nonce that every resend replaces, so a link works only on its own workspace, only
while it is the newest, and only once. The plan's seat limit (asked of tenants.gate) is
checked when inviting (counting invitations still open) and again when accepting.

Runs inside the organisation's schema.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.db import connection, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from feedback.service_limits import (
    LimitError,
    limit_new_account,
    managed_services,
    services_for_invitation,
)
from onboarding import emails
from onboarding.models import Invitation, InvitationStatus
from tenants.accounts.models import Role, User
from tenants.accounts.sso import SsoError
from tenants.audit.recording import record_audit
from tenants.gate import check_seat_available
from tenants.models import Organisation

INVITATION_LIFETIME = timedelta(days=7)
SALT = "carevoice.staff-invitation"


class InvitationError(Exception):
    """The invitation cannot be sent, changed or accepted; the message says why."""


def current_organisation() -> Organisation:
    tenant = connection.tenant
    if getattr(tenant, "pk", None) is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
        raise RuntimeError("Invitations are made inside an organisation's schema.")
    return tenant


def open_invitations():  # noqa: ANN201 - a QuerySet of Invitation
    return Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def invitations_seen_by(user: User):  # noqa: ANN201 - a QuerySet of Invitation
    """The invitations `user` may see, resend and revoke: all, for an administrator; a
    service administrator's, those limited within their own services."""
    managed = managed_services(user)
    if managed is None:
        return Invitation.objects.all()
    return Invitation.objects.filter(limited_to__contained_by=sorted(managed)).exclude(
        limited_to=[]
    )


def active_staff_count() -> int:
    return User.objects.filter(is_active=True).count()


def make_token(organisation: Organisation, invitation: Invitation) -> str:
    return signing.dumps(
        {"o": organisation.pk, "i": invitation.pk, "n": invitation.nonce}, salt=SALT
    )


def invitation_url(organisation: Organisation, invitation: Invitation) -> str:
    path = reverse(
        "onboarding:accept_invitation",
        kwargs={"token": make_token(organisation, invitation)},
        urlconf=settings.ROOT_URLCONF,
    )
    return organisation.workspace_url(path)


def _queue_email(organisation: Organisation, invitation: Invitation) -> None:
    """Write the invitation's email to the outbox, in the caller's transaction."""
    url = invitation_url(organisation, invitation)
    inviter = invitation.invited_by.full_name if invitation.invited_by else organisation.name
    emails.queue_staff_invitation(organisation, invitation, url, inviter=inviter)


@transaction.atomic
def invite_staff(
    *,
    email: str,
    role: Role | str,
    actor: User,
    services: list[int] | None = None,
    request: HttpRequest | None = None,
) -> Invitation:
    """Invite `email` as `role`; `services`: the services their account will be limited to
    (none: every service). A service administrator invites within their own services only
    (feedback/service_limits.py `services_for_invitation`, whose LimitError is raised as an
    InvitationError)."""
    organisation = current_organisation()
    email = email.strip().lower()
    role = Role(role)
    try:
        limited_to = services_for_invitation(actor, services or [], role)
    except LimitError as refused:
        raise InvitationError(str(refused)) from None
    if User.objects.filter(email__iexact=email).exists():
        raise InvitationError(f"{email} already has an account here: see Staff.")
    waiting = Invitation.objects.select_for_update().filter(
        email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    )
    for earlier in waiting:
        if earlier.is_open:
            raise InvitationError(
                f"{email} has been invited already: resend that invitation, or revoke it first."
            )
        # An expired invitation makes way for the new one.
        earlier.revoked_at = timezone.now()
        earlier.save(update_fields=["revoked_at"])
    check_seat_available(organisation, active_staff_count() + open_invitations().count())
    now = timezone.now()
    invitation = Invitation.objects.create(
        email=email,
        role=role,
        invited_by=actor,
        sent_at=now,
        expires_at=now + INVITATION_LIFETIME,
        nonce=secrets.token_hex(16),
        limited_to=limited_to,
    )
    record_audit(
        "staff.invited",
        actor=actor,
        target=invitation,
        summary=f"Invited {email} as {role.label.lower()}"
        + (" to some services" if limited_to else ""),
        detail={"email": email, "role": role, "limited_to": limited_to},
        request=request,
    )
    _queue_email(organisation, invitation)
    return invitation


@transaction.atomic
def resend_invitation(
    invitation: Invitation, *, actor: User, request: HttpRequest | None = None
) -> Invitation:
    """A new link (the old one stops working), valid for another seven days."""
    organisation = current_organisation()
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status in (InvitationStatus.ACCEPTED, InvitationStatus.REVOKED):
        raise InvitationError(
            f"The invitation for {invitation.email} was {invitation.status.label.lower()}: "
            "invite them again instead."
        )
    if not invitation.is_open:
        # Expired: it takes a seat again.
        check_seat_available(organisation, active_staff_count() + open_invitations().count())
    now = timezone.now()
    invitation.nonce = secrets.token_hex(16)
    invitation.sent_at = now
    invitation.expires_at = now + INVITATION_LIFETIME
    invitation.save(update_fields=["nonce", "sent_at", "expires_at"])
    record_audit(
        "staff.invitation_resent",
        actor=actor,
        target=invitation,
        summary=f"Sent the invitation for {invitation.email} again",
        request=request,
    )
    _queue_email(organisation, invitation)
    return invitation


@transaction.atomic
def revoke_invitation(
    invitation: Invitation, *, actor: User, request: HttpRequest | None = None
) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise InvitationError(
            f"{invitation.email} has accepted already: deactivate the account on Staff instead."
        )
    if invitation.revoked_at is not None:
        raise InvitationError(f"The invitation for {invitation.email} was revoked already.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record_audit(
        "staff.invitation_revoked",
        actor=actor,
        target=invitation,
        summary=f"Revoked the invitation for {invitation.email}",
        request=request,
    )
    return invitation


# --- following the link -------------------------------------------------------------------


@dataclass(frozen=True)
class Followed:
    """What a link leads to: an invitation that can be accepted, or why not."""

    invitation: Invitation | None
    problem: str = ""  # "", "invalid", "replaced", "expired", "revoked", "used"

    @property
    def can_accept(self) -> bool:
        return self.invitation is not None and not self.problem


def follow_link(token: str, organisation: Organisation) -> Followed:
    """The invitation a link names, if it is this organisation's, newest and still open."""
    try:
        data = signing.loads(token, salt=SALT, max_age=INVITATION_LIFETIME + timedelta(minutes=5))
    except signing.SignatureExpired:
        return Followed(None, "expired")
    except signing.BadSignature:
        return Followed(None, "invalid")
    if not isinstance(data, dict) or data.get("o") != organisation.pk:
        # Another organisation's link, on this organisation's domain: it names nothing here.
        return Followed(None, "invalid")
    invitation = Invitation.objects.filter(pk=data.get("i")).first()
    if invitation is None:
        return Followed(None, "invalid")
    if not secrets.compare_digest(invitation.nonce, str(data.get("n", ""))):
        return Followed(None, "replaced")
    problem = {
        InvitationStatus.ACCEPTED: "used",
        InvitationStatus.REVOKED: "revoked",
        InvitationStatus.EXPIRED: "expired",
    }.get(invitation.status, "")
    return Followed(invitation, problem)


def check_new_password(invitation: Invitation, full_name: str, password: str) -> None:
    """Django's password validators, for the account the invitation will make."""
    validate_password(password, user=User(email=invitation.email, full_name=full_name))


@transaction.atomic
def accept_invitation(
    invitation: Invitation, *, full_name: str, password: str, request: HttpRequest | None = None
) -> User:
    organisation = current_organisation()
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != InvitationStatus.OPEN:
        raise InvitationError(
            {
                InvitationStatus.ACCEPTED: "This invitation has been used already: sign in.",
                InvitationStatus.REVOKED: "This invitation was revoked.",
                InvitationStatus.EXPIRED: "This invitation has expired.",
            }[invitation.status]
        )
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise InvitationError(f"There is an account for {invitation.email} already: sign in.")
    check_seat_available(organisation, active_staff_count())
    full_name = full_name.strip()
    check_new_password(invitation, full_name, password)
    user = User(email=invitation.email, full_name=full_name, role=invitation.role)
    user.full_clean(exclude=["password"])
    user.set_password(password)
    user.save()
    _take(
        invitation,
        user,
        refused=InvitationError,
        summary=f"{user.email} accepted an invitation and joined as "
        f"{Role(user.role).label.lower()}",
        request=request,
    )
    return user


def _take(
    invitation: Invitation,
    user: User,
    *,
    refused: type[Exception],
    summary: str,
    request: HttpRequest | None,
    **detail: object,
) -> None:
    """The account just made takes the invitation: its services' limit (LimitError, when
    they are all gone, raised as `refused`, so the caller's transaction makes nothing), the
    invitation marked accepted, and the audit row."""
    if invitation.limited_to is not None:
        try:
            limit_new_account(
                user, invitation.limited_to, actor=invitation.invited_by, request=request
            )
        except LimitError as problem:
            raise refused(str(problem)) from None
    invitation.accepted_at = timezone.now()
    invitation.accepted_user = user
    invitation.save(update_fields=["accepted_at", "accepted_user"])
    record_audit(
        "staff.invitation_accepted",
        actor=user,
        target=user,
        summary=summary,
        detail={"invitation": invitation.pk, **detail},
        request=request,
    )


def honour_invitation_at_sign_on(
    *, user: User, request: HttpRequest | None = None, **_: object
) -> None:
    """An account made just in time at single sign-on (tenants.signals
    `account_made_at_sign_on`), for an address with an open staff invitation, takes the
    invitation's role and services and accepts it, in the sign-on's transaction. LimitError
    (the invitation's services are all gone) is raised as an SsoError: the sign-on is
    refused, with the reason, and no account is made."""
    invitation = open_invitations().select_for_update().filter(email__iexact=user.email).first()
    if invitation is None:
        return
    if user.role != invitation.role:
        user.role = invitation.role
        user.save(update_fields=["role"])
    _take(
        invitation,
        user,
        refused=SsoError,
        summary=f"{user.email} signed on for the first time and took their invitation as "
        f"{Role(user.role).label.lower()}",
        request=request,
        single_sign_on=True,
    )
