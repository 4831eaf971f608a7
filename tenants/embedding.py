"""Where an organisation's story widget may be embedded: the hosts allowed to frame it.

The list is the organisation's own (`Organisation.embed_hosts`), set by its administrators
on the workspace's Widget page (feedback/workspace_views.py) and read by the hub's widget
pages, which send it as the Content-Security-Policy `frame-ancestors` (config/security.py).
A host that does not match `tenants.models.EMBED_HOST` could widen that policy, so nothing
else is stored.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from tenants.accounts.models import User
from tenants.audit.recording import record_audit
from tenants.models import Organisation, validate_embed_host

# The column's own limit (tenants.models.Organisation.embed_hosts): a longer host would be
# refused by PostgreSQL, not by a message.
MAX_HOST_CHARACTERS = Organisation._meta.get_field("embed_hosts").base_field.max_length


def clean_embed_hosts(hosts: Iterable[str]) -> list[str]:
    """The hosts as stored: trimmed, lower-cased, blanks and repeats dropped, in the order
    given. Raises ValidationError naming every host that is not one (code ``embed_host``)."""
    cleaned: list[str] = []
    errors: list[ValidationError] = []
    for raw in hosts:
        host = raw.strip().lower()
        if not host or host in cleaned:
            continue
        if len(host) > MAX_HOST_CHARACTERS:
            errors.append(
                ValidationError(
                    f"“{host[:40]}…” is longer than a host name can be "
                    f"({MAX_HOST_CHARACTERS} characters).",
                    code="embed_host",
                )
            )
            continue
        try:
            validate_embed_host(host)
        except ValidationError as exc:
            errors.append(exc)
            continue
        cleaned.append(host)
    if errors:
        raise ValidationError(errors)
    return cleaned


def set_embed_hosts(
    organisation: Organisation,
    hosts: Iterable[str],
    *,
    actor: User,
    request: HttpRequest | None = None,
) -> Organisation:
    """Let exactly ``hosts`` show ``organisation``'s widget in a frame (an empty list: none).

    Validates every host first (ValidationError, nothing written, when any is not a plain
    host name). Run in the organisation's schema, where the audit row belongs; the row is
    written with the change, in one transaction."""
    cleaned = clean_embed_hosts(hosts)
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
        previous = list(organisation.embed_hosts)
        organisation.embed_hosts = cleaned
        organisation.save(update_fields=["embed_hosts"])
        record_audit(
            "widget.hosts_changed",
            actor=actor,
            target=organisation,
            summary="Changed the sites allowed to show the widget",
            detail={"from": previous, "to": cleaned},
            request=request,
        )
    return organisation
