"""Entering a story for its author: one received on paper, by phone or in person, typed in by
a Carevoice moderator on the hub or by an organisation's story taker in its workspace.

Either way it lands in the hub's moderation queue as a Submission, like any other story, and
goes through the same moderation. The person entering it records the route, how the author
agreed to publication (required) and who they are (from their account); they may attach a
scan of the paper form.

An organisation's own staff may enter stories only about that organisation's services, and
only this way, through the hub: such a story is marked staff-entered, which moderators see,
and which is carried onto the organisation's Story when it is published (feedback/publishing.py)
and counted by route in its reports.

Scans: PDF, PNG or JPEG, judged by what the file holds (its first bytes, then a decode for
pictures), never by its name or the browser's content type; at most MAX_SCAN_BYTES. Kept
under MEDIA_ROOT/scans/<schema>/ (the entering organisation's schema, or "public" for the
hub's moderators) with a random name. /media/ serves profile photos only
(tenants/accounts/media.py), so a scan is reached only through the views in entering_views,
which check who asks.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest
from django_tenants.utils import schema_context
from PIL import Image, UnidentifiedImageError

from feedback.choices import ENTERED_ROUTES, ConsentGiven, SubmissionRoute
from feedback.hub.models import ServiceListing, Submission
from feedback.languages import StoryLanguage
from feedback.submissions import StoryFromAuthor, submit_story
from tenants.audit.recording import record_audit
from tenants.models import Organisation

logger = logging.getLogger(__name__)

MAX_SCAN_BYTES = 10 * 1024 * 1024
# The file's first bytes: what it is, and the extension it is stored under.
SIGNATURES = ((b"%PDF-", "pdf"), (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"))
SCAN_TYPES = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg"}
SCAN_NAME = re.compile(
    r"^scans/(?P<schema>[a-z0-9_]{1,63})/(?P<name>[0-9a-f]{32})\.(?P<ext>pdf|png|jpg)$"
)
# How an audit summary names each route.
ROUTE_WORDS = {
    SubmissionRoute.PAPER: "on paper",
    SubmissionRoute.PHONE: "by phone",
    SubmissionRoute.IN_PERSON: "in person",
}


class EnteringError(Exception):
    """The story cannot be entered as given; the message says what to put right."""


@dataclass
class EnteredStory:
    """A story as the person entering it typed it in, for its author."""

    title: str
    what_was_good: str
    what_could_be_improved: str
    how_it_felt: str
    author_role: str
    author_age_group: str
    nickname: str
    route: str
    consent_given: str
    # The person entering it confirmed the author agreed to publication.
    consent_confirmed: bool
    listings: list[ServiceListing]
    # The author's own address, for news of responses, if they gave one.
    email: str = ""
    postcode: str = ""
    # The language the author told it in ("en", "cy"; feedback/languages.py): it is published
    # in it, and emails to the author are written in it.
    language: str = StoryLanguage.ENGLISH


def is_story_taker(user: Any) -> bool:
    """Whether this account of an organisation's staff may enter stories for their authors."""
    return bool(
        getattr(user, "is_authenticated", False)
        and user.is_active
        and getattr(user, "is_story_taker", False)
    )


def check_scan(upload: UploadedFile) -> str:
    """The extension the scan is stored under (pdf, png or jpg), judged by its content; or
    EnteringError saying what is wrong with it."""
    if upload.size is not None and upload.size > MAX_SCAN_BYTES:
        raise EnteringError("Choose a scan under 10 MB.")
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    extension = next((ext for magic, ext in SIGNATURES if head.startswith(magic)), None)
    if extension is None:
        raise EnteringError("The scan must be a PDF, PNG or JPEG file.")
    if extension == "pdf":
        upload.seek(max(0, (upload.size or 0) - 2048))
        tail = upload.read()
        upload.seek(0)
        if b"%%EOF" not in tail:
            raise EnteringError("That PDF is incomplete or damaged: scan the form again.")
        return extension
    try:
        with Image.open(upload) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise EnteringError("That picture is damaged: scan the form again.") from None
    finally:
        upload.seek(0)
    return extension


