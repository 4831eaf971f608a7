"""SMS backends for tests: the one seam (tenants/sms.py) of something that cannot run here."""

from __future__ import annotations


class RefusingBackend:
    """A provider that refuses every message, quoting the number as real ones do."""

    def send(self, to: str, body: str) -> None:
        raise ConnectionError(f"provider refused the message to {to}: 503 try later")
