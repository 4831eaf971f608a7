"""Encryption at rest for the author's contact details (email, postcode).

FIELD_ENCRYPTION_KEYS holds Fernet keys, comma-separated, newest first: the first encrypts,
every one decrypts (MultiFernet). To rotate: put a new key in front, run
`manage.py rotate_contact_key` (feedback/hub/key_rotation.py), then drop the old key.

FIELD_ENCRYPTION_LEGACY_SECRET names the text that was the key before Fernet keys were
required (any text was turned into a key through SHA-256). It only decrypts, so values
stored then stay readable until `rotate_contact_key` has moved them to a real key.

The keys and the functions that use them live in tenants/crypto.py (the outbox encrypts
with them too); this module keeps the field its migrations name and the start-up check.

The keys are checked at start-up: their form when settings load (config/production.py), and
their presence by the system check below, so a missing key stops `manage.py check`,
`runserver` and `migrate` rather than answering the first story with a 500.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core import checks

from config.production import MAKE_FERNET_KEY, fernet_key_problem
from tenants.crypto import (  # noqa: F401 - the names key_rotation and commands import from here
    ContactKeyError,
    SealedTextField,
    configured_keys,
    contact_fernet,
    decrypt_text,
    encrypt_text,
    legacy_fernet_key,
    newest_fernet,
)


class EncryptedTextField(SealedTextField):
    """Text stored encrypted; empty stays empty (nothing to protect). The same field as the
    outbox's (tenants.crypto.SealedTextField), kept under this name because the hub's
    migrations name it here."""


@checks.register(checks.Tags.security)
def check_contact_keys(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list:
    """A missing or malformed contact key stops start-up with this message, not a 500 later."""
    keys, _legacy = configured_keys()
    hint = f"Make a key with: {MAKE_FERNET_KEY}"
    if not keys:
        return [
            checks.Error(
                "FIELD_ENCRYPTION_KEYS is not set: it encrypts authors' contact details, and "
                "no story can be received without it.",
                hint=f"Set FIELD_ENCRYPTION_KEYS (or FIELD_ENCRYPTION_KEYS_FILE). {hint}",
                id="hub.E001",
            )
        ]
    return [
        checks.Error(
            f"FIELD_ENCRYPTION_KEYS: key {position} of {len(keys)} is not a Fernet key "
            f"({problem}).",
            hint=hint,
            id="hub.E002",
        )
        for position, key in enumerate(keys, start=1)
        if (problem := fernet_key_problem(key))
    ]
