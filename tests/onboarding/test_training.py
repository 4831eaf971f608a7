"""Training sessions: places within capacity, a waiting list promoted on cancellation, an
iCalendar file with the booking email, and one reminder a day before. The emails go through
the outbox (tests/onboarding/test_training_outbox.py checks how); here the outbox's sweeper
sends what each event wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from onboarding.training.booking import book_place, cancel_booking, schedule_session
from onboarding.training.calendar import booking_calendar, escape_text, fold, format_utc
from onboarding.training.models import Audience, Booking, BookingState, TrainingSession
from onboarding.training.reminders import queue_due_reminders
from tenants.audit.models import AuditEvent
from tenants.messages import send_due_messages
from tenants.models import Organisation
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sends queued after commit go nowhere: the outbox's sweeper sends them here."""
    from tenants import tasks as tenant_tasks

    monkeypatch.setattr(tenant_tasks.send_outbox_message, "delay", lambda pk: None)


def session_in(days: float = 3, capacity: int = 2, **fields: object) -> TrainingSession:
    values = {
        "title": "Responding well, in public",
        "description": "How to answer a story: thanks, apology, change.",
        "audience": Audience.RESPONDERS,
        "starts_at": timezone.now() + timedelta(days=days),
        "duration_minutes": 90,
        "capacity": capacity,
        "joining_link": "https://meet.example/carevoice-training",
    }
    values.update(fields)
    with schema_context("public"):
        return schedule_session(TrainingSession(**values), actor=None)


def booked_long_ago(session: TrainingSession, organisation: Organisation) -> Booking:
    """A place booked (and confirmed) three days ago, by x@ the organisation."""
    return Booking.objects.create(
        session=session,
        organisation=organisation,
        email="x@alpha.example",
        full_name="X",
        state=BookingState.BOOKED,
        confirmed_at=timezone.now() - timedelta(days=3),
    )


def signed_in(cast: Cast, organisation, email: str) -> object:  # noqa: ANN001
    client = client_for(organisation)
    assert sign_in(client, email).status_code == 302
    return client


def test_places_within_capacity_then_a_waiting_list_promoted_on_cancel(
    cast: Cast, django_capture_on_commit_callbacks: object
) -> None:
    session = session_in(capacity=2)
    admin_a = signed_in(cast, cast.org_a, cast.admin_a.email)
    responder_a = signed_in(cast, cast.org_a, cast.responder_a.email)
    admin_b = signed_in(cast, cast.org_b, cast.admin_b.email)
    responder_b = signed_in(cast, cast.org_b, cast.responder_b.email)

    page = admin_a.get("/training/").content.decode()
    assert "Responding well, in public" in page and "2 of 2 places left" in page
    with django_capture_on_commit_callbacks(execute=True):
        admin_a.post(f"/training/{session.pk}/book/")
        admin_b.post(f"/training/{session.pk}/book/")
        responder_a.post(f"/training/{session.pk}/book/")  # full: waiting, first
        responder_b.post(f"/training/{session.pk}/book/")  # waiting, second
    send_due_messages()
    states = dict(Booking.objects.filter(session=session).values_list("email", "state"))
    assert states == {
        cast.admin_a.email: BookingState.BOOKED,
        cast.admin_b.email: BookingState.BOOKED,
        cast.responder_a.email: BookingState.WAITING,
        cast.responder_b.email: BookingState.WAITING,
    }
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert subjects[cast.admin_a.email].startswith("Booked:")
    assert subjects[cast.responder_a.email].startswith("Waiting list:")
    assert "Full, 2 waiting" in responder_b.get("/training/").content.decode()
    # Booking twice is refused.
    response = admin_a.post(f"/training/{session.pk}/book/", follow=True)
    assert "You have a place on this session already" in response.content.decode()

    mail.outbox.clear()
    mine = Booking.objects.get(session=session, email=cast.admin_b.email)
    with django_capture_on_commit_callbacks(execute=True):
        admin_b.post(f"/training/bookings/{mine.pk}/cancel/")
    send_due_messages()
    states = dict(Booking.objects.filter(session=session).values_list("email", "state"))
    assert states[cast.admin_b.email] == BookingState.CANCELLED
    assert states[cast.responder_a.email] == BookingState.BOOKED  # waited longest
    assert states[cast.responder_b.email] == BookingState.WAITING
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert by_recipient[cast.responder_a.email].subject.startswith("A place came up:")
    assert by_recipient[cast.admin_b.email].subject.startswith("Cancelled:")
    cancel_ics = by_recipient[cast.admin_b.email].attachments[0][1]
    assert "METHOD:CANCEL" in cancel_ics and "STATUS:CANCELLED" in cancel_ics
    assert Booking.objects.filter(session=session, state=BookingState.BOOKED).count() == 2
    with tenant_context(cast.org_b):
        assert AuditEvent.objects.filter(action="training.cancelled").exists()