def _store_scan(upload: UploadedFile, extension: str, schema: str) -> str:
    name = f"scans/{schema}/{uuid.uuid4().hex}.{extension}"
    path = Path(settings.MEDIA_ROOT) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    upload.seek(0)
    with path.open("xb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return name


def scan_path(name: str) -> Path | None:
    """The file of a stored scan's name, if the name is one this module makes and the file
    is there."""
    if not SCAN_NAME.match(name or ""):
        return None
    path = Path(settings.MEDIA_ROOT) / name
    return path if path.is_file() else None


def remove_scan(name: str) -> None:
    """Delete a stored scan's file (when its submission's text goes, for instance)."""
    path = scan_path(name)
    if path is not None:
        with suppress(OSError):
            path.unlink()


def _entered_by(user: Any, organisation: Organisation | None) -> str:
    name = getattr(user, "full_name", "") or ""
    if organisation is None:
        return f"{name}, Carevoice moderator" if name else "A Carevoice moderator"
    job = getattr(user, "job_title", "") or ""
    who = ", ".join(part for part in (name, job) if part) or "A member of staff"
    return f"{who} ({organisation.name})"


def _check(entry: EnteredStory, organisation: Organisation | None) -> None:
    if entry.route not in ENTERED_ROUTES:
        raise EnteringError("Say how the story reached you: on paper, by phone or in person.")
    if entry.consent_given not in ConsentGiven.values:
        raise EnteringError("Say how the author agreed to their story being published.")
    if not entry.consent_confirmed:
        raise EnteringError(
            "Confirm that the author agreed to their story being published: without their "
            "agreement it cannot be entered."
        )
    if entry.language not in StoryLanguage.values:
        raise EnteringError("Say which language the story was told in: English or Cymraeg.")
    if not entry.listings:
        raise EnteringError("Choose at least one service the story is about.")
    if organisation is not None and any(
        listing.organisation_id != organisation.pk for listing in entry.listings
    ):
        raise EnteringError(
            f"Choose {organisation.name}'s own services: a story about another organisation "
            "is entered by Carevoice's moderators."
        )


def enter_story(
    entry: EnteredStory,
    *,
    entered_by: Any,
    organisation: Organisation | None = None,
    scan: UploadedFile | None = None,
    request: HttpRequest | None = None,
) -> Submission:
    """Put a story entered for its author in the moderation queue.

    `organisation`: the organisation whose story taker `entered_by` is (called in its
    schema, where the audit row goes); None for a hub moderator (in the public schema).
    """
    if organisation is not None and not is_story_taker(entered_by):
        raise EnteringError("Only story takers can enter stories: ask an administrator.")
    _check(entry, organisation)
    extension = check_scan(scan) if scan is not None else None
    schema = organisation.schema_name if organisation is not None else "public"
    name = _store_scan(scan, extension, schema) if scan is not None and extension else ""
    try:
        with transaction.atomic():
            with schema_context(settings.PUBLIC_SCHEMA_NAME):
                submission = submit_story(
                    StoryFromAuthor(
                        title=entry.title,
                        what_was_good=entry.what_was_good,
                        what_could_be_improved=entry.what_could_be_improved,
                        how_it_felt=entry.how_it_felt,
                        author_role=entry.author_role,
                        author_age_group=entry.author_age_group,
                        nickname=entry.nickname,
                        email=entry.email,
                        postcode=entry.postcode,
                        route=entry.route,
                        listings=entry.listings,
                        language=entry.language,
                    )
                )
                submission.entered_by = _entered_by(entered_by, organisation)[:200]
                submission.entered_by_organisation = organisation
                submission.entered_by_user_id = entered_by.pk
                submission.staff_entered = organisation is not None
                submission.consent_given = entry.consent_given
                submission.scan = name
                submission.save(
                    update_fields=[
                        "entered_by",
                        "entered_by_organisation",
                        "entered_by_user_id",
                        "staff_entered",
                        "consent_given",
                        "scan",
                    ]
                )
            # In the schema of the person who entered it. Never the story's text.
            record_audit(
                "story.entered_for_someone",
                actor=entered_by,
                target=submission,
                summary=f"Entered a story received {ROUTE_WORDS[SubmissionRoute(entry.route)]} "
                "for its author",
                detail={
                    "route": entry.route,
                    "consent_given": entry.consent_given,
                    "scan": bool(name),
                    "staff_entered": organisation is not None,
                    "services": [listing.pk for listing in entry.listings],
                },
                request=request,
            )
    except Exception:
        if name:
            remove_scan(name)
        raise
    return submission
