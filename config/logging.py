"""Structured logging: one JSON object per line, each naming the tenant schema it ran in.

No line carries a secret: every record is redacted (config/redaction.py) before it is written.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from config.redaction import RedactSecretsFilter, redact_text

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


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
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in payload and not key.startswith("_"):
                if isinstance(value, str):
                    payload[key] = redact_text(value)
                elif isinstance(value, int | float | bool):
                    payload[key] = value
                else:
                    payload[key] = redact_text(repr(value))
        if record.exc_info:
            payload["exc_info"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(payload, default=str)
