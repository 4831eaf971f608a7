"""Settings come from the environment, with safe defaults and clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_secret

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json
from django.conf import settings
from django.core.mail import get_connection
db = settings.DATABASES["default"]
print(json.dumps({
    "debug": settings.DEBUG,
    "base_domain": settings.BASE_DOMAIN,
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "db_name": db["NAME"], "db_host": db["HOST"], "db_engine": db["ENGINE"],
    "broker": settings.CELERY_BROKER_URL,
    "cache": settings.CACHES["default"]["BACKEND"],
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "session_httponly": settings.SESSION_COOKIE_HTTPONLY,
    "samesite": settings.SESSION_COOKIE_SAMESITE,
    "secret": settings.SECRET_KEY,
    "email_backend": settings.EMAIL_BACKEND,
    "validators": len(settings.AUTH_PASSWORD_VALIDATORS),
    "hasher": settings.PASSWORD_HASHERS[0],
    "hsts": settings.SECURE_HSTS_SECONDS,
    "login_limit": settings.LOGIN_RATE_LIMIT,
    "email_timeout": getattr(get_connection(), "timeout", None),
    "smtp_timeout": get_connection("django.core.mail.backends.smtp.EmailBackend").timeout,
    "task_limits": [settings.CELERY_TASK_SOFT_TIME_LIMIT, settings.CELERY_TASK_TIME_LIMIT],
}))
"""


def load_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CAREVOICE_IGNORE_RUNTIME": "1",
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + PROBE],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_with_only_the_required_variables() -> None:
    result = load_settings(
        {"SECRET_KEY": "s" * 50, "DATABASE_URL": "postgres://app:pw@db.internal:5432/carevoice"}
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["debug"] is False
    assert values["base_domain"] == "localhost"
    assert values["allowed_hosts"] == ["localhost", ".localhost"]
    assert values["db_engine"] == "django_tenants.postgresql_backend"
    assert (values["db_name"], values["db_host"]) == ("carevoice", "db.internal")
    assert values["broker"] == ""
    assert values["cache"].endswith("LocMemCache")
    assert values["session_secure"] and values["csrf_secure"] and values["session_httponly"]
    assert values["samesite"] == "Lax"
    assert values["validators"] == 5
    # The suite signs in with a quick hasher (tests/conftest.py); the product never does.
    assert values["hasher"] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    assert values["email_backend"].endswith("filebased.EmailBackend")
    # A mail server that stops answering fails a send after 20 s, not never.
    assert values["smtp_timeout"] == 20
    assert values["task_limits"] == [240, 300]


def test_every_variable_overrides_its_default(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    result = load_settings(
        {
            "SECRET_KEY_FILE": str(secret_file),
            "DATABASE_URL": "postgresql://postgres:@/carevoice?host=/tmp/pg-socket",
            "CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
            "CACHE_URL": "redis://127.0.0.1:6379/1",
            "BASE_DOMAIN": "Carevoice.Example",
            "DEBUG": "true",
            "SECURE_HSTS_SECONDS": "31536000",
            "LOGIN_RATE_LIMIT": "3",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_TIMEOUT": "7",
            "CELERY_TASK_SOFT_TIME_LIMIT": "50",
            "CELERY_TASK_TIME_LIMIT": "60",
        }
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["secret"] == "from-a-file"
    assert values["db_host"] == "/tmp/pg-socket"
    assert values["broker"].startswith("amqp://")
    assert values["cache"].endswith("RedisCache")
    assert values["base_domain"] == "carevoice.example"
    assert values["allowed_hosts"] == ["carevoice.example", ".carevoice.example"]
    assert values["debug"] is True
    assert values["hsts"] == 31536000
    assert values["login_limit"] == 3
    assert values["email_backend"].endswith("smtp.EmailBackend")
    assert values["email_timeout"] == 7
    assert values["task_limits"] == [50, 60]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "postgres://x@y/z"}, "SECRET_KEY is not set"),
        ({"SECRET_KEY": "s" * 50}, "DATABASE_URL is not set"),
        ({"SECRET_KEY": "s" * 50, "DATABASE_URL": "postgres://x@y/z", "DEBUG": "maybe"}, "DEBUG"),
        (
            {
                "SECRET_KEY": "s" * 50,
                "DATABASE_URL": "postgres://x@y/z",
                "CELERY_TASK_SOFT_TIME_LIMIT": "300",
            },
            "CELERY_TASK_SOFT_TIME_LIMIT must be less than CELERY_TASK_TIME_LIMIT",
        ),
    ],
)
def test_missing_or_malformed_variables_stop_start_up_with_a_message(
    env: dict[str, str], message: str
) -> None:
    result = load_settings(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_env_helpers() -> None:
    environ = {"A": "yes", "B": "off", "N": "42", "L": "a, b,,c", "S_FILE": "/nonexistent"}
    assert env_bool("A", False, environ=environ) is True
    assert env_bool("B", True, environ=environ) is False
    assert env_bool("MISSING", True, environ=environ) is True
    assert env_int("N", 0, environ=environ) == 42
    assert env_list("L", [], environ=environ) == ["a", "b", "c"]
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env_int("A", 0, environ=environ)
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env_secret("S", environ=environ)


def test_production_settings_pass_the_deploy_check_with_secrets_from_files(
    tmp_path: Path,
) -> None:
    """PRODUCTION=true and secrets from *_FILE: `manage.py check --deploy` has no warnings."""
    (tmp_path / "secret_key").write_text("k" * 20 + "Z9_-x" * 10)
    (tmp_path / "field_key").write_text(Fernet.generate_key().decode())
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CAREVOICE_IGNORE_RUNTIME": "1",
        "PRODUCTION": "true",
        "SECRET_KEY_FILE": str(tmp_path / "secret_key"),
        "FIELD_ENCRYPTION_KEY_FILE": str(tmp_path / "field_key"),
        "DATABASE_URL": "postgres://app:pw@db.internal:5432/carevoice",
        "BASE_DOMAIN": "carevoice.example",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.carevoice.example",
        "TRUSTED_PROXIES": "10.0.0.0/8",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    probe = load_settings({k: v for k, v in env.items() if k != "PATH"})
    values = json.loads(probe.stdout)
    assert values["hsts"] == 365 * 24 * 60 * 60 and values["secret"].startswith("kkkk")
