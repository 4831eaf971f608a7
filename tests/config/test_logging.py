from __future__ import annotations

import json
import logging

import pytest
from django_tenants.utils import tenant_context

from config.logging import JsonFormatter, TenantSchemaFilter

pytestmark = pytest.mark.django_db


def _format(message: str, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("carevoice.test", logging.INFO, __file__, 1, message, (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    TenantSchemaFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_every_log_line_is_json_naming_the_active_schema(cast: object) -> None:
    assert _format("in the hub")["schema"] == "public"
    with tenant_context(cast.org_a):
        line = _format("in a workspace", story_id=7)
    assert line["schema"] == "org_alpha"
    assert line["message"] == "in a workspace"
    assert line["story_id"] == 7
    assert line["level"] == "INFO"
    assert line["time"].endswith("+00:00")


def test_the_configured_handler_uses_the_filter_and_formatter() -> None:
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler.formatter, JsonFormatter)
    assert any(isinstance(f, TenantSchemaFilter) for f in handler.filters)
