from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from tenants.demo_steps import DemoContext


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Organisations and networks"

    def ready(self) -> None:
        from celery.signals import task_postrun
        from django.core.signals import request_finished

        from tenants import migration_table
        from tenants.connections import end_widely_used_connections
        from tenants.demo_steps import register_demo_step

        # Whether a schema has its migration table, asked by name (tenants/migration_table.py).
        migration_table.install()

        # A connection that has served many workspaces is closed once the request or task
        # that used it is done (tenants/connections.py).
        request_finished.connect(end_widely_used_connections, dispatch_uid="tenants-spread")
        task_postrun.connect(
            end_widely_used_connections, weak=False, dispatch_uid="tenants-spread-task"
        )

        # A deleted organisation's schema is dropped with it: so is what migrate recorded of
        # it (tenants/migrating.py).
        from django.db.models.signals import post_delete

        from tenants.migrating import forget_deleted_schema
        from tenants.models import Organisation

        post_delete.connect(
            forget_deleted_schema, sender=Organisation, dispatch_uid="tenants-forget-schema"
        )

        # The demo's outgoing emails: sent, waiting to be tried again, and parked.
        register_demo_step("outbox", order=58, seed=_seed_demo, describe=_describe_demo)


# The demo's module is loaded only when `seed_demo` runs (tenants/demo_steps.py).
def _seed_demo(context: DemoContext) -> object:
    from tenants.outbox_demo import seed_outbox_demo

    return seed_outbox_demo(context)


def _describe_demo(context: DemoContext) -> list[str]:
    from tenants.outbox_demo import describe_outbox_demo

    return describe_outbox_demo(context)
