"""What a bulk export holds, and its files: one row per story, written as CSV or as an Excel
workbook (feedback/exporting.py makes them on a worker).

An organisation's export reads its own schema's stories, as its inbox does. A network lead's
reads only public data about its consenting members (feedback/network_inbox.py). Neither
ever holds an author's contact details: those stay in the hub's Submission, which neither
reads.

Formula-safe: a spreadsheet runs a cell that starts with = + - @ as a formula. In the CSV
such text gets a leading apostrophe (feedback/csv_export.py). In the workbook every piece of
text is stored as a text cell, which Excel and LibreOffice never run, so it reads exactly as
written.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from feedback.choices import (
    AgeGroup,
    AuthorRole,
    ChangeStatus,
    Criticality,
    Progress,
    SubmissionRoute,
)
from feedback.csv_export import spreadsheet_safe
from feedback.hub.models import PublicResponse, PublicStory
from feedback.languages import StoryLanguage
from feedback.models import Response, Story
from feedback.network_inbox import network_stories
from tenants.models import Organisation

Row = list[object]
# Rows read from the database at a time, and how often progress is written.
CHUNK = 1000
# Excel's most characters in one cell; longer text is cut there, and says so.
CELL_LIMIT = 32_767
CUT = " […cut: the rest is in Carevoice]"

ORGANISATION_HEADER = [
    "Story ID",
    "Published",
    "Title",
    "Story",
    "Services",
    "Tags",
    "Criticality",
    "Progress",
    "Language",
    "Told by",
    "Age group",
    "How it came in",
    "Entered by staff",
    "Assigned to",
    "First responded",
    "Responses",
    "Changes (you said, we did)",
    "Link",
]

NETWORK_HEADER = [
    "Story ID",
    "Published",
    "Title",
    "Story",
    "Members",
    "Services",
    "Tags",
    "Criticality",
    "Progress at each member",
    "Language",
    "Told by",
    "Age group",
    "How it came in",
    "Responses",
    "Changes (you said, we did)",
    "Follow-ups logged",
    "Link",
]


def _label(choices: type, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _when(moment: datetime | None) -> datetime | None:
    """Local time without its zone: spreadsheets hold no zones (the About sheet names it)."""
    return None if moment is None else timezone.localtime(moment).replace(tzinfo=None)


def _response_text(when: datetime, name: str, body: str) -> str:
    return f"{timezone.localtime(when):%Y-%m-%d} {name}: {body.strip()}"


def _change_text(status: str, description: str) -> str | None:
    if status == ChangeStatus.NONE:
        return None
    label = _label(ChangeStatus, status)
    return f"{label}: {description}" if description else label


def organisation_stories(stories: QuerySet[Story]) -> QuerySet[Story]:
    """The filtered stories with everything a row reads, oldest first (a file reads in time
    order), so rows come `CHUNK` at a time in a few queries each."""
    return (
        stories.select_related("assigned_to")
        .prefetch_related(
            "services",
            "tags",
            Prefetch("responses", queryset=Response.objects.select_related("responder")),
        )
        .order_by("published_at", "id")
    )


def organisation_row(story: Story, story_url: Callable[[int], str]) -> Row:
    responses = list(story.responses.all())
    changes = [_change_text(r.change_status, r.change_description) for r in responses]
    return [
        story.public_id,
        _when(story.published_at),
        story.title,
        story.body,
        "; ".join(sorted(s.name for s in story.services.all())),
        "; ".join(sorted(t.name for t in story.tags.all())),
        _label(Criticality, story.criticality),
        _label(Progress, story.progress),
        _label(StoryLanguage, story.language),
        _label(AuthorRole, story.author_role),
        _label(AgeGroup, story.author_age_group),
        _label(SubmissionRoute, story.submission_route),
        "Yes" if story.staff_entered else "No",
        story.assigned_to.full_name if story.assigned_to else "",
        _when(story.first_responded_at),
        "\n\n".join(
            _response_text(r.published_at, r.responder.full_name, r.body) for r in responses
        ),
        "\n".join(c for c in changes if c),
        story_url(story.public_id),
    ]


def organisation_rows(stories: QuerySet[Story], story_url: Callable[[int], str]) -> Iterator[Row]:
    for story in organisation_stories(stories).iterator(chunk_size=CHUNK):
        yield organisation_row(story, story_url)


def network_rows(
    stories: QuerySet[PublicStory],
    members: list[Organisation],
    story_url: Callable[[int], str],
) -> Iterator[Row]:
    """Members' published stories, `CHUNK` at a time, each with what the network inbox shows
    of it: the members in scope it names, their progress, services and public responses."""
    ids = list(stories.order_by("published_at", "id").values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        by_id = {s.pk: s for s in PublicStory.objects.filter(pk__in=chunk)}
        found = network_stories([by_id[pk] for pk in chunk if pk in by_id], members)
        for item in found:
            story = item.story
            responses: list[PublicResponse] = item.responses
            changes = [_change_text(r.change_status, r.change_description) for r in responses]
            yield [
                story.pk,
                _when(story.published_at),
                story.title,
                story.body,
                "; ".join(m.organisation.name for m in item.at_members),
                "; ".join(
                    f"{m.organisation.name}: {listing.name}"
                    for m in item.at_members
                    for listing in m.services
                ),
                "; ".join(sorted(str(t.get("name", "")) for t in story.tags)),
                _label(Criticality, story.criticality),
                "; ".join(f"{m.organisation.name}: {m.progress_label}" for m in item.at_members),
                _label(StoryLanguage, story.language),
                _label(AuthorRole, story.author_role),
                _label(AgeGroup, story.author_age_group),
                _label(SubmissionRoute, story.submission_route),
                "\n\n".join(
                    _response_text(r.published_at, f"{r.responder_name} ({name})", r.body)
                    for r in responses
                    for name in [_member_name(item.at_members, r.organisation_id)]
                ),
                "\n".join(c for c in changes if c),
                item.follow_ups,
                story_url(story.pk),
            ]


def _member_name(at_members: list, organisation_id: int) -> str:  # noqa: ANN001
    for member in at_members:
        if member.organisation.pk == organisation_id:
            return member.organisation.name
    return ""


# --- files --------------------------------------------------------------------------------


def cell_text(value: object) -> object:
    """A value as a cell holds it: text without the control characters a workbook cannot
    hold (a pasted form feed, say), and cut at Excel's limit."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if len(value) > CELL_LIMIT:
        value = value[: CELL_LIMIT - len(CUT)] + CUT
    return value


