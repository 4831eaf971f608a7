"""A password validator for the words anyone would guess first at Carevoice (ASVS 6.1.2).

Django's own validators refuse common passwords and ones like the account's name or
email. This one refuses passwords built around the service's and the organisation's own
names: "Carevoice2026!", "AlphaTrust-password", "alpha-hospitals".
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection

# Words that say "Carevoice" or "the NHS" to anyone guessing; compared without case, spaces
# or punctuation.
SERVICE_WORDS = ("carevoice", "patientstory", "nhstrust", "nhsnhs")
# Words of an organisation's name too common to count as the organisation ("NHS", "Trust").
GENERIC_WORDS = frozenset(
    {"nhs", "trust", "foundation", "the", "and", "of", "for", "hospital", "hospitals", "care"}
)
MIN_WORD_LENGTH = 4


def _squashed(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def context_words(organisation: Any | None) -> list[str]:
    """The service's words, and the distinctive words of the organisation's name and slug."""
    words = list(SERVICE_WORDS)
    if organisation is not None and getattr(organisation, "schema_name", "public") != "public":
        for source in (organisation.name, organisation.slug.replace("-", " ")):
            for word in re.split(r"[^A-Za-z0-9]+", source):
                if len(word) >= MIN_WORD_LENGTH and word.lower() not in GENERIC_WORDS:
                    words.append(word.lower())
    return words


class ContextWordsValidator:
    """Refuse a password that contains Carevoice's or the organisation's own name."""

    def validate(self, password: str, user: Any | None = None) -> None:
        squashed = _squashed(password)
        for word in context_words(getattr(connection, "tenant", None)):
            if _squashed(word) and _squashed(word) in squashed:
                raise ValidationError(
                    "This password contains a name people would guess first (%(word)s). "
                    "Choose words that have nothing to do with Carevoice or your organisation.",
                    code="password_context_word",
                    params={"word": word},
                )

    def get_help_text(self) -> str:
        return "Your password can't contain Carevoice's name or your organisation's name."
