"""A Django email backend for benchmarks/alerts.py: notes when each message is handed to it.

It sends nothing. For each message it appends one line to the file named by the environment
variable BENCH_MAIL_LOG:

    <unix time> <subject>\t<recipients, comma-separated>\t<alert rule name>

the unix time (seconds, from time.time()) being the moment the message reached the backend.
The rule's name is read from the alert's text ("... because of the alert rule "<name>"") so
that the benchmark can count (story, recipient, rule) repeats; it is empty for other mails.
Each call writes its lines with one write to a file opened in append mode, so that the lines
of the worker's several processes never interleave.

Select it with EMAIL_BACKEND=benchmarks.alert_mail_backend.MailLogBackend (the repository's
root on PYTHONPATH).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

LOG_VARIABLE = "BENCH_MAIL_LOG"
RULE_NAME = re.compile(r'because of the alert rule "([^"\n]*)"')


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def log_line(handed_at: float, message: EmailMessage) -> str:
    match = RULE_NAME.search(str(message.body))
    rule = match.group(1) if match else ""
    recipients = ",".join(_one_line(address) for address in message.recipients())
    return f"{handed_at:.6f} {_one_line(message.subject)}\t{recipients}\t{_one_line(rule)}\n"


class MailLogBackend(BaseEmailBackend):
    """Records the hand-over of each message in BENCH_MAIL_LOG; delivers nothing."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        handed_at = time.time()
        if not email_messages:
            return 0
        data = "".join(log_line(handed_at, message) for message in email_messages)
        fd = os.open(os.environ[LOG_VARIABLE], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)
        return len(email_messages)
