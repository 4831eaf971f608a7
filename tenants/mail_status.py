"""What became of an email handed to the outbox (tenants/messages.py), for the pages of the
organisation that sent it: an alert's or a scheduled report's "sent" means handed over, and
the outbox may since have sent it, be trying again, or have parked it for platform staff.

Read by key, only the organisation's own rows, and only the state, attempts and times: never
the recipient, the text or the mail server's reply (which platform staff see on the hub).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.formats import date_format

from tenants.models import Organisation, OutboxMessage, OutboxMessageState


@dataclass(frozen=True)
class MailStatus:
    state: str
    attempts: int
    sent_at: datetime | None
    next_attempt_at: datetime | None

    @property
    def parked(self) -> bool:
        return self.state == OutboxMessageState.PARKED

    @property
    def label(self) -> str:
        """How the organisation's page says it."""
        if self.state == OutboxMessageState.SENT:
            return f"Sent {_when(self.sent_at)}" if self.sent_at else "Sent"
        if self.parked:
            return (
                f"Not delivered: the mail server refused it {self.attempts} times. "
                "Carevoice's platform staff have it and will send it again."
            )
        if self.attempts:
            return (
                f"Mail server refused it {self.attempts} "
                f"{'time' if self.attempts == 1 else 'times'}; trying again "
                f"{_when(self.next_attempt_at)}"
            )
        return "Being sent"


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return date_format(timezone.localtime(moment), "j M Y H:i")


def mail_statuses(organisation: Organisation, keys: Iterable[str]) -> dict[str, MailStatus]:
    """Each of these outbox keys' status, of the organisation's own messages. A key with no
    row (not handed over yet, or sent and since purged) is left out."""
    wanted = list(keys)
    if not wanted:
        return {}
    rows = OutboxMessage.objects.filter(organisation=organisation, key__in=wanted).values_list(
        "key", "state", "attempts", "sent_at", "next_attempt_at"
    )
    return {key: MailStatus(state, attempts, sent, due) for key, state, attempts, sent, due in rows}
