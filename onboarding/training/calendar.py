"""The iCalendar (RFC 5545) file attached to training emails, written by hand.

One event per booking (its UID names the booking), so a cancellation (METHOD:CANCEL, the
same UID, a higher SEQUENCE) removes exactly the event the confirmation added. Times are
UTC; text values are escaped (backslash, semicolon, comma, newline); parameter values are
quoted and stripped of double quotes; lines end with CRLF and are folded at 75 octets
without splitting a UTF-8 character.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parseaddr

from django.conf import settings
from django.utils import timezone

from onboarding.training.models import Booking

PRODID = "-//Carevoice//Training sessions//EN"
# Control characters are not allowed in TEXT values (RFC 5545 3.3.11), except tab.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape_text(value: str) -> str:
    value = CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def quote_parameter(value: str) -> str:
    """A parameter value (such as CN): DQUOTE and controls are not allowed in it at all."""
    value = CONTROL.sub("", value.replace('"', "").replace("\n", " ").replace("\t", " "))
    return f'"{value}"'


def format_utc(moment: datetime) -> str:
    if timezone.is_naive(moment):
        raise ValueError("Calendar times must be timezone-aware.")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """Split a content line into lines of at most 75 octets, continuations starting with a
    space, never inside a UTF-8 sequence."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    parts, current, limit = [], b"", 75
    for char in line:
        piece = char.encode("utf-8")
        if len(current) + len(piece) > limit:
            parts.append(current.decode("utf-8"))
            current, limit = b"", 74  # the leading space takes one octet
        current += piece
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)


def _organizer() -> tuple[str, str]:
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return name or "Carevoice", address or f"no-reply@{settings.BASE_DOMAIN}"


def booking_calendar(booking: Booking, *, cancelled: bool = False) -> str:
    session = booking.session
    organizer_name, organizer_address = _organizer()
    description = session.description.strip()
    if session.joining_link:
        description = f"{description}\n\nJoin: {session.joining_link}".strip()
    location = session.place or (f"Online: {session.joining_link}" if session.joining_link else "")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"METHOD:{'CANCEL' if cancelled else 'REQUEST'}",
        "BEGIN:VEVENT",
        f"UID:training-{session.pk}-booking-{booking.pk}@{settings.BASE_DOMAIN}",
        f"DTSTAMP:{format_utc(timezone.now())}",
        f"DTSTART:{format_utc(session.starts_at)}",
        f"DTEND:{format_utc(session.ends_at)}",
        f"SEQUENCE:{1 if cancelled else 0}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        f"SUMMARY:{escape_text(session.title)}",
    ]
    if description:
        lines.append(f"DESCRIPTION:{escape_text(description)}")
    if location:
        lines.append(f"LOCATION:{escape_text(location)}")
    if session.joining_link:
        lines.append(f"URL:{CONTROL.sub('', session.joining_link)}")
    lines += [
        f"ORGANIZER;CN={quote_parameter(organizer_name)}:mailto:{organizer_address}",
        f"ATTENDEE;CN={quote_parameter(booking.full_name)};ROLE=REQ-PARTICIPANT;"
        f"PARTSTAT={'DECLINED' if cancelled else 'ACCEPTED'};RSVP=FALSE:mailto:{booking.email}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + "\r\n" for line in lines)
