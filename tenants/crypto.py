"""Encryption at rest with the platform's Fernet keys: authors' contact details (the hub,
feedback/hub/crypto.py) and the outgoing emails in the outbox (tenants/messages.py).

FIELD_ENCRYPTION_KEYS holds Fernet keys, comma-separated, newest first: the first encrypts,
every one decrypts (MultiFernet). To rotate: put a new key in front, run
`manage.py rotate_contact_key` (feedback/hub/key_rotation.py), then drop the old key.

FIELD_ENCRYPTION_LEGACY_SECRET names the text that was the key before Fernet keys were
required (any text was turned into a key through SHA-256). It only decrypts, so values
stored then stay readable until `rotate_contact_key` has moved them to a real key.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from config.production import MAKE_FERNET_KEY, fernet_key_problem


class ContactKeyError(ImproperlyConfigured):
    """The configured keys cannot encrypt, or cannot decrypt a stored value."""


def legacy_fernet_key(secret_text: str) -> bytes:
    """The key the old FIELD_ENCRYPTION_KEY text stood for (SHA-256 of the text)."""
    return base64.urlsafe_b64encode(hashlib.sha256(secret_text.encode()).digest())


def configured_keys() -> tuple[list[str], list[str]]:
    """(Fernet keys newest first, legacy secret texts) as settings hold them now."""
    keys = list(getattr(settings, "FIELD_ENCRYPTION_KEYS", []) or [])
    legacy = [
        text.strip()
        for text in (getattr(settings, "FIELD_ENCRYPTION_LEGACY_SECRET", "") or "").split(",")
        if text.strip()
    ]
    return keys, legacy


@cache
def _fernets(keys: tuple[str, ...], legacy: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    if not keys:
        raise ContactKeyError(
            "FIELD_ENCRYPTION_KEYS is not set: it protects authors' contact details at rest. "
            f"Make a key with: {MAKE_FERNET_KEY}"
        )
    for position, key in enumerate(keys, start=1):
        if fernet_key_problem(key):
            raise ContactKeyError(
                f"FIELD_ENCRYPTION_KEYS: key {position} of {len(keys)} is not a Fernet key. "
                f"Make one with: {MAKE_FERNET_KEY}"
            )
    every = [Fernet(key) for key in keys] + [Fernet(legacy_fernet_key(t)) for t in legacy]
    return MultiFernet(every), every[0]


def contact_fernet() -> MultiFernet:
    """Encrypts with the newest key; decrypts with any configured key or legacy secret."""
    keys, legacy = configured_keys()
    return _fernets(tuple(keys), tuple(legacy))[0]


def newest_fernet() -> Fernet:
    keys, legacy = configured_keys()
    return _fernets(tuple(keys), tuple(legacy))[1]


def encrypt_text(value: str) -> str:
    return contact_fernet().encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return contact_fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ContactKeyError(
            "Stored contact details cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS "
            "or FIELD_ENCRYPTION_LEGACY_SECRET: was a key dropped before "
            "`manage.py rotate_contact_key` had run?"
        ) from exc


class SealedTextField(models.TextField):
    """Text stored encrypted (for the outbox's own rows); empty stays empty."""

    def get_prep_value(self, value: object) -> object:
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt_text(str(value))

    def from_db_value(self, value: str | None, expression: object, connection: object) -> str:
        if value in (None, ""):
            return value or ""
        return decrypt_text(value)
