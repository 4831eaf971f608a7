"""A mail backend for workers in another process: each message is written to a folder the
test reads, after a pause the test can kill the worker in.

The worker's environment names the folder (FAULT_DIR) and the pause (FAULT_MAIL_SECONDS,
default 0). A send writes `sending-<id>` (the message has reached the mail backend), sleeps,
then writes `sent-<id>.eml` (the message as it would go over SMTP). A worker killed in
between has sent nothing.
"""

from __future__ import annotations

import email
import email.policy
import os
import time
import uuid
from collections.abc import Sequence
from email.message import EmailMessage as ParsedMessage
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage


class FolderBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        folder = Path(os.environ["FAULT_DIR"])
        pause = float(os.environ.get("FAULT_MAIL_SECONDS", "0"))
        for message in email_messages:
            name = uuid.uuid4().hex
            (folder / f"sending-{name}").write_text(message.subject)
            time.sleep(pause)
            data = message.message().as_bytes()
            (folder / f"sent-{name}.tmp").write_bytes(data)
            (folder / f"sent-{name}.tmp").rename(folder / f"sent-{name}.eml")
        return len(email_messages)


def sending(folder: Path) -> list[str]:
    """Subjects of the messages handed to the backend so far (sent or not)."""
    return [path.read_text() for path in folder.glob("sending-*")]


def sent(folder: Path) -> list[ParsedMessage]:
    """Every message sent so far, parsed."""
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(folder.glob("sent-*.eml"))
    ]
