"""What the outbox has sent, for tests that run the product's work in their own transaction.

Every email goes through the outbox (tenants/messages.py): written as a row, and sent by the
`tenants.send_outbox_message` task queued once the writing transaction commits. A test's
transaction never commits, so these helpers first send what is due, as the task or the
sweeper would, and then read Django's test mailbox."""

from __future__ import annotations

from django.core import mail

from tenants.messages import send_due_messages


def sent_mail() -> list[mail.EmailMessage]:
    """Every email sent so far, after the outbox has sent what waits."""
    send_due_messages()
    return list(mail.outbox)


def sent_mail_to(address: str) -> list[mail.EmailMessage]:
    """The emails sent so far to `address`, after the outbox has sent what waits."""
    return [message for message in sent_mail() if address in message.to]
