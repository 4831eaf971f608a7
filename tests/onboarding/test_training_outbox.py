"""Training emails go through the outbox (tenants/messages.py): each is written in the
transaction of its event (booking, waiting list, cancellation, promotion, reminder), so a
rolled-back event writes none; each has a key, so the same event twice writes one; nothing
is sent inside the web request; and the sent message carries its calendar file."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from onboarding.training import emails
from onboarding.training.booking import book_place, cancel_booking
from onboarding.training.calendar import format_utc
from onboarding.training.models import Booking, BookingState
from onboarding.training.reminders import queue_due_reminders
from tenants import tasks as tenant_tasks
from tenants.messages import send_due_messages
from tenants.models import OutboxMessage, OutboxMessageState
from tests.conftest import Cast, client_for, sign_in
from tests.onboarding.test_training import booked_long_ago, session_in

pytestmark = pytest.mark.django_db


class EventFailed(Exception):
    pass


def training_keys() -> list[str]:
    return sorted(
        OutboxMessage.objects.filter(kind__startswith="training.").values_list("key", flat=True)
    )


def sent_to(address: str) -> list[mail.EmailMessage]:
    return [message for message in mail.outbox if message.to == [address]]


def calendar_of(message: mail.EmailMessage) -> str:
    ((filename, content, mimetype),) = message.attachments
    assert (filename, mimetype) == ("training.ics", "text/calendar")
    return content


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids queued for sending once a transaction commits (no worker runs them)."""
    sent: list[int] = []
    monkeypatch.setattr(tenant_tasks.send_outbox_message, "delay", sent.append)
    return sent


def book(cast: Cast, session_id: int, email: str) -> Booking:
    return book_place(session_id, organisation=cast.org_a, email=email, full_name=email)


def test_a_booking_writes_its_confirmation_in_its_transaction_once_with_the_calendar(
    cast: Cast, queued: list[int]
) -> None:
    session = session_in(capacity=3)
    with pytest.raises(EventFailed), transaction.atomic():
        book(cast, session.pk, "jo@alpha.example")
        raise EventFailed  # the booking rolls back: nobody is told
    assert training_keys() == []

    booking = book(cast, session.pk, "jo@alpha.example")
    assert training_keys() == [f"training.confirmation:{booking.pk}"]
    message = OutboxMessage.objects.get()
    assert message.organisation == cast.org_a and message.kind == "training.booking_confirmation"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attachments FROM public.tenants_outboxmessage WHERE id = %s", [message.pk]
        )
        assert "VCALENDAR" not in cursor.fetchone()[0]  # sealed, like the bodies
    emails.queue_booking_confirmation(booking)  # the same event again: still one message
    assert OutboxMessage.objects.count() == 1

    assert send_due_messages() == 1
    (sent,) = sent_to("jo@alpha.example")
    assert sent.subject == f"Booked: {session.title}"
    ics = calendar_of(sent)
    assert "METHOD:REQUEST" in ics and f"booking-{booking.pk}@" in ics
    assert ics.startswith("BEGIN:VCALENDAR\r\n")  # CRLF survives the outbox
    row = OutboxMessage.objects.get()
    assert row.state == OutboxMessageState.SENT and row.attachments == ""  # erased once sent
    assert send_due_messages() == 0


def test_waiting_cancelling_and_promoting_each_write_one_message_in_their_transaction(
    cast: Cast, queued: list[int]
) -> None:
    session = session_in(capacity=1)
    first = book(cast, session.pk, "first@alpha.example")
    second = book(cast, session.pk, "second@alpha.example")
    assert second.state == BookingState.WAITING
    assert training_keys() == [
        f"training.confirmation:{first.pk}",
        f"training.waiting_list:{second.pk}",
    ]

    with pytest.raises(EventFailed), transaction.atomic():
        cancel_booking(first)
        raise EventFailed  # the cancellation (and its promotion) roll back
    assert len(training_keys()) == 2
    assert Booking.objects.get(pk=second.pk).state == BookingState.WAITING

    assert cancel_booking(first) == [Booking.objects.get(pk=second.pk)]
    assert training_keys() == sorted(
        [
            f"training.confirmation:{first.pk}",
            f"training.waiting_list:{second.pk}",
            f"training.cancellation:{first.pk}",
            f"training.promotion:{second.pk}",
        ]
    )
    emails.queue_cancellation(Booking.objects.get(pk=first.pk))
    emails.queue_booking_confirmation(Booking.objects.get(pk=second.pk), promoted=True)
    assert len(training_keys()) == 4

    send_due_messages()
    booked, cancelled = sent_to("first@alpha.example")
    assert booked.subject.startswith("Booked:") and cancelled.subject.startswith("Cancelled:")
    ics = calendar_of(cancelled)
    assert "METHOD:CANCEL" in ics and "STATUS:CANCELLED" in ics
    waiting, promoted = sent_to("second@alpha.example")
    assert waiting.subject == f"Waiting list: {session.title}" and waiting.attachments == []
    assert promoted.subject == f"A place came up: {session.title}"
    assert "METHOD:REQUEST" in calendar_of(promoted)


def test_the_web_request_only_writes_the_message_and_queues_it_after_commit(
    cast: Cast, queued: list[int], django_capture_on_commit_callbacks: object
) -> None:
    session = session_in()
    client = client_for(cast.org_a)
    assert sign_in(client, cast.admin_a.email).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/training/{session.pk}/book/")
    assert response.status_code == 302
    assert mail.outbox == []  # nothing sent inside the request
    (message,) = OutboxMessage.objects.filter(kind__startswith="training.")
    assert queued == [message.pk]  # queued for a worker once the booking committed
    assert message.state == OutboxMessageState.WAITING


def test_each_reminder_is_written_once_with_its_booking_marked_in_one_transaction(
    cast: Cast, queued: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    session = session_in(days=0.5)
    booking = booked_long_ago(session, cast.org_a)
    other = Booking.objects.create(
        session=session,
        organisation=cast.org_a,
        email="y@alpha.example",
        full_name="Y",
        state=BookingState.BOOKED,
        confirmed_at=timezone.now() - timedelta(days=3),
    )
    real = emails.queue_reminder

    def write_then_fail(reminded: Booking) -> None:
        real(reminded)  # the message is written...
        if reminded.pk == booking.pk:
            raise EventFailed  # ...and rolls back with the booking's mark

    monkeypatch.setattr(emails, "queue_reminder", write_then_fail)
    assert queue_due_reminders() == 1  # the other booking is not held up
    key = f"training.reminder:{booking.pk}:{format_utc(session.starts_at)}"
    assert training_keys() == [f"training.reminder:{other.pk}:{format_utc(session.starts_at)}"]
    assert Booking.objects.get(pk=booking.pk).reminded_at is None
    monkeypatch.undo()

    assert queue_due_reminders() == 1  # still due: written on the next run
    assert queue_due_reminders() == 0
    assert key in training_keys()
    reminded = Booking.objects.select_related("session", "organisation").get(pk=booking.pk)
    assert reminded.reminded_at is not None
    emails.queue_reminder(reminded)  # the same reminder again: still one message
    assert training_keys().count(key) == 1

    send_due_messages()
    (sent,) = sent_to(booking.email)
    assert sent.subject == f"Reminder: {session.title}"
    assert f"DTSTART:{format_utc(session.starts_at)}" in calendar_of(sent)
