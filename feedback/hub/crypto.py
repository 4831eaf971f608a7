"""Encryption at rest for the author's contact details (email, postcode).

FIELD_ENCRYPTION_KEY holds one or more comma-separated secrets; the first encrypts, all
decrypt, so a key can be rotated by putting the new one first.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet(configured: str) -> MultiFernet:
    secrets = [s.strip() for s in configured.split(",") if s.strip()]
    if not secrets:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY is not set: it protects authors' contact details at rest."
        )
    # Any secret text becomes a Fernet key through SHA-256, so operators need not make one.
    return MultiFernet(
        [Fernet(base64.urlsafe_b64encode(hashlib.sha256(s.encode()).digest())) for s in secrets]
    )


def encrypt_text(value: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(value.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "Stored contact details cannot be decrypted with FIELD_ENCRYPTION_KEY."
        ) from exc


class EncryptedTextField(models.TextField):
    """Text stored encrypted; empty stays empty (nothing to protect)."""

    def get_prep_value(self, value: object) -> object:
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt_text(str(value))

    def from_db_value(self, value: str | None, expression: object, connection: object) -> str:
        if value in (None, ""):
            return value or ""
        return decrypt_text(value)
