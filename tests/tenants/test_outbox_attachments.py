"""Attachments on the outbox (tenants/messages.py): text as it is (a training .ics), binary
content (a report's PDF) as base64, each arriving as it was given; an encoding the outbox
does not know is refused when the email is written, not when it is sent."""

from __future__ import annotations

import json

import pytest
from django.core import mail

from tenants.messages import Attachment, binary_attachment, enqueue_email, send_message
from tenants.models import OutboxMessage

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n\x00\xff\xfe binary \r\n bytes\n%%EOF\n"
CALENDAR = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


def write(key: str, attachments: list[Attachment]) -> OutboxMessage:
    return enqueue_email(
        kind="test.attachments",
        key=key,
        recipient="jo@alpha.example",
        subject="Attached",
        text_body="See attached.",
        attachments=attachments,
    )


def test_text_and_binary_attachments_arrive_as_they_were_given() -> None:
    calendar: Attachment = {
        "filename": "training.ics",
        "content": CALENDAR,
        "mimetype": "text/calendar",
    }
    message = write("attachments:1", [calendar, binary_attachment("r.pdf", PDF, "application/pdf")])
    stored = json.loads(OutboxMessage.objects.get(pk=message.pk).attachments)
    # The text one is stored as it always was; the binary one says how it is encoded.
    assert stored[0] == calendar
    assert stored[1]["encoding"] == "base64" and stored[1]["content"].isascii()
    assert send_message(message.pk)
    (sent,) = mail.outbox
    (name, content, mimetype), (pdf_name, pdf, pdf_type) = sent.attachments
    assert (name, mimetype) == ("training.ics", "text/calendar") and "VCALENDAR" in content
    assert (pdf_name, pdf, pdf_type) == ("r.pdf", PDF, "application/pdf")
    # As it would go over SMTP, the PDF is still byte for byte.
    parsed = sent.message()
    assert [part.get_payload(decode=True) for part in parsed.walk()][-1] == PDF


def test_an_unknown_encoding_is_refused_when_written() -> None:
    odd: Attachment = {
        "filename": "x.bin",
        "content": "AAAA",
        "mimetype": "application/octet-stream",
        "encoding": "rot13",
    }
    with pytest.raises(ValueError, match="unknown encoding"):
        write("attachments:2", [odd])
    assert not OutboxMessage.objects.filter(key="attachments:2").exists()


def test_content_that_is_not_base64_fails_the_send_and_waits_with_the_reason() -> None:
    broken: Attachment = {
        "filename": "r.pdf",
        "content": "not base64!",
        "mimetype": "application/pdf",
        "encoding": "base64",
    }
    message = write("attachments:3", [broken])
    assert not send_message(message.pk)
    row = OutboxMessage.objects.get(pk=message.pk)
    assert row.state == "waiting" and "not base64" in row.last_error
    assert mail.outbox == []
