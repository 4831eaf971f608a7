"""`manage.py create_organisation`: provision a workspace from the command line."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from tenants.emails import queue_first_admin_invitation
from tenants.models import OrganisationKind, Region
from tenants.provisioning import ProvisioningError, provision_organisation
from tenants.slugs import suggest_slug


class Command(BaseCommand):
    help = "Create an organisation's workspace: schema (cloned), domain and first administrator."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The organisation's name")
        parser.add_argument("--slug", help="Sub-domain; made from the name when omitted")
        parser.add_argument("--kind", required=True, choices=OrganisationKind.values)
        parser.add_argument("--ods-code", default="")
        parser.add_argument("--region", default="", choices=["", *Region.values])
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-name", required=True)
        parser.add_argument(
            "--admin-password",
            help="Set the administrator's password now; otherwise a set-password link is emailed",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["slug"] or suggest_slug(options["name"])
        try:
            # The invitation is written to the outbox in the provisioning's transaction: sent
            # once the workspace is there, and never for one that rolled back.
            with transaction.atomic():
                result = provision_organisation(
                    name=options["name"],
                    slug=slug,
                    kind=options["kind"],
                    ods_code=options["ods_code"],
                    region=options["region"],
                    admin_email=options["admin_email"],
                    admin_name=options["admin_name"],
                    admin_password=options["admin_password"],
                )
                if not options["admin_password"]:
                    queue_first_admin_invitation(result.organisation, result.admin)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        except ProvisioningError as exc:
            raise CommandError(str(exc)) from None
        organisation = result.organisation
        if not options["admin_password"]:
            self.stdout.write(f"A set-password link is on its way to {result.admin.email}.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {organisation.name} in schema {organisation.schema_name}: "
                f"{organisation.workspace_url()}"
            )
        )
