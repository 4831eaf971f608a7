"""Every log line names the tenant schema it ran in, and carries no secret: one readable line
in development (`make run`), JSON in production and in LOG_FILE, for Django and the Celery
worker alike."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django_tenants.utils import tenant_context

from config.logging import (
    JsonFormatter,
    TenantSchemaFilter,
    TextFormatter,
    choose_log_format,
    logging_config,
)
from config.redaction import REDACTED, RedactSecretsFilter

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "eyJyIjo5ODc2NTQsInMiOjk4NzY1NH0:1tXyZa:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
API_KEY = "cvk_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
SECRET_MESSAGE = f"GET /r/{TOKEN}/ then /api/v2/opinions/1?key={API_KEY}&page=2"
# `14:03:07.512 INFO    alerts.sending [org_alpha] message`
TEXT_LINE = re.compile(
    r"^(?P<time>\d\d:\d\d:\d\d\.\d{3}) (?P<level>[A-Z]+) +(?P<logger>\S+) "
    r"\[(?P<schema>[^\]]+)\] (?P<message>.*)$"
)


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("carevoice.test", logging.INFO, __file__, 1, message, (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    TenantSchemaFilter().filter(record)
    return record


def _format(message: str, **extra: object) -> dict[str, object]:
    return json.loads(JsonFormatter().format(_record(message, **extra)))


@pytest.mark.django_db
def test_every_log_line_is_json_naming_the_active_schema(cast: object) -> None:
    assert _format("in the hub")["schema"] == "public"
    with tenant_context(cast.org_a):
        line = _format("in a workspace", story_id=7)
    assert line["schema"] == "org_alpha"
    assert line["message"] == "in a workspace"
    assert line["story_id"] == 7
    assert line["level"] == "INFO"
    assert line["time"].endswith("+00:00")


@pytest.mark.django_db
def test_a_development_line_reads_time_level_logger_schema_and_message(cast: object) -> None:
    with tenant_context(cast.org_a):
        line = TextFormatter().format(_record("in a workspace", story_id=7, ward="Alpha Ward"))
    assert "\n" not in line
    parts = TEXT_LINE.match(line)
    assert parts, line
    assert parts["level"] == "INFO"
    assert parts["logger"] == "carevoice.test"
    assert parts["schema"] == "org_alpha"
    assert parts["message"] == "in a workspace story_id=7 ward='Alpha Ward'"
    assert TEXT_LINE.match(TextFormatter().format(_record("in the hub")))["schema"] == "public"


def test_a_message_with_a_newline_stays_one_line_and_a_traceback_follows_indented() -> None:
    forged = "innocent\n12:00:00.000 INFO    carevoice.test [org_beta] forged"
    assert "\n" not in TextFormatter().format(_record(forged))
    try:
        raise ValueError("disk full")
    except ValueError:
        record = _record("report failed")
        record.exc_info = sys.exc_info()
    first, *trace = TextFormatter().format(record).splitlines()
    assert TEXT_LINE.match(first)["message"] == "report failed"
    assert trace and all(row.startswith("    ") for row in trace)
    assert "ValueError: disk full" in trace[-1]


@pytest.mark.parametrize("formatter", [JsonFormatter, TextFormatter])
def test_both_formats_redact_secrets_even_without_the_handlers_filter(
    formatter: type[logging.Formatter],
) -> None:
    line = formatter().format(_record(SECRET_MESSAGE, referer=f"https://x.localhost/r/{TOKEN}/"))
    assert TOKEN not in line and API_KEY not in line
    assert f"/r/{REDACTED}/" in line and f"key={REDACTED}" in line


@pytest.mark.parametrize(
    ("requested", "debug", "production", "chosen"),
    [
        ("", False, False, "json"),
        ("", True, False, "text"),
        ("text", False, False, "text"),
        (" TEXT ", False, False, "text"),
        ("json", True, False, "json"),
        # A log collector reads production's lines, whatever else is set.
        ("text", False, True, "json"),
        ("", True, True, "json"),
    ],
)
def test_the_log_format_is_text_in_development_and_json_in_production(
    requested: str, debug: bool, production: bool, chosen: str
) -> None:
    assert choose_log_format(requested, debug=debug, production=production) == chosen


def test_an_unknown_log_format_or_a_log_file_nowhere_stops_start_up(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT must be one of json, text"):
        choose_log_format("pretty", debug=False, production=False)
    with pytest.raises(ImproperlyConfigured, match="LOG_FILE"):
        logging_config(level="INFO", console_format="text", log_file=str(tmp_path / "no" / "x"))


def test_a_log_file_gets_json_through_the_same_filters_as_the_console(tmp_path: Path) -> None:
    config = logging_config(level="INFO", console_format="text", log_file=str(tmp_path / "l"))
    console, file = config["handlers"]["console"], config["handlers"]["file"]
    assert console["formatter"] == "text" and file["formatter"] == "json"
    assert file["filters"] == console["filters"] == ["redact", "tenant"]
    assert config["root"]["handlers"] == ["console", "file"]


def test_the_configured_handler_uses_the_filter_and_formatter() -> None:
    handler = logging.getLogger().handlers[0]
    formatter = {"json": JsonFormatter, "text": TextFormatter}[settings.LOG_FORMAT]
    assert isinstance(handler.formatter, formatter)
    assert any(isinstance(f, TenantSchemaFilter) for f in handler.filters)
    assert any(isinstance(f, RedactSecretsFilter) for f in handler.filters)


# A worker's start, in a fresh interpreter: Django's settings, then Celery's own logging set-up
# (which `celery worker` and `celery beat` run), then lines from a module's logger and from a
# task's logger, in an organisation's schema.
WORKER_START = f"""
import logging
import django
django.setup()
from celery.utils.log import get_task_logger
from django.db import connection
from config.celery import app
app.log.setup(loglevel="INFO", redirect_stdouts=True)
connection.set_schema("org_alpha")
logging.getLogger("alerts.sending").info({SECRET_MESSAGE!r})
get_task_logger("alerts.tasks").warning("task saw %s", {SECRET_MESSAGE!r})
"""


def _start_worker_logging(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CAREVOICE_IGNORE_RUNTIME": "1",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": "postgres://app:pw@127.0.0.1:9/carevoice",  # never connected to
        "CELERY_BROKER_URL": "redis://127.0.0.1:9/0",
    }
    done = subprocess.run(
        [sys.executable, "-c", WORKER_START],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done


def _written(text: str) -> list[str]:
    return [line for line in text.splitlines() if "alerts." in line]


def test_the_worker_writes_readable_redacted_lines_in_development_and_json_to_the_file(
    tmp_path: Path,
) -> None:
    log_file = tmp_path / "carevoice.jsonl"
    done = _start_worker_logging({"LOG_FORMAT": "text", "LOG_FILE": str(log_file)})
    console = _written(done.stderr + done.stdout)
    assert [TEXT_LINE.match(line)["logger"] for line in console] == [
        "alerts.sending",
        "alerts.tasks",
    ], console
    for line in console:
        assert TEXT_LINE.match(line)["schema"] == "org_alpha"
        assert TOKEN not in line and API_KEY not in line and f"/r/{REDACTED}/" in line
    in_file = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [(line["logger"], line["schema"]) for line in in_file] == [
        ("alerts.sending", "org_alpha"),
        ("alerts.tasks", "org_alpha"),
    ]
    assert TOKEN not in log_file.read_text() and API_KEY not in log_file.read_text()


def test_production_writes_json_to_the_console_even_when_asked_for_text() -> None:
    production = {
        "PRODUCTION": "true",
        "BASE_DOMAIN": "carevoice.example",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.carevoice.example",
        "TRUSTED_PROXIES": "10.0.0.0/8",
        "LOG_FORMAT": "text",
    }
    done = _start_worker_logging(production)
    lines = [json.loads(line) for line in _written(done.stderr + done.stdout)]
    assert [(line["logger"], line["schema"]) for line in lines] == [
        ("alerts.sending", "org_alpha"),
        ("alerts.tasks", "org_alpha"),
    ]
    assert all(TOKEN not in line["message"] and API_KEY not in line["message"] for line in lines)
