"""A mail backend for the worker-kill test: it says when a send has begun, takes a few
seconds, then writes the message where the test can count it."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage


class SlowFileBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        folder = Path(os.environ["SLOW_MAIL_DIR"])
        for message in email_messages:
            (folder / f"started-{uuid.uuid4().hex}").write_text(message.subject)
            time.sleep(float(os.environ.get("SLOW_MAIL_SECONDS", "4")))
            (folder / f"sent-{uuid.uuid4().hex}").write_text(message.subject)
        return len(email_messages)
