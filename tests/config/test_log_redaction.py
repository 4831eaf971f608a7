"""No log line carries an API key or a signed token: Django's JSON log, Celery's task lines and
gunicorn's access and error logs all show [redacted] instead."""

from __future__ import annotations

import io
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.core import signing
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver

from config.redaction import REDACTED, redact_text
from feedback.apikeys import create_api_key
from feedback.author_links import SALT as AUTHOR_LINK_SALT
from tests.conftest import Cast, client_for

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def captured_log() -> Iterator[io.StringIO]:
    """What the configured console handler (its filters, its JSON formatter) writes."""
    handler = logging.getLogger().handlers[0]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


@pytest.mark.django_db
def test_an_api_key_in_the_query_never_reaches_the_request_log(cast: Cast) -> None:
    secret = create_api_key(cast.org_a, name="Care Opinion sync", actor=cast.admin_a).secret
    client = client_for(None)
    with captured_log() as log:
        response = client.get(f"/api/v2/opinions/987654?key={secret}&format=json")
    # The key is still accepted as `?key=`: it reached the view, which found no such opinion.
    assert response.status_code == 404
    assert "readable with this key" in response.json()["message"]
    written = log.getvalue()
    assert "django.request" in written, "Django's request logging wrote nothing"
    assert f"key={REDACTED}" in written
    assert secret not in written
    assert secret[10:20] not in written


@pytest.mark.django_db
def test_a_signed_token_in_the_path_never_reaches_the_request_log(cast: Cast) -> None:
    token = signing.dumps({"r": 987654, "s": 987654}, salt=AUTHOR_LINK_SALT)
    with captured_log() as log:
        response = client_for(None).get(f"/r/{token}/")
    assert response.status_code == 404
    written = log.getvalue()
    assert f"/r/{REDACTED}/" in written
    assert token not in written
    assert token.split(":")[-1] not in written  # not even the signature part


def test_a_failed_tasks_secret_arguments_are_redacted() -> None:
    """Celery's worker logs a failed task with its arguments; a report token stays out."""
    token = "0123456789abcdef0123456789abcdef"
    context = {
        "id": "task-1",
        "name": "reports.build_long_pdf",
        "args": repr((token, "summary", "2024-01-01", "2024-12-31", None)),
        "kwargs": "{}",
        "description": "raised unexpected",
        "exc": "OSError('disk full')",
    }
    record = logging.getLogger("celery.app.trace").makeRecord(
        "celery.app.trace",
        logging.ERROR,
        __file__,
        1,
        "Task %(name)s[%(id)s] %(description)s: %(exc)s",
        (context,),
        None,
        extra={"data": context},
    )
    done = {
        "id": "task-2",
        "name": "reports.build_long_pdf",
        "return_value": f"'/srv/media/reports/org_alpha/{token}.pdf'",
        "runtime": 1.5,
        "args": repr((token,)),
        "kwargs": "{}",
    }
    success = logging.getLogger("celery.app.trace").makeRecord(
        "celery.app.trace",
        logging.INFO,
        __file__,
        1,
        "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
        (done,),
        None,
    )
    handler = logging.getLogger().handlers[0]
    with captured_log() as log:
        handler.handle(record)
        handler.handle(success)
    written = log.getvalue()
    assert "reports.build_long_pdf" in written and "disk full" in written
    assert f"/reports/org_alpha/{REDACTED}.pdf" in written
    assert token not in written


def test_an_exports_link_and_file_are_redacted() -> None:
    token = "0123456789abcdef0123456789abcdef"
    signed = f"org_alpha.{token}:1vXyZ:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    line = (
        f"GET /exports/file/{signed}/ 200; GET /exports/{token}/status/ 200; "
        f"'/srv/media/exports/org_alpha/{token}.xlsx'"
    )
    redacted = redact_text(line)
    assert token not in redacted and "AbCdEf" not in redacted
    assert f"/exports/file/{REDACTED}/" in redacted
    assert f"/{REDACTED}.xlsx" in redacted  # its folder is taken for a token too: no harm
    assert redact_text("GET /exports/?page=2") == "GET /exports/?page=2"


def test_single_sign_on_answers_are_redacted() -> None:
    line = "GET /accounts/sso/callback/?code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj HTTP/1.1"
    redacted = redact_text(line)
    assert "SplxlOBe" not in redacted and "af0ifj" not in redacted
    assert f"code={REDACTED}&state={REDACTED}" in redacted


