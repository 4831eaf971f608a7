"""Subscription keys for the read API: made and revoked by an organisation's admins.

A key is shown once; only its SHA-256 is stored. A key reads its organisation's stories,
and a network lead's key also reads those of its network's consenting members.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from feedback.hub.models import ApiKey
from feedback.public_cache import bump_version
from tenants.audit.recording import record_audit
from tenants.models import MembershipStatus, NetworkMembership, Organisation
from tenants.schemas import public_schema

KEY_PREFIX = "cv_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class NewKey:
    api_key: ApiKey
    # The key itself: shown to its maker once and never stored.
    secret: str


def create_api_key(organisation: Organisation, *, name: str, actor=None) -> NewKey:
    """Make a key for `organisation`, by one of its staff (`actor`)."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        with schema_context("public"):
            api_key = ApiKey.objects.create(
                organisation=organisation,
                name=name.strip(),
                prefix=secret[:10],
                key_hash=hash_key(secret),
                created_by=getattr(actor, "email", "") or "system",
            )
        with tenant_context(organisation):  # the audit row goes where the actor lives
            record_audit(
                "api_key.created",
                actor=actor,
                target=api_key,
                summary=f"Made API key “{api_key.name}”",
            )
    return NewKey(api_key=api_key, secret=secret)


def revoke_api_key(organisation: Organisation, key_id: int, *, actor=None) -> ApiKey:
    with transaction.atomic():
        with schema_context("public"):
            api_key = ApiKey.objects.select_for_update().get(pk=key_id, organisation=organisation)
            if api_key.revoked_at is None:
                api_key.revoked_at = timezone.now()
                api_key.save(update_fields=["revoked_at"])
        with tenant_context(organisation):  # the audit row goes where the actor lives
            record_audit(
                "api_key.revoked",
                actor=actor,
                target=api_key,
                summary=f"Revoked API key “{api_key.name}”",
            )
    return api_key


def key_for(secret: str) -> ApiKey | None:
    """The active key with this secret, or None."""
    if not secret.startswith(KEY_PREFIX):
        return None
    with public_schema():
        api_key = (
            ApiKey.objects.select_related("organisation")
            .filter(key_hash=hash_key(secret), revoked_at__isnull=True)
            .first()
        )
        if api_key is not None and not api_key.organisation.is_ready:
            return None
    return api_key


def readable_organisation_ids(organisation: Organisation) -> list[int]:
    """Whose stories a key of `organisation` may read."""
    with public_schema():
        members = NetworkMembership.objects.filter(
            network__lead=organisation,
            status=MembershipStatus.ACTIVE,
            benchmarking_consent=True,
        ).values_list("organisation_id", flat=True)
        return [organisation.pk, *members]


# --- what a key may read, remembered --------------------------------------------------------

# Bumped whenever a key, an organisation or a network membership changes: remembered access
# worked out before the change is not used after it.
ACCESS_VERSION_KEY = "api-key-access-version"
# Remembered access also lapses after this long: the plan's API capability (billing) may
# change without any of the rows above changing.
ACCESS_SECONDS = 60


@dataclass(frozen=True)
class KeyAccess:
    """What a request with a key may do: whose stories it reads, and whether the plan of
    the organisation that owns it includes API access."""

    key_id: int
    organisation_id: int
    readable_ids: tuple[int, ...]
    allowed: bool


def key_access(secret: str, *, allowed: Callable[[Organisation], bool]) -> KeyAccess | None:
    """The access of the active key with this secret, or None.

    Worked out from the database (the key, its organisation, the network members whose
    stories it reads, and `allowed`, the plan's answer) and remembered for ACCESS_SECONDS
    under the access version: one cache round trip on later requests, yet a revoked key, a
    closed organisation or a withdrawn consent is seen by the next request. Unknown keys are
    not remembered, so guessing fills no cache."""
    if not secret.startswith(KEY_PREFIX):
        return None
    remembered_key = f"api-key-access:{hash_key(secret)}"
    with public_schema():
        found = cache.get_many([ACCESS_VERSION_KEY, remembered_key])
        version = found.get(ACCESS_VERSION_KEY, 0)
        remembered = found.get(remembered_key)
        if remembered is not None and remembered[0] == version:
            return remembered[1]
        api_key = key_for(secret)
        if api_key is None:
            return None
        access = KeyAccess(
            key_id=api_key.pk,
            organisation_id=api_key.organisation_id,
            readable_ids=tuple(readable_organisation_ids(api_key.organisation)),
            allowed=bool(allowed(api_key.organisation)),
        )
        cache.set(remembered_key, (version, access), timeout=ACCESS_SECONDS)
    return access


def forget_key_access(**_: object) -> None:
    """Every remembered key access is out of date (connected to saves and deletes of keys,
    organisations and memberships in feedback/apps.py): its version is bumped now, and
    again once the change commits, so nothing read between the two is kept."""
    bump_version(ACCESS_VERSION_KEY)
