"""Start-up checks for the secrets and the mail settings.

Settings call these at import, so the web server, the workers, beat and every `manage.py`
command stop before they serve anything. Outside production only the form of the contact
keys is checked (a wrong key would otherwise surface as a 500 on the first story); with
PRODUCTION=true, missing, short or example secrets and mail that only goes to files stop
start-up too. Every message names the variable and says how to fix it, and never repeats
the secret itself.
"""

from __future__ import annotations

import base64
import binascii
import re

from django.core.exceptions import ImproperlyConfigured

MAKE_FERNET_KEY = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)
MAKE_SECRET_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'

# Words that only example and placeholder values contain (a random key holds one by chance
# with a probability below one in a billion).
PLACEHOLDER_WORDS = (
    "change-me",
    "changeme",
    "change_me",
    "placeholder",
    "example",
    "not-a-secret",
    "not-secret",
    "notsecret",
    "insecure",
    "replace-me",
    "dummy",
)
# Mail backends that never reach anyone.
UNDELIVERED_MAIL = {
    "django.core.mail.backends.filebased.EmailBackend": "writes mail to files",
    "django.core.mail.backends.console.EmailBackend": "prints mail to the console",
    "django.core.mail.backends.locmem.EmailBackend": "keeps mail in memory",
    "django.core.mail.backends.dummy.EmailBackend": "throws mail away",
}
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def split_keys(text: str) -> list[str]:
    return [key.strip() for key in text.split(",") if key.strip()]


def fernet_key_problem(key: str) -> str | None:
    """Why `key` is not a Fernet key (44 characters of urlsafe base64 for 32 bytes), or None."""
    # TRICKY: base64 decoding skips characters outside the alphabet, so check the form first.
    if not re.fullmatch(r"[A-Za-z0-9_-]{43}=", key):
        return "a Fernet key is 44 characters of urlsafe base64, ending in '='"
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, ValueError):
        return "it is not urlsafe base64"
    if len(raw) != 32:
        return f"it decodes to {len(raw)} bytes, not 32"
    return None


def check_contact_keys(keys: list[str], name: str) -> list[str]:
    """The keys, newest first, once each is a Fernet key; otherwise ImproperlyConfigured."""
    for position, key in enumerate(keys, start=1):
        problem = fernet_key_problem(key)
        if problem:
            raise ImproperlyConfigured(
                f"{name}: key {position} of {len(keys)} is not a Fernet key ({problem}). "
                f"Make one with: {MAKE_FERNET_KEY}. If this was the secret text that "
                "encrypted contact details before Fernet keys were required, move it to "
                "FIELD_ENCRYPTION_LEGACY_SECRET (read-only), set FIELD_ENCRYPTION_KEYS to a new "
                "key and run `manage.py rotate_contact_key`."
            )
    return keys


def _looks_like_placeholder(value: str) -> bool:
    lowered = value.lower()
    return any(word in lowered for word in PLACEHOLDER_WORDS)


def secret_key_problems(secret_key: str) -> list[str]:
    fix = f"Set SECRET_KEY (or SECRET_KEY_FILE) to a random value: {MAKE_SECRET_KEY}"
    if not secret_key:
        return [f"SECRET_KEY is not set. {fix}"]
    if _looks_like_placeholder(secret_key) or secret_key.startswith("django-insecure"):
        return [f"SECRET_KEY is a placeholder or an example value. {fix}"]
    problems = []
    if len(secret_key) < 50:
        problems.append(f"SECRET_KEY is too short: it needs at least 50 characters. {fix}")
    if len(set(secret_key)) < 5:
        problems.append(f"SECRET_KEY has fewer than 5 different characters. {fix}")
    return problems


def contact_key_problems(keys: list[str], name: str) -> list[str]:
    fix = f"Make a key with: {MAKE_FERNET_KEY}"
    if not keys:
        return [
            "FIELD_ENCRYPTION_KEYS is not set: it encrypts authors' contact details. "
            f"Set FIELD_ENCRYPTION_KEYS (or FIELD_ENCRYPTION_KEYS_FILE). {fix}"
        ]
    problems = []
    for position, key in enumerate(keys, start=1):
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
        if _looks_like_placeholder(key) or len(set(raw)) < 16:
            problems.append(
                f"{name}: key {position} of {len(keys)} is a placeholder or an example value, "
                f"not a random key. {fix}"
            )
    return problems


def email_problems(backend: str, host_from_environment: str) -> list[str]:
    fix = f"Set EMAIL_BACKEND={SMTP_BACKEND} with EMAIL_HOST (and EMAIL_PORT, EMAIL_USE_TLS, ...)"
    if backend in UNDELIVERED_MAIL:
        return [
            f"EMAIL_BACKEND is {backend}, which {UNDELIVERED_MAIL[backend]}: authors and staff "
            f"would never receive their mail. {fix}, or another delivering backend."
        ]
    if backend == SMTP_BACKEND and not host_from_environment.strip():
        return [f"EMAIL_HOST is not set: the SMTP backend needs your mail server. {fix}."]
    return []


def proxy_problems(behind_tls_proxy: bool, trusted_proxies: list[str]) -> list[str]:
    """Behind a TLS proxy, the proxy must be named: X-Forwarded-Proto from anyone else is
    dropped (config/proxies.py), so with nobody named no request would count as https and
    every page would redirect to itself."""
    if behind_tls_proxy and not trusted_proxies:
        return [
            "TRUSTED_PROXIES is not set, but the site runs behind a TLS proxy "
            "(BEHIND_TLS_PROXY, on with PRODUCTION): name the proxies' addresses or networks, "
            "for example TRUSTED_PROXIES=10.0.0.0/8, or set BEHIND_TLS_PROXY=false."
        ]
    return []


def refuse_unsafe_production(
    *,
    secret_key: str,
    contact_keys: list[str],
    contact_keys_name: str,
    email_backend: str,
    email_host_from_environment: str,
    behind_tls_proxy: bool = False,
    trusted_proxies: list[str] | None = None,
) -> None:
    """With PRODUCTION=true: stop with every problem listed, or return."""
    problems = [
        *secret_key_problems(secret_key),
        *contact_key_problems(contact_keys, contact_keys_name),
        *email_problems(email_backend, email_host_from_environment),
        *proxy_problems(behind_tls_proxy, trusted_proxies or []),
    ]
    if problems:
        raise ImproperlyConfigured(
            "PRODUCTION=true, and the settings are not safe to start with:\n"
            + "\n".join(f"- {problem}" for problem in problems)
        )