def _token_routes(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, list[str]]]:
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _token_routes(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            names = (
                list(pattern.pattern.converters) if hasattr(pattern.pattern, "converters") else []
            )
            secret = [name for name in names if name in ("token", "uidb64")]
            if secret:
                yield prefix + str(pattern.pattern), names


@pytest.mark.parametrize("urlconf", [settings.PUBLIC_SCHEMA_URLCONF, settings.ROOT_URLCONF])
def test_every_route_with_a_token_is_redacted(urlconf: str) -> None:
    """A new `<token>` route that the redaction does not know about fails here."""
    routes = list(_token_routes(get_resolver(urlconf)))
    assert routes, "no token routes found"
    for route, names in routes:
        url = "/" + route
        for name in names:
            url = url.replace(f"<{name}>", f"SECRET{name}x").replace(
                f"<str:{name}>", f"SECRET{name}x"
            )
        line = f'GET {url}?page=2 HTTP/1.1" 404 "https://alpha.localhost{url}"'
        assert "SECRET" not in redact_text(line), route
        assert REDACTED in redact_text(line)


def test_innocent_urls_are_left_alone() -> None:
    for url in (
        "/reports/pdf/",
        "/accounts/password/reset/sent/",
        "/api/v2/opinions?page=2&format=json&monkey=1",
        "/o/alpha/widget/",
    ):
        assert redact_text(f"GET {url} HTTP/1.1") == f"GET {url} HTTP/1.1"


# --- gunicorn: the real server, with the image's configuration ---------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    db = connection.settings_dict
    auth = f"{db['USER']}:{db['PASSWORD'] or ''}"
    host = db["HOST"] or "127.0.0.1"
    if host.startswith("/"):
        return f"postgresql://{auth}@/{db['NAME']}?host={host}"
    return f"postgresql://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def _get(port: int, path: str, headers: dict[str, str]) -> int:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.django_db
def test_gunicorn_access_and_error_logs_show_no_key_or_token(tmp_path: Path) -> None:
    port = _free_port()
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    application_log = tmp_path / "stderr.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CAREVOICE_IGNORE_RUNTIME": "1",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "1",
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:config.gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            str(access),
            "--error-logfile",
            str(errors),
            "--log-level",
            "debug",
            "config.wsgi",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=application_log.open("w"),
        start_new_session=True,
    )
    key = "cv_" + "k" * 20 + "SECRETKEY"
    token = signing.dumps({"r": 1, "s": 1}, salt=AUTHOR_LINK_SALT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(port, "/livez", {"Host": "localhost"})
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("gunicorn did not start") from None
                time.sleep(0.2)
        _get(
            port,
            f"/api/v2/opinions?key={key}&page=2",
            {"Host": "localhost", "Referer": f"https://localhost/r/{token}/"},
        )
        _get(port, f"/reports/download/{token}/pack/", {"Host": "alpha.localhost"})
    finally:
        server.terminate()
        server.wait(timeout=30)
    lines = access.read_text()
    assert "/api/v2/opinions?key=" in lines, lines
    assert f"key={REDACTED}&page=2" in lines
    assert f"/r/{REDACTED}/" in lines
    assert f"/reports/download/{REDACTED}/pack/" in lines
    # The error log, and Django's own JSON lines on the worker's standard error.
    assert "django.request" in application_log.read_text()
    for text in (lines, errors.read_text(), application_log.read_text()):
        assert "SECRETKEY" not in text
        assert token not in text
        assert token.split(":")[-1] not in text


def test_every_configured_handler_redacts() -> None:
    """Django's own handlers (its plain DEBUG console line, mail to ADMINS) would write URLs
    as they are: every handler of the product's loggers redacts, or there is none."""
    from config.logging import JsonFormatter
    from config.redaction import RedactSecretsFilter

    names = ["", "django", "django.request", "django.server", "django.security", "celery"]
    names += [name for name in logging.root.manager.loggerDict if name.startswith("django")]
    for name in names:
        for handler in logging.getLogger(name).handlers:
            if type(handler).__module__.startswith("_pytest") or isinstance(
                handler, logging.NullHandler
            ):
                continue
            redacts = any(isinstance(f, RedactSecretsFilter) for f in handler.filters)
            assert redacts or isinstance(handler.formatter, JsonFormatter), (name, handler)
