"""Re-encrypt every stored contact detail under the newest key (`manage.py rotate_contact_key`):
authors' contact details in the hub, and the outgoing emails waiting or parked in the outbox
(tenants/messages.py), every field of the one encrypted kind (tenants.crypto.SealedTextField).

The workflow: put a new key in front of FIELD_ENCRYPTION_KEYS (every process, restarted),
run the command, then drop the old key (and FIELD_ENCRYPTION_LEGACY_SECRET). Values already
under the newest key are left alone, so a second run, or a run after an interruption,
changes only what is left. Each batch is one transaction with its rows locked, so a story
arriving meanwhile is never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.models.functions import Cast
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_context

from feedback.hub.crypto import ContactKeyError, SealedTextField, contact_fernet, newest_fernet
from tenants.audit.recording import record_audit

ACTOR = "platform: manage.py rotate_contact_key"


@dataclass
class Rotation:
    """What a run did: rows examined, and values and rows re-encrypted, per model."""

    examined: int = 0
    rows: int = 0
    values: int = 0
    by_model: dict[str, int] = field(default_factory=dict)


def encrypted_fields() -> Iterator[tuple[type[models.Model], list[str]]]:
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, SealedTextField)]
        if names:
            yield model, names


def schemas_of(model: type[models.Model]) -> list[str]:
    """The schemas holding the model's table: public for a shared app, every organisation's
    for a tenant app."""
    app = model._meta.app_config.name
    schemas = [get_public_schema_name()] if app in settings.SHARED_APPS else []
    if app in settings.TENANT_APPS:
        with schema_context(get_public_schema_name()):
            tenants = get_tenant_model().objects.exclude(schema_name=get_public_schema_name())
            schemas += list(tenants.values_list("schema_name", flat=True))
    return schemas


def _is_current(token: str) -> bool:
    try:
        newest_fernet().decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def _rotate_batch(
    model: type[models.Model], names: list[str], after: object | None, batch_size: int
) -> tuple[object | None, int, int, int]:
    """One locked batch after primary key `after` (None: from the start):
    (its last primary key, rows examined, rows changed, values changed)."""
    fernet = contact_fernet()
    # Cast: the stored tokens, not what the field would decrypt them to.
    raw = {f"raw_{name}": Cast(name, models.TextField()) for name in names}
    rows_in_order = model._base_manager.order_by("pk")
    if after is not None:
        rows_in_order = rows_in_order.filter(pk__gt=after)
    with transaction.atomic():
        batch = list(
            rows_in_order.select_for_update().annotate(**raw).values("pk", *raw)[:batch_size]
        )
        rows = values = 0
        for row in batch:
            changes = {}
            for name in names:
                token = row[f"raw_{name}"]
                if not token or _is_current(token):
                    continue
                try:
                    rotated = fernet.rotate(token.encode()).decode()
                except InvalidToken:
                    raise ContactKeyError(
                        f"{model._meta.label}.{name} of row {row['pk']} cannot be decrypted "
                        "with any configured key (FIELD_ENCRYPTION_KEYS, "
                        "FIELD_ENCRYPTION_LEGACY_SECRET); "
                        "nothing in its batch was changed. Put the key it was encrypted with "
                        "back in FIELD_ENCRYPTION_KEYS and run the command again."
                    ) from None
                changes[name] = models.Value(rotated, output_field=models.TextField())
            if changes:
                model._base_manager.filter(pk=row["pk"]).update(**changes)
                rows += 1
                values += len(changes)
    last = batch[-1]["pk"] if batch else None
    return last, len(batch), rows, values


def rotate_contact_key(
    *, batch_size: int = 500, progress: Callable[[str], None] | None = None
) -> Rotation:
    """Re-encrypt every SealedTextField value (EncryptedTextField is one) that is not under
    the newest key yet."""
    newest_fernet()  # no key configured: stop before touching anything
    result = Rotation()
    for model, names in encrypted_fields():
        for schema in schemas_of(model):
            with schema_context(schema):
                after: object | None = None
                examined = batch_size
                while examined == batch_size:
                    after, examined, rows, values = _rotate_batch(model, names, after, batch_size)
                    result.examined += examined
                    result.rows += rows
                    result.values += values
                    label = f"{schema}.{model._meta.label}"
                    result.by_model[label] = result.by_model.get(label, 0) + rows
                    if progress and examined:
                        progress(f"{label}: {examined} rows examined, {rows} re-encrypted")
    with transaction.atomic(), schema_context(get_public_schema_name()):
        record_audit(
            "platform.contact_key_rotated",
            actor=None,
            actor_label=ACTOR,
            summary=(
                f"Contact details re-encrypted under the newest key: "
                f"{result.values} values in {result.rows} rows"
            ),
            detail={"examined": result.examined, "rows": result.rows, "values": result.values},
        )
    return result
