"""Re-encrypt authors' contact details, and the outgoing emails in the outbox, under the newest
key (feedback/hub/key_rotation.py).

1. Put a new key in front of FIELD_ENCRYPTION_KEYS and restart every process.
2. `manage.py rotate_contact_key`
3. Drop the old key (and FIELD_ENCRYPTION_LEGACY_SECRET) and restart again.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from feedback.hub.crypto import ContactKeyError
from feedback.hub.key_rotation import rotate_contact_key


class Command(BaseCommand):
    help = "Re-encrypt every stored contact detail under the first key of FIELD_ENCRYPTION_KEYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction")

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            result = rotate_contact_key(batch_size=batch_size, progress=self.stdout.write)
        except ContactKeyError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Examined {result.examined} rows; re-encrypted {result.values} values "
            f"in {result.rows} rows under the newest key."
        )
        if result.rows == 0:
            self.stdout.write("Nothing was under an older key: the old keys can be dropped.")
