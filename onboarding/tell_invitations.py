"""Invitations to tell (issue #18): an organisation invites people who used one of its
services to tell their story, by email or text message.

Staff (responders and administrators) upload a CSV file of addresses or UK mobile numbers,
one a row, or enter one at a time. Every invitation in a batch carries the same link, the
hub's story form with the service chosen (`<hub>/tell/?service=<listing id>`), and the same
opt-out link: nothing in either is personal, so a story that follows can never be linked to
the address it was invited at.

The addresses are used once and then forgotten: one transaction writes the batch (counts,
the service, who sent it and when) and an outbox row per recipient (tenants/messages.py,
`enqueue_email` / `enqueue_sms`), and the outbox erases each recipient as it is sent. No
address is kept here, written to the audit trail, or logged.

Opting out (a public page on the organisation's own domain) keeps an HMAC, keyed with
INVITATION_OPT_OUT_KEY, of the normalised address or number and the organisation's schema,
in that organisation's schema: its later batches skip them; another organisation's do not
(each organisation invites its own service users, and asks them itself). The page answers
the same whatever is typed.

Runs inside the organisation's schema.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse

from feedback.hub.models import ServiceListing
from onboarding.models import (
    InvitationBatch,
    InvitationChannel,
    InvitationOptOut,
    InvitationSource,
)
from tenants.audit.recording import record_audit
from tenants.messages import enqueue_email, enqueue_sms
from tenants.models import Organisation, public_url

KIND = "onboarding.invitation_to_tell"
OPT_OUT_SALT = "carevoice.tell-invitation-opt-out"

# A first row that is one of these is a header, not an address.
HEADERS = frozenset(
    {
        "email",
        "e-mail",
        "email address",
        "e-mail address",
        "address",
        "phone",
        "mobile",
        "mobile number",
        "phone number",
        "telephone",
        "number",
        "to",
        "recipient",
    }
)
_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")
_UK_MOBILE = re.compile(r"07\d{9}")


class InvitationFileError(Exception):
    """The file cannot be read as a list of recipients at all; the message says why."""


class InvitationError(Exception):
    """The batch cannot be sent; the message says why."""


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}"


@dataclass
class Recipients:
    """What a file or form gave: normalised addresses (each once), and what was wrong."""

    addresses: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    duplicates: int = 0


def normalise_mobile(value: str) -> str | None:
    """A UK mobile number as +447xxxxxxxxx, from 07..., +447..., 00447... or 447...; None if
    it is not one."""
    number = _PHONE_PUNCTUATION.sub("", value.strip())
    national = None
    if number.startswith("+44"):
        national = number[3:]
    elif number.startswith("0044"):
        national = number[4:]
    elif number.startswith("44") and len(number) in (12, 13):
        national = number[2:]
    if national is not None:
        # "+44 (0)7700 900123": the trunk zero written after the country code.
        number = "0" + national.removeprefix("0")
    if not _UK_MOBILE.fullmatch(number):
        return None
    return "+44" + number[1:]


def normalise_email(value: str) -> str | None:
    """The address in lower case; None if it is not one."""
    address = value.strip()
    if len(address) > 254:
        return None
    try:
        validate_email(address)
    except ValidationError:
        return None
    return address.lower()


def normalise(value: str, channel: str) -> str | None:
    if channel == InvitationChannel.SMS:
        return normalise_mobile(value)
    return normalise_email(value)


def _problem_for(channel: str) -> str:
    if channel == InvitationChannel.SMS:
        return "not a UK mobile number (07..., or +447...)."
    return "not an email address."


def read_rows(rows: list[tuple[int, str]], channel: str) -> Recipients:
    """Validate (line, value) pairs for the channel, skipping repeats."""
    found = Recipients()
    seen: set[str] = set()
    for line, value in rows:
        address = normalise(value, channel)
        if address is None:
            found.problems.append(RowProblem(line, _problem_for(channel)))
        elif address in seen:
            found.duplicates += 1
        else:
            seen.add(address)
            found.addresses.append(address)
    if len(found.addresses) > settings.INVITATION_BATCH_MAX:
        raise InvitationFileError(
            f"The file has {len(found.addresses)} recipients; a batch may have at most "
            f"{settings.INVITATION_BATCH_MAX}. Split it into smaller files."
        )
    return found


def read_csv(data: bytes, channel: str) -> Recipients:
    """A CSV file of one address (or number) a row, with an optional header row. Raises
    InvitationFileError for a file that cannot be used at all; a bad row is a problem."""
    if len(data) > settings.INVITATION_CSV_MAX_BYTES:
        raise InvitationFileError(
            f"The file is larger than {settings.INVITATION_CSV_MAX_BYTES // 1000} kB. "
            "Split it into smaller files."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvitationFileError(
            "The file is not a CSV file in UTF-8 text. Save it as “CSV UTF-8” and try again."
        ) from exc
    if "\x00" in text:
        raise InvitationFileError("The file is not a CSV file in UTF-8 text.")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, str]] = []
    problems: list[RowProblem] = []
    first = True
    try:
        for row in reader:
            line = reader.line_num
            cells = [cell.strip() for cell in row if cell.strip()]
            if not cells:
                continue
            if first and len(cells) == 1 and cells[0].lower() in HEADERS:
                first = False
                continue
            first = False
            if len(cells) > 1:
                problems.append(RowProblem(line, "one address or number a row, please."))
                continue
            rows.append((line, cells[0]))
            if len(rows) > settings.INVITATION_BATCH_MAX * 2:
                break  # read_rows refuses it; no need to read further
    except csv.Error as exc:
        raise InvitationFileError(
            f"The file could not be read as CSV near line {reader.line_num}."
        ) from exc
    found = read_rows(rows, channel)
    found.problems = sorted(problems + found.problems, key=lambda p: p.line)
    if not rows and not problems:
        raise InvitationFileError("The file has no addresses or numbers in it.")
    return found


def opt_out_digest(organisation: Organisation, address: str) -> str:
    """The keyed hash an opt-out keeps: of the normalised address and the organisation, so
    the same person's opt-outs at two organisations do not match either."""
    message = f"{organisation.schema_name}\n{address}".encode()
    key = settings.INVITATION_OPT_OUT_KEY.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def current_organisation() -> Organisation:
    tenant = connection.tenant
    if getattr(tenant, "pk", None) is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
        raise RuntimeError("Invitations to tell are sent inside an organisation's schema.")
    return tenant