def test_one_person_cannot_cancel_anothers_booking(cast: Cast) -> None:
    session = session_in()
    with tenant_context(cast.org_b):
        booking_b = book_place(
            session.pk,
            organisation=cast.org_b,
            email=cast.admin_b.email,
            full_name=cast.admin_b.full_name,
            actor=cast.admin_b,
        )
    with tenant_context(cast.org_a):
        booking_a = book_place(
            session.pk,
            organisation=cast.org_a,
            email=cast.responder_a.email,
            full_name=cast.responder_a.full_name,
            actor=cast.responder_a,
        )
    admin_a = signed_in(cast, cast.org_a, cast.admin_a.email)
    assert admin_a.post(f"/training/bookings/{booking_b.pk}/cancel/").status_code == 404
    assert admin_a.post(f"/training/bookings/{booking_a.pk}/cancel/").status_code == 404
    assert Booking.objects.filter(state=BookingState.BOOKED).count() == 2
    page = admin_a.get("/training/").content.decode()
    assert cast.admin_b.full_name not in page  # B's people are not listed on A's page
    assert cast.responder_a.full_name in page  # A's colleagues are


def test_the_booking_email_carries_a_valid_icalendar_file(
    cast: Cast, django_capture_on_commit_callbacks: object
) -> None:
    starts = datetime(2031, 3, 30, 9, 30, tzinfo=UTC)  # the morning the clocks change
    session = session_in(
        starts_at=starts,
        title="Alerts; digests, and targets \\ a tour",
        description="Line one\nLine two, with a comma; and a semicolon.",
        place="Room 2, Carevoice House",
        capacity=5,
    )
    with tenant_context(cast.org_a), django_capture_on_commit_callbacks(execute=True):
        book_place(
            session.pk,
            organisation=cast.org_a,
            email=cast.admin_a.email,
            full_name='Admin "the boss" of Alpha; Ward 7',
            actor=cast.admin_a,
        )
    send_due_messages()
    (message,) = mail.outbox
    (name, ics, mimetype) = message.attachments[0]
    assert name == "training.ics" and mimetype == "text/calendar"
    assert ics.startswith("BEGIN:VCALENDAR\r\n") and ics.endswith("END:VCALENDAR\r\n")
    assert "\n" not in ics.replace("\r\n", "")  # CRLF only
    unfolded = ics.replace("\r\n ", "")
    lines = unfolded.split("\r\n")
    assert "VERSION:2.0" in lines and "METHOD:REQUEST" in lines
    assert "DTSTART:20310330T093000Z" in lines
    assert "DTEND:20310330T110000Z" in lines
    assert "SUMMARY:Alerts\\; digests\\, and targets \\\\ a tour" in lines
    assert (
        "DESCRIPTION:Line one\\nLine two\\, with a comma\\; and a semicolon.\\n\\n"
        "Join: https://meet.example/carevoice-training" in lines
    )
    assert "LOCATION:Room 2\\, Carevoice House" in lines
    attendee = next(line for line in lines if line.startswith("ATTENDEE"))
    assert attendee.startswith('ATTENDEE;CN="Admin the boss of Alpha; Ward 7";')
    assert attendee.endswith(f":mailto:{cast.admin_a.email}")
    uid = next(line for line in lines if line.startswith("UID:"))
    assert uid.startswith(f"UID:training-{session.pk}-booking-")
    assert any(line.startswith("DTSTAMP:") and line.endswith("Z") for line in lines)
    for line in ics.split("\r\n"):
        assert len(line.encode()) <= 75
    assert "Sunday 30 March 2031, 10:30" in message.body  # UK summer time begins at 01:00


def test_folding_never_splits_a_character() -> None:
    line = "SUMMARY:" + escape_text("Café ✓ " * 30)
    folded = fold(line)
    parts = folded.split("\r\n")
    assert all(len(part.encode()) <= 75 for part in parts)
    assert all(part.startswith(" ") for part in parts[1:])
    assert "".join([parts[0], *(p[1:] for p in parts[1:])]) == line


