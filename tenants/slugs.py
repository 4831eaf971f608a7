"""Organisation slugs: the `<slug>` in `<slug>.<BASE_DOMAIN>`, and the schema name made from it."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.text import slugify

# TRICKY: host names may not contain `_` (Django rejects them and tenant routing then
# answers 404), so slugs are [a-z0-9-]; schema names swap `-` for `_`.
SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
RESERVED = frozenset(
    {
        "www",
        "admin",
        "api",
        "hub",
        "static",
        "media",
        "mail",
        "public",
        "app",
        "help",
        "status",
        "support",
        "tenant-template",
        "template",
        "carevoice",
        "moderation",
    }
)
SCHEMA_PREFIX = "org_"


def validate_slug(slug: str) -> None:
    if not SLUG_PATTERN.match(slug):
        raise ValidationError(
            "Use 1 to 40 lower-case letters, digits and hyphens, starting and ending with a "
            "letter or digit.",
            code="slug_format",
        )
    if slug in RESERVED:
        raise ValidationError(f"“{slug}” is reserved; choose another.", code="slug_reserved")


def suggest_slug(name: str) -> str:
    """A slug from a name: "Northshire Hospitals NHS Trust" → "northshire-hospitals"."""
    words = [w for w in slugify(name).split("-") if w not in {"nhs", "trust", "foundation", "the"}]
    return "-".join(words)[:40].strip("-") or "organisation"


def schema_name_for(slug: str) -> str:
    return SCHEMA_PREFIX + slug.replace("-", "_")