def listings_for(
    organisation: Organisation, within: frozenset[int] | None = None
) -> QuerySet[ServiceListing]:
    """The organisation's services people can tell about, as the hub lists them; `within`:
    only these services (a person limited to some, feedback/service_limits.py)."""
    listings = ServiceListing.objects.filter(organisation=organisation, is_active=True)
    if within is not None:
        listings = listings.filter(service_id__in=within)
    return listings.order_by("site_name", "name")


def _hub_path(name: str) -> str:
    return reverse(name, urlconf=settings.PUBLIC_SCHEMA_URLCONF)


def tell_url(listing: ServiceListing) -> str:
    """The hub's story form with the service chosen: the same for every recipient."""
    return public_url(settings.BASE_DOMAIN, f"{_hub_path('hub:tell')}?service={listing.pk}")


def opt_out_link(organisation: Organisation) -> str:
    """The opt-out link's last part: the organisation, signed. The same for every invitation
    the organisation sends (nothing per person), and refused on any other organisation's
    domain. Not a secret (every recipient has it), so not redacted from logs."""
    return signing.Signer(salt=OPT_OUT_SALT).sign(organisation.schema_name)


def is_opt_out_link(organisation: Organisation, link: str) -> bool:
    try:
        return signing.Signer(salt=OPT_OUT_SALT).unsign(link) == organisation.schema_name
    except signing.BadSignature:
        return False