def write_csv(
    path: Path, header: list[str], rows: Iterable[Row], moved_on: Callable[[int], None]
) -> int:
    written = 0
    with path.open("w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow(
                "" if value is None else spreadsheet_safe(_csv_value(cell_text(value)))
                for value in row
            )
            written += 1
            if written % CHUNK == 0:
                moved_on(written)
    return written


def _csv_value(value: object) -> object:
    return f"{value:%Y-%m-%d %H:%M}" if isinstance(value, datetime) else value


def write_xlsx(
    path: Path,
    header: list[str],
    rows: Iterable[Row],
    moved_on: Callable[[int], None],
    about: list[tuple[str, str]],
) -> int:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Stories")
    bold = Font(bold=True)
    sheet.append([_text_cell(sheet, name, font=bold) for name in header])
    sheet.freeze_panes = "A2"
    written = 0
    for row in rows:
        sheet.append([_cell(sheet, value) for value in row])
        written += 1
        if written % CHUNK == 0:
            moved_on(written)
    notes = book.create_sheet("About this export")
    for name, value in about:
        notes.append([_text_cell(notes, name, font=bold), _text_cell(notes, value)])
    book.save(path)
    return written


def _cell(sheet: object, value: object) -> WriteOnlyCell:
    if isinstance(value, str):
        return _text_cell(sheet, value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    return cell


def _text_cell(sheet: object, value: str, font: Font | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=cell_text(value))
    # TRICKY: openpyxl makes text starting with "=" a formula; stored as text, it never runs.
    cell.data_type = "s"
    if font is not None:
        cell.font = font
    return cell
