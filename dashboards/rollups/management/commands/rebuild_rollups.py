"""`manage.py rebuild_rollups [slug ...]`: recompute dashboard rollups from stories."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboards.rollups.rebuilding import rebuild_rollups
from tenants.models import Organisation


class Command(BaseCommand):
    help = "Recompute the dashboard rollups of some or all organisations from their stories."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slugs", nargs="*", help="Organisations' slugs (default: all).")

    def handle(self, *args: Any, slugs: list[str], **options: Any) -> None:
        organisations = Organisation.objects.ready()
        if slugs:
            organisations = organisations.filter(slug__in=slugs)
            missing = set(slugs) - set(organisations.values_list("slug", flat=True))
            if missing:
                raise CommandError(f"No ready organisation with slug {', '.join(sorted(missing))}.")
        for organisation in organisations:
            rows = rebuild_rollups(organisation)
            self.stdout.write(f"{organisation.slug}: {rows} service-day rows")
