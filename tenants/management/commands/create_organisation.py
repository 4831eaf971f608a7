"""`manage.py create_organisation`: provision a workspace from the command line."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.emails import send_first_admin_invitation
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
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        except ProvisioningError as exc:
            raise CommandError(str(exc)) from None
        organisation = result.organisation
        if not options["admin_password"]:
            send_first_admin_invitation(organisation, result.admin)
            self.stdout.write(f"Emailed a set-password link to {result.admin.email}.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {organisation.name} in schema {organisation.schema_name}: "
                f"{organisation.workspace_url()}"
            )
        )
