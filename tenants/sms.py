"""The one seam for text messages: every SMS is written to the outbox
(`tenants.messages.enqueue_sms`) and sent from there through the backend named by
SMS_BACKEND, the only code that talks to a provider.

A backend is any class, made with no arguments, with `send(to, body)`: `to` a mobile number
in international form (+447700900123), `body` the text. It raises on failure, and the
outbox's backoff and parking take over (tenants/messages.py), exactly as for email; the
exception's text goes on the outbox row with the number replaced, never into the log.

`FileBackend` (the default) writes one file per message under SMS_FILE_PATH, like Django's
file email backend: for development (`.data/sms/`) and tests. No vendor is built in: for
production, write a class of your own against `SmsBackend` (e.g. `myproject.sms.Provider`
calling your provider's HTTP API, with its timeout) and set SMS_BACKEND to its dotted path.

Only this module and tenants/messages.py call a backend
(tests/config/test_every_email_on_the_outbox.py checks).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class SmsBackend(Protocol):
    """What a provider's backend is: send one text message, or raise."""

    def send(self, to: str, body: str) -> None: ...


class FileBackend:
    """One file per message under SMS_FILE_PATH: `To:` and the text."""

    def __init__(self, path: str | None = None) -> None:
        self.path = Path(path or settings.SMS_FILE_PATH)

    def send(self, to: str, body: str) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")  # noqa: DTZ005 - a file name only
        name = self.path / f"{stamp}-{uuid.uuid4().hex[:12]}.txt"
        name.write_text(f"To: {to}\n\n{body}\n", encoding="utf-8")


def get_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(to: str, body: str) -> None:
    """Send one text message now through the configured backend. Only the outbox calls this
    (tenants/messages.py `send_message`); everything else writes `enqueue_sms`."""
    get_backend().send(to, body)
