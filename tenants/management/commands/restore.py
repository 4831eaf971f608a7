"""`manage.py restore FILE [FILE ...] [--database NAME]`: restore dumps made by `backup`
(the public schema's first, then organisations')."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.backups import BackupError, restore


class Command(BaseCommand):
    help = "Restore dumps made by `manage.py backup`, replacing what they contain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+")
        parser.add_argument(
            "--database", help="another database on the same server (default: the configured)"
        )

    def handle(self, *args: Any, files: list[str], database: str | None, **options: Any) -> None:
        for name in files:
            try:
                restore(Path(name), database=database)
            except BackupError as exc:
                raise CommandError(f"{name}: {exc}") from None
            self.stdout.write(f"restored {name}")
