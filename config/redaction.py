"""Secrets never reach a log: API keys in query strings, signed tokens in URL paths.

One place knows what a secret looks like in a URL; every log path uses it: Django's and
Celery's records (`RedactSecretsFilter`, and `config.logging.JsonFormatter` on top) and
gunicorn's access and error logs (`config.gunicorn.RedactingLogger`).

When a URL gains a token (a new `<token>` route) or a secret query parameter, add it here;
tests/config/test_log_redaction.py walks both URLconfs and fails on any token route that
is not redacted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

REDACTED = "[redacted]"

# Query parameters whose value is a secret. `key` is how Care Opinion clients send an API key.
SECRET_PARAMETERS = (
    "key",
    "api_key",
    "apikey",
    "subscription_key",
    "token",
    "access_token",
    "signature",
    "sig",
    "secret",
    "password",
    "csrfmiddlewaretoken",
    # Single sign-on's answer from the provider (/accounts/sso/callback/?code=...&state=...).
    "code",
    "state",
    "id_token",
    "session_state",
)

# URL path prefixes whose next segment is a signed token or another bearer secret.
TOKEN_PATH_PREFIXES = (
    "/r/",  # a story author's link (feedback/urls_hub.py)
    "/your-story/",  # a story author's "Your story" link (feedback/urls_hub.py)
    "/billing/pay/",  # the local card page (billing/urls_hub.py)
    "/reports/download/",  # a saved report's download and pack links
    "/reports/pdf/",  # a long report's progress page and file
    "/signup/verify/",  # sign-up email verification
    "/invitation/",  # a staff invitation
    "/alerts/unsubscribe/",  # an alert email's unsubscribe link
    # A story export's signed download link, then its progress page and status (before
    # "/exports/": the first that fits is used, and "file" is no secret).
    "/exports/file/",
    "/exports/",
    "/thanks/stop/",  # a thanks email's link to stop them
)

# Celery tasks whose arguments carry a secret (logged by the worker when a task fails).
SECRET_TASK_ARGUMENTS = frozenset({"reports.build_long_pdf"})

# A character that ends a URL part wherever URLs are quoted: in a request line, a repr,
# JSON, HTML or a shell.
_PART = r"[^/?#&;\s\"'<>\\]+"
_QUERY = re.compile(
    r"(?P<name>[?&;](?:" + "|".join(re.escape(name) for name in SECRET_PARAMETERS) + r")=)"
    r"(?P<value>[^&;#\s\"'<>\\]*)",
    re.IGNORECASE,
)
_TOKEN_PATH = re.compile(
    r"(?P<prefix>(?:"
    + "|".join(re.escape(prefix) for prefix in TOKEN_PATH_PREFIXES)
    + r"))"
    + _PART
)
# Django's password reset: /accounts/password/reset/<uidb64>/<token>/.
_PASSWORD_RESET = re.compile(r"(?P<prefix>/password/reset/)" + _PART + "/" + _PART)
# A waiting-room display screen's link: /o/<slug>/display/<token>/ (feedback/reach).
_DISPLAY_SCREEN = re.compile(r"(?P<prefix>/o/[^/?#\s]+/display/)" + _PART)
# A long report's or an export's file on disk (a task's result):
# MEDIA_ROOT/reports/<schema>/<token>.pdf, MEDIA_ROOT/exports/<schema>/<token>.<csv|xlsx>.
_REPORT_FILE = re.compile(
    r"(?P<prefix>/(?:reports|exports)/[\w-]+/)[0-9a-f]{32}(?P<suffix>\.(?:pdf|csv|xlsx))"
)


def redact_text(text: str) -> str:
    """`text` with every secret query value and path token replaced by [redacted]."""
    if not text:
        return text
    text = _QUERY.sub(lambda m: m["name"] + REDACTED, text)
    # Files first: a file's folder would otherwise be taken for a path's token.
    text = _REPORT_FILE.sub(lambda m: m["prefix"] + REDACTED + m["suffix"], text)
    text = _TOKEN_PATH.sub(lambda m: m["prefix"] + REDACTED, text)
    text = _PASSWORD_RESET.sub(lambda m: m["prefix"] + REDACTED + "/" + REDACTED, text)
    return _DISPLAY_SCREEN.sub(lambda m: m["prefix"] + REDACTED, text)


def redact_query(query: str) -> str:
    """A bare query string (`key=...&page=2`, no `?`), redacted."""
    return redact_text("?" + query)[1:] if query else query


def redact_value(value: object) -> object:
    """Strings redacted; containers redacted item by item; anything else unchanged."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(item) for item in value) if not _is_named(value) else value
    return value


def _is_named(value: object) -> bool:
    return hasattr(value, "_fields")  # a named tuple cannot be rebuilt from one iterable


def _redact_task_context(context: object) -> object:
    """Celery's trace logs pass the task's context (name, args, kwargs, result) as a dict."""
    if not isinstance(context, Mapping):
        return context
    redacted = dict(redact_value(context))
    if context.get("name") in SECRET_TASK_ARGUMENTS:
        for field in ("args", "kwargs", "argsrepr", "kwargsrepr"):
            if field in redacted:
                redacted[field] = REDACTED
    return redacted


def redact_record(record: logging.LogRecord) -> None:
    """Make `record` safe to write: its message rendered and redacted, its extras redacted."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record is still logged, as its format string
        message = str(record.msg)
    record.msg = redact_text(message)
    record.args = None
    for name, value in list(vars(record).items()):
        if name == "data":
            record.data = _redact_task_context(value)
        elif name == "request" and not isinstance(value, str):
            # Django's request logging attaches the request, whose repr is its full URL.
            record.request = redact_text(repr(value))
        elif name not in _RECORD_FIELDS and not name.startswith("_"):
            setattr(record, name, redact_value(value))


_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class RedactSecretsFilter(logging.Filter):
    """On a handler: every record it writes, from any logger, has its secrets redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "_redacted", False):
            if isinstance(record.args, Mapping) and "name" in record.args:
                record.args = _redact_task_context(record.args)
            redact_record(record)
            record._redacted = True
        return True
