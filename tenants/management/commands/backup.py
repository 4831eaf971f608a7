"""`manage.py backup [--public] [--organisation SLUG ...] [--all] [--output DIR]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.backups import BackupError, dump_everything, dump_organisation, dump_public
from tenants.models import Organisation


class Command(BaseCommand):
    help = "Dump the public schema, some organisations' schemas, or the whole database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--public", action="store_true", help="the public schema")
        parser.add_argument("--organisation", action="append", default=[], metavar="SLUG")
        parser.add_argument("--all", action="store_true", help="every schema, in one dump")
        parser.add_argument("--output", default="backups", help="directory (default: backups)")

    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["output"])
        if not (options["public"] or options["organisation"] or options["all"]):
            raise CommandError("Say what to dump: --public, --organisation SLUG or --all.")
        organisations = list(Organisation.objects.filter(slug__in=options["organisation"]))
        missing = set(options["organisation"]) - {o.slug for o in organisations}
        if missing:
            raise CommandError(f"No organisation with slug {', '.join(sorted(missing))}.")
        try:
            dumps = []
            if options["all"]:
                dumps.append(dump_everything(directory))
            if options["public"]:
                dumps.append(dump_public(directory))
            dumps += [dump_organisation(o, directory) for o in organisations]
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        for dump in dumps:
            self.stdout.write(f"{dump.what}: {dump.path}")
