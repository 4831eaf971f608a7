"""What a fault test commits, forgotten afterwards: other tests in the same database count
audit rows and outgoing emails."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.models import Max, Model
from django_tenants.utils import schema_context

from tenants.audit.models import AuditEvent
from tenants.models import OutboxMessage


@contextmanager
def forgetting_new_rows(schemas: list[str]) -> Iterator[None]:
    """Delete, on the way out, the audit rows (in `schemas` and public) and outbox rows made
    inside. (Audit rows refuse to be deleted one by one; a query deletes them.)"""
    places: list[tuple[str, type[Model]]] = [("public", OutboxMessage)]
    places += [(schema, AuditEvent) for schema in {"public", *schemas}]

    def newest(schema: str, model: type[Model]) -> int:
        with schema_context(schema):
            return model.objects.aggregate(top=Max("pk"))["top"] or 0

    before = {place: newest(*place) for place in places}
    try:
        yield
    finally:
        for (schema, model), top in before.items():
            with schema_context(schema):
                model.objects.filter(pk__gt=top).delete()
