"""`migrate` for every schema: public, every organisation, and the template new ones clone.

TRICKY: the template schema is not a tenant, so django-tenants' own command skips it; a
stale template would give every new organisation an old schema. This command also keeps
the hub's own row and domain in step with BASE_DOMAIN, and skips schemas that are already
up to date (tenants/migrating.py).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand

from tenants.batch_migrating import SchemasFailed, describe_failures
from tenants.citus.distribution import distribute_on_citus
from tenants.migrating import get_executor
from tenants.provisioning import ensure_hub, ensure_template_schema, template_schema


class Command(MigrateSchemasCommand):
    help = (
        "Migrate the public schema, every organisation's schema and the tenant template. "
        "Schemas already up to date are skipped unless --every-schema is given."
    )

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--every-schema",
            action="store_true",
            dest="every_schema",
            help="Run migrate in every schema, even those already up to date.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        failed: dict[str, str] = {}
        try:
            super().handle(*args, **options)
        except SchemasFailed as error:
            # Every other organisation is migrated; the template still must be.
            failed |= error.failures
        if self.sync_public:
            ensure_hub()
        if self.sync_tenant and not options.get("schema_name"):
            ensure_template_schema()
            executor = get_executor(codename=self.executor)(self.args, self.options)
            try:
                executor.run_migrations(tenants=[template_schema()])
            except SchemasFailed as error:
                failed |= error.failures
        # On a Citus coordinator, each table where it belongs (nothing on plain PostgreSQL).
        distribute_on_citus()
        if failed:
            raise CommandError(describe_failures(failed))
