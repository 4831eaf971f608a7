"""config/gunicorn.py: the image's web server settings come from the environment."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import config.gunicorn


def load(monkeypatch: pytest.MonkeyPatch, **env: str):  # noqa: ANN201
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_BIND", "TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return importlib.reload(config.gunicorn)


def test_defaults_suit_a_one_cpu_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch)
    assert (settings.workers, settings.threads, settings.bind) == (3, 4, "0.0.0.0:8000")
    assert settings.max_requests_jitter == settings.max_requests // 10


def test_the_environment_sizes_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch, WEB_CONCURRENCY="9", GUNICORN_THREADS="2")
    assert (settings.workers, settings.threads) == (9, 2)


@pytest.mark.parametrize("value", ["lots", "0", "-2"])
def test_a_bad_size_stops_with_a_clear_message(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY must be"):
        load(monkeypatch, WEB_CONCURRENCY=value)
    load(monkeypatch)


def test_gunicorn_reads_the_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """gunicorn itself loads the module and takes its values (`--print-config`)."""
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:config.gunicorn",
            "--print-config",
            "config.wsgi",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    values = dict(
        (part.strip() for part in line.split("=", 1))
        for line in printed.splitlines()
        if "=" in line
    )
    assert (values["workers"], values["threads"]) == ("5", "4")
    # No proxy is trusted unless named, and the access log is redacted (test_log_redaction.py).
    assert values["forwarded_allow_ips"] == "[]"
    assert values["logger_class"] == "config.gunicorn.RedactingLogger"


def test_no_proxy_is_trusted_unless_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    assert load(monkeypatch).forwarded_allow_ips == ""
    named = load(monkeypatch, TRUSTED_PROXIES="10.0.0.0/8, 192.0.2.7")
    assert named.forwarded_allow_ips == "10.0.0.0/8,192.0.2.7"
    # The old variable no longer opens the door to every address.
    assert load(monkeypatch, FORWARDED_ALLOW_IPS="*").forwarded_allow_ips == ""
    with pytest.raises(SystemExit, match="TRUSTED_PROXIES must name"):
        load(monkeypatch, TRUSTED_PROXIES="*")
    load(monkeypatch)