def opt_out_url(organisation: Organisation) -> str:
    path = reverse(
        "onboarding:tell_invitation_opt_out",
        kwargs={"link": opt_out_link(organisation)},
        urlconf=settings.ROOT_URLCONF,
    )
    return organisation.workspace_url(path)


def sms_text(organisation: Organisation, listing: ServiceListing) -> str:
    return (
        f"{organisation.name} would like to hear how {listing.name} went for you. "
        f"Tell your story, no name needed: {tell_url(listing)} "
        f"No more of these: {opt_out_url(organisation)}"
    )


def send_invitations(
    *,
    organisation: Organisation,
    listing: ServiceListing,
    channel: str,
    recipients: Recipients,
    source: str,
    actor: object,
    request: HttpRequest | None = None,
) -> InvitationBatch:
    """Write the batch and an outbox row for each recipient not opted out, in one
    transaction, with its audit row (counts only). Raises InvitationError when there is
    no one to send to or the service is not the organisation's."""
    if listing.organisation_id != organisation.pk or not listing.is_active:
        raise InvitationError("Choose one of your own services.")
    if channel not in InvitationChannel.values or source not in InvitationSource.values:
        raise InvitationError("Choose email or text message.")
    if not recipients.addresses:
        raise InvitationError("There is no one to send an invitation to.")
    if len(recipients.addresses) > settings.INVITATION_BATCH_MAX:
        raise InvitationError(
            f"A batch may have at most {settings.INVITATION_BATCH_MAX} recipients."
        )
    digests = {opt_out_digest(organisation, a): a for a in recipients.addresses}
    opted_out = set(
        InvitationOptOut.objects.filter(digest__in=list(digests)).values_list("digest", flat=True)
    )
    to_send = [address for digest, address in digests.items() if digest not in opted_out]
    context = {
        "organisation": organisation,
        "listing": listing,
        "tell_url": tell_url(listing),
        "opt_out_url": opt_out_url(organisation),
    }
    with transaction.atomic():
        batch = InvitationBatch.objects.create(
            service_id=listing.service_id,
            listing_id=listing.pk,
            service_name=listing.name,
            channel=channel,
            source=source,
            sent_count=len(to_send),
            opted_out_count=len(opted_out),
            invalid_count=len(recipients.problems),
            duplicate_count=recipients.duplicates,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        if channel == InvitationChannel.EMAIL:
            subject = f"How was {listing.name}? Tell {organisation.name} your story"
            text_body = render_to_string("onboarding/email/tell_invitation.txt", context)
            html_body = render_to_string("onboarding/email/tell_invitation.html", context)
        else:
            body = sms_text(organisation, listing)
        for index, address in enumerate(to_send):
            # The key names the batch and a position, never the address.
            key = f"{KIND}:{organisation.schema_name}:{batch.pk}:{index}"
            if channel == InvitationChannel.EMAIL:
                enqueue_email(
                    kind=KIND,
                    key=key,
                    recipient=address,
                    subject=subject,
                    text_body=text_body,
                    html_body=html_body,
                    organisation=organisation,
                )
            else:
                enqueue_sms(
                    kind=KIND, key=key, recipient=address, body=body, organisation=organisation
                )
        record_audit(
            "invitations_to_tell.sent",
            actor=actor,
            target=batch,
            summary=f"Sent {batch.sent_count} invitation{'s' if batch.sent_count != 1 else ''} "
            f"to tell ({batch.get_channel_display()}) about {listing.name}",
            detail={
                "channel": channel,
                "source": source,
                "listing_id": listing.pk,
                "sent": batch.sent_count,
                "opted_out": batch.opted_out_count,
                "invalid": batch.invalid_count,
                "duplicates": batch.duplicate_count,
            },
            request=request,
        )
    return batch


def opt_out(organisation: Organisation, value: str) -> None:
    """Keep the opt-out of an address or number, if it is one; nothing otherwise. The
    caller answers the same either way."""
    address = normalise_email(value) if "@" in value else normalise_mobile(value)
    if address is None:
        return
    InvitationOptOut.objects.get_or_create(digest=opt_out_digest(organisation, address))
