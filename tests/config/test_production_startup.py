"""With PRODUCTION=true, Carevoice refuses to start on a missing, short or placeholder secret,
a missing or example contact key, or mail that would only go to files; each refusal names
the variable and says how to fix it. Outside production, the contact key must still be a
real Fernet key."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"

REAL_SECRET_KEY = secrets.token_urlsafe(48)
REAL_CONTACT_KEY = Fernet.generate_key().decode()
HOWTO_FERNET = "Fernet.generate_key()"

PRODUCTION = {
    "PRODUCTION": "true",
    "SECRET_KEY": REAL_SECRET_KEY,
    "FIELD_ENCRYPTION_KEYS": REAL_CONTACT_KEY,
    "DATABASE_URL": "postgres://app:pw@db.internal:5432/carevoice",
    "BASE_DOMAIN": "carevoice.example",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "smtp.carevoice.example",
    "TRUSTED_PROXIES": "10.0.0.0/8",
}

PROBE = """
import json
from django.conf import settings
print(json.dumps({
    "production": settings.PRODUCTION,
    "contact_keys": len(settings.FIELD_ENCRYPTION_KEYS),
    "email_backend": settings.EMAIL_BACKEND,
}))
"""


def start(env: dict[str, str], code: str = "import django; django.setup()\n" + PROBE):
    """Load the settings (and apps) in a fresh interpreter, as gunicorn or a worker would."""
    base = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CAREVOICE_IGNORE_RUNTIME": "1",
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def without(env: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in names}


def test_production_starts_with_real_values() -> None:
    result = start(PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert '"production": true' in result.stdout and '"contact_keys": 1' in result.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (without(PRODUCTION, "SECRET_KEY"), ["SECRET_KEY is not set"]),
        (without(PRODUCTION, "TRUSTED_PROXIES"), ["TRUSTED_PROXIES is not set"]),
        ({**PRODUCTION, "SECRET_KEY": "Zx9-" * 10}, ["SECRET_KEY", "at least 50 characters"]),
        ({**PRODUCTION, "SECRET_KEY": "ab12" * 20}, ["SECRET_KEY", "different characters"]),
        (
            {**PRODUCTION, "SECRET_KEY": "django-insecure-" + secrets.token_urlsafe(48)},
            ["SECRET_KEY", "placeholder"],
        ),
        (
            {**PRODUCTION, "SECRET_KEY": "change-me-to-a-long-random-string" * 2},
            ["SECRET_KEY", "placeholder"],
        ),
        (
            without(PRODUCTION, "FIELD_ENCRYPTION_KEYS"),
            ["FIELD_ENCRYPTION_KEYS is not set", HOWTO_FERNET],
        ),
        (
            {**PRODUCTION, "FIELD_ENCRYPTION_KEYS": "change-me-example-contact-key-not-secret-00="},
            ["FIELD_ENCRYPTION_KEYS", "placeholder", HOWTO_FERNET],
        ),
        (
            {**PRODUCTION, "FIELD_ENCRYPTION_KEYS": "A" * 43 + "="},
            ["FIELD_ENCRYPTION_KEYS", "placeholder", HOWTO_FERNET],
        ),
        (
            {**PRODUCTION, "FIELD_ENCRYPTION_KEYS": "some-long-random-text-" * 3},
            ["FIELD_ENCRYPTION_KEYS: key 1 of 1 is not a Fernet key", HOWTO_FERNET],
        ),
        (
            without(PRODUCTION, "EMAIL_BACKEND"),
            ["EMAIL_BACKEND", "files", "smtp.EmailBackend"],
        ),
        (
            {**PRODUCTION, "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"},
            ["EMAIL_BACKEND", "smtp.EmailBackend"],
        ),
        (
            {**PRODUCTION, "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
            ["EMAIL_BACKEND", "smtp.EmailBackend"],
        ),
        (without(PRODUCTION, "EMAIL_HOST"), ["EMAIL_HOST is not set"]),
    ],
    ids=[
        "secret-missing",
        "proxies-unnamed-behind-tls",
        "secret-short",
        "secret-few-characters",
        "secret-django-insecure",
        "secret-change-me",
        "contact-key-missing",
        "contact-key-example",
        "contact-key-no-randomness",
        "contact-key-not-fernet",
        "mail-to-files",
        "mail-to-console",
        "mail-in-memory",
        "smtp-without-host",
    ],
)
def test_production_refuses_to_start(env: dict[str, str], expected: list[str]) -> None:
    result = start(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    for text in expected:
        assert text in result.stderr
    # The refusal names the variable; it never prints the secret itself.
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS"):
        if env.get(name):
            assert env[name] not in result.stderr


def test_the_web_server_and_the_worker_refuse_too() -> None:
    env = without(PRODUCTION, "FIELD_ENCRYPTION_KEYS")
    # gunicorn loads config.wsgi; a Celery worker or beat reads its configuration (the broker)
    # from the settings before it takes a task.
    for code in ("import config.wsgi", "from config.celery import app; app.conf.broker_url"):
        result = start(env, code)
        assert result.returncode != 0, code
        assert "FIELD_ENCRYPTION_KEYS is not set" in result.stderr, code


def test_every_problem_is_reported_at_once() -> None:
    result = start(
        {**without(PRODUCTION, "FIELD_ENCRYPTION_KEYS", "EMAIL_BACKEND"), "SECRET_KEY": "x" * 60}
    )
    assert result.returncode != 0
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "EMAIL_BACKEND"):
        assert name in result.stderr


def test_the_old_single_key_name_and_files_are_still_read(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text(REAL_SECRET_KEY + "\n")
    (tmp_path / "contact_key").write_text(f"{REAL_CONTACT_KEY}\n")
    env = {
        **without(PRODUCTION, "SECRET_KEY", "FIELD_ENCRYPTION_KEYS"),
        "SECRET_KEY_FILE": str(tmp_path / "secret_key"),
        "FIELD_ENCRYPTION_KEY_FILE": str(tmp_path / "contact_key"),
    }
    result = start(env)
    assert result.returncode == 0, result.stderr
    assert '"contact_keys": 1' in result.stdout
    newest_first = f"{Fernet.generate_key().decode()}, {REAL_CONTACT_KEY}"
    result = start({**PRODUCTION, "FIELD_ENCRYPTION_KEYS": newest_first})
    assert result.returncode == 0, result.stderr
    assert '"contact_keys": 2' in result.stdout


def test_a_contact_key_that_is_not_a_fernet_key_is_refused_outside_production_too() -> None:
    env = {
        "SECRET_KEY": "s" * 50,
        "DATABASE_URL": "postgres://x@y/z",
        "FIELD_ENCRYPTION_KEY": "any text used to be accepted here",
    }
    result = start(env)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY: key 1 of 1 is not a Fernet key" in result.stderr
    assert HOWTO_FERNET in result.stderr
    assert "FIELD_ENCRYPTION_LEGACY_SECRET" in result.stderr  # how to keep reading old data


def env_example() -> dict[str, str]:
    values = {}
    for line in (INFRA / "env.example").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key] = value
    return values


def test_the_compose_demo_starts_but_its_examples_are_refused_in_production() -> None:
    demo = env_example()
    assert demo.get("PRODUCTION", "false") == "false", "the compose demo is plain HTTP on a laptop"
    result = start(demo)
    assert result.returncode == 0, result.stderr
    refused = start({**demo, "PRODUCTION": "true"})
    assert refused.returncode != 0
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEY", "EMAIL_BACKEND"):
        assert name in refused.stderr


def test_the_kubernetes_settings_start_in_production_with_real_secrets(tmp_path: Path) -> None:
    configmap = yaml.safe_load((INFRA / "k8s" / "configmap.yaml").read_text())["data"]
    assert configmap["PRODUCTION"] == "true"
    (tmp_path / "SECRET_KEY").write_text(REAL_SECRET_KEY)
    (tmp_path / "FIELD_ENCRYPTION_KEY").write_text(REAL_CONTACT_KEY)
    env = {
        **configmap,
        "SECRET_KEY_FILE": str(tmp_path / "SECRET_KEY"),
        "FIELD_ENCRYPTION_KEY_FILE": str(tmp_path / "FIELD_ENCRYPTION_KEY"),
        "DATABASE_URL": "postgres://app:pw@db.internal:5432/carevoice",
    }
    result = start(env)
    assert result.returncode == 0, result.stderr
    assert '"production": true' in result.stdout