def test_the_reminder_goes_once_24_hours_before(
    cast: Cast, django_capture_on_commit_callbacks: object
) -> None:
    soon = session_in(days=5)
    with tenant_context(cast.org_a), django_capture_on_commit_callbacks(execute=True):
        booking = book_place(
            soon.pk,
            organisation=cast.org_a,
            email=cast.admin_a.email,
            full_name=cast.admin_a.full_name,
        )
    send_due_messages()
    mail.outbox.clear()
    assert queue_due_reminders() == 0  # five days away
    # The session is now 20 hours away; the place was booked days ago.
    TrainingSession.objects.filter(pk=soon.pk).update(
        starts_at=timezone.now() + timedelta(hours=20)
    )
    Booking.objects.filter(pk=booking.pk).update(confirmed_at=timezone.now() - timedelta(days=4))
    assert queue_due_reminders() == 1
    assert queue_due_reminders() == 0
    send_due_messages()
    send_due_messages()
    (message,) = mail.outbox
    assert message.subject == f"Reminder: {soon.title}" and message.to == [cast.admin_a.email]
    assert "BEGIN:VCALENDAR" in message.attachments[0][1]
    booking.refresh_from_db()
    assert booking.reminded_at is not None


def test_platform_staff_schedule_and_record_attendance_in_admin(cast: Cast) -> None:
    from tenants.accounts.models import User

    session = session_in(days=-1, capacity=3)  # yesterday
    booking = Booking.objects.create(
        session=session,
        organisation=cast.org_a,
        email=cast.admin_a.email,
        full_name=cast.admin_a.full_name,
        state=BookingState.BOOKED,
        confirmed_at=timezone.now() - timedelta(days=3),
    )
    with schema_context("public"):
        User.objects.create_superuser(
            "support@carevoice.example", "support-password-1234", full_name="Support"
        )
    client = client_for(None)
    sign_in(client, "support@carevoice.example", "support-password-1234")
    assert client.get(f"/admin/training/trainingsession/{session.pk}/change/").status_code == 200
    response = client.post(
        "/admin/training/booking/",
        {"action": "mark_attended", "_selected_action": [booking.pk]},
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.attended is True
    assert AuditEvent.objects.filter(action="training.attendance_recorded").exists()
    response = client.post(
        "/admin/training/trainingsession/add/",
        {
            "title": "Admin basics",
            "description": "",
            "audience": "administrators",
            "starts_at_0": "2031-06-02",
            "starts_at_1": "10:00:00",
            "duration_minutes": "60",
            "capacity": "10",
            "joining_link": "",
            "place": "",
            "bookings-TOTAL_FORMS": "0",
            "bookings-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # neither a link nor a place
    assert "Give a joining link, a place, or both." in response.content.decode()


def test_moving_a_session_makes_its_reminders_due_again(cast: Cast) -> None:
    session = session_in(days=0.5)
    booking = booked_long_ago(session, cast.org_a)
    assert queue_due_reminders() == 1
    session.refresh_from_db()
    session.starts_at += timedelta(days=2)
    schedule_session(session, actor=None)
    booking.refresh_from_db()
    assert booking.reminded_at is None
    # A day before the new time, the new time is reminded of.
    assert queue_due_reminders(now=session.starts_at - timedelta(hours=20)) == 1
    send_due_messages()
    reminders = [m for m in mail.outbox if m.subject.startswith("Reminder:")]
    assert len(reminders) == 2
    assert f"DTSTART:{format_utc(session.starts_at)}" in reminders[1].attachments[0][1]


def test_raising_capacity_promotes_people_waiting(cast: Cast) -> None:
    session = session_in(capacity=1)
    for email in ("one@alpha.example", "two@alpha.example"):
        book_place(session.pk, organisation=cast.org_a, email=email, full_name=email)
    session.capacity = 2
    schedule_session(session, actor=None)
    assert set(Booking.objects.filter(session=session).values_list("state", flat=True)) == {
        BookingState.BOOKED
    }


def test_a_session_that_has_started_cannot_be_booked(cast: Cast) -> None:
    from onboarding.training.booking import BookingError

    session = session_in(days=-0.01)
    with pytest.raises(BookingError, match="has started"):
        book_place(session.pk, organisation=cast.org_a, email="a@alpha.example", full_name="A")
    assert booking_calendar  # imported for the calendar tests above
    with pytest.raises(BookingError, match="cancelled already"):
        booking = Booking.objects.create(
            session=session_in(),
            organisation=cast.org_a,
            email="b@alpha.example",
            full_name="B",
            state=BookingState.CANCELLED,
        )
        cancel_booking(booking)
