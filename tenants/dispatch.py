"""Fan periodic work out to every ready organisation, spread over a window.

TRICKY: beat fires once for the whole platform; queuing every organisation's task for the
same instant would hit the database with all of them at once, so each gets a random delay.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from celery import Task
from django.conf import settings
from django_tenants.utils import schema_context

from tenants.models import Organisation


def ready_schema_names() -> list[str]:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        return list(Organisation.objects.ready().values_list("schema_name", flat=True))


def dispatch_to_tenants(
    task: Task,
    *,
    spread_seconds: int,
    schemas: Iterable[str] | None = None,
    include_public: bool = False,
    args: tuple = (),
) -> int:
    names = list(schemas if schemas is not None else ready_schema_names())
    if include_public:
        names.append(settings.PUBLIC_SCHEMA_NAME)
    for name in names:
        with schema_context(name):
            task.apply_async(args=args, countdown=random.uniform(0, spread_seconds))
    return len(names)
