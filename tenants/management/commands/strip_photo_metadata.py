"""Re-encode staff photos stored before uploads were cleaned, so none keeps its GPS or other
metadata. Same file names, so every reference stays good; safe to run again."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from tenants.accounts.photos import strip_stored_photos


class Command(BaseCommand):
    help = "Remove metadata (EXIF, GPS, XMP, text chunks) from every stored staff photo."

    def handle(self, *args: Any, **options: Any) -> None:
        written = strip_stored_photos(settings.MEDIA_ROOT)
        self.stdout.write(f"Re-encoded {written} photo(s) under {settings.MEDIA_ROOT}.")
