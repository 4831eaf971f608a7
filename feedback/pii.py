"""Find personal details in patient stories and suggest redactions for moderators.

Moderators check every story before it is published. This module only *suggests*: it returns
findings that a moderator can accept, edit or ignore, and applies the ones they keep. It is
deliberately pure Python (stdlib ``re`` only) so it can run anywhere, with or without Django.

The rules lean towards flagging: a false positive costs a moderator one click, a missed NHS
number or phone number costs a patient their privacy.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "REPLACEMENTS",
    "Finding",
    "Kind",
    "find_personal_details",
    "highlight",
    "is_valid_nhs_number",
    "redact",
]


class Kind(StrEnum):
    """The kinds of personal detail we look for (plain strings, so templates can use them)."""

    NAME = "name"
    NHS_NUMBER = "nhs_number"
    PHONE = "phone"
    EMAIL = "email"
    POSTCODE = "postcode"
    DATE_OF_BIRTH = "date_of_birth"
    URL = "url"


REPLACEMENTS: dict[str, str] = {
    Kind.NAME: "[name removed]",
    Kind.NHS_NUMBER: "[NHS number removed]",
    Kind.PHONE: "[phone number removed]",
    Kind.EMAIL: "[email removed]",
    Kind.POSTCODE: "[postcode removed]",
    Kind.DATE_OF_BIRTH: "[date of birth removed]",
    Kind.URL: "[link removed]",
}

# When two equally long findings overlap, the more specific kind wins (lower is stronger):
# an email is more than a link, and a number passing the NHS check digit is more than a phone.
_SPECIFICITY: dict[str, int] = {
    Kind.EMAIL: 0,
    Kind.NHS_NUMBER: 1,
    Kind.DATE_OF_BIRTH: 2,
    Kind.POSTCODE: 3,
    Kind.PHONE: 4,
    Kind.URL: 5,
    Kind.NAME: 6,
}


@dataclass(frozen=True)
class Finding:
    """One suspected personal detail: where it is, what it says and what to put instead."""

    kind: str
    start: int
    end: int
    text: str
    replacement: str

    def to_json(self) -> dict[str, str | int]:
        """A JSON-ready dict, to store with the text it was found in."""
        return {
            "kind": str(self.kind),
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "replacement": self.replacement,
        }

    @classmethod
    def from_json(cls, data: dict[str, str | int]) -> Finding:
        return cls(
            Kind(data["kind"]),
            int(data["start"]),
            int(data["end"]),
            str(data["text"]),
            str(data["replacement"]),
        )

    def fits(self, text: str) -> bool:
        """Whether ``text`` still says, at this finding's offsets, what was found there."""
        return 0 <= self.start < self.end <= len(text) and text[self.start : self.end] == self.text


# --- Names ---------------------------------------------------------------------------------

# Horizontal whitespace only: a title at the end of one line and a capitalised word starting
# the next are rarely a name.
_GAP = r"[^\S\r\n]+"
_TITLE_WORD = r"(?i:doctor|dr|nurse|sister|matron|mrs|mr|ms|miss|mx|professor|prof|sir|dame)"
# Only abbreviations take a full stop: after "doctor" or "nurse" a full stop ends a sentence,
# and the capitalised word that follows is not a name ("I saw the doctor. Then...").
_TITLE = r"(?i:(?:dr|mrs|mr|ms|mx|prof)\.?|doctor|nurse|sister|matron|miss|professor|sir|dame)"
# Capitalised words that start sentences rather than name people: "I saw the Dr. Then...".
# Words that are also first names (Will, May, Grace) are deliberately not listed.
_NOT_NAMES = (
    r"(?:After|All|Also|An|And|As|At|Before|But|Did|During|Eventually|Even|Everyone|For"
    r"|From|He|Her|His|How|If|In|It|Its|Later|My|No|Not|Nobody|Nothing|Now|Of|On|Our|Please"
    r"|She|So|Some|Thank|Thanks|That|The|Their|Then|There|These|They|This|Those|Today|Was"
    r"|We|What|When|Where|Which|While|Who|Why|Yes|Yesterday|You|Your)"
)
# Latin-1 and Latin Extended-A letters, so Siân, Zoë, Siôn and Łukasz count as names.
_UPPER = "A-ZÀ-ÖØ-Þ\u0100-\u017f"
_LOWER = "a-zß-öø-ÿ\u0100-\u017f"
# A capitalised word: McDonald, MacLeod, O'Neill, D'Arcy, Jean-Luc, Smith-Jones. A title is
# never itself a name word, so "I miss Nurse Jo Bloggs" finds "Nurse Jo Bloggs".
_NAME_WORD = (
    rf"(?!(?:{_TITLE_WORD}|{_NOT_NAMES})\b)"
    rf"(?:Mc|Mac|O['’]|D['’])?[{_UPPER}][{_LOWER}]+(?:['’-][{_UPPER}][{_LOWER}]+)*"
)
_INITIAL = rf"[{_UPPER}]\.?{_GAP}"
_NAME = re.compile(
    rf"\b{_TITLE}{_GAP}(?:{_INITIAL}){{0,2}}{_NAME_WORD}(?:{_GAP}{_NAME_WORD})?"
    # "Dr Smith's": the possessive is not part of the name; "Dr Smithson" is not "Dr Smith".
    rf"(?![{_LOWER}{_UPPER}])"
)


# --- NHS numbers ---------------------------------------------------------------------------

# [0-9] rather than \d: \d also matches other scripts' digits, which int() would then accept.
_NHS_SHAPE = re.compile(r"[0-9]{3}([ -]?)[0-9]{3}\1[0-9]{4}")
# Not glued to a longer run of digits, including runs grouped with spaces or hyphens
# ("0161 943 476 5919" is a phone number, not an NHS number with a prefix).
_NHS_NUMBER = re.compile(
    r"(?<![0-9+])(?<![0-9][ -])[0-9]{3}([ -]?)[0-9]{3}\1[0-9]{4}(?![ -]?[0-9])"
)


def is_valid_nhs_number(value: str) -> bool:
    """Whether ``value`` is a well-formed NHS number with a correct modulus 11 check digit.

    Ten digits, either unbroken or grouped 3-3-4 with one kind of separator (spaces or
    hyphens). Surrounding whitespace is ignored.
    """
    candidate = value.strip()
    if not _NHS_SHAPE.fullmatch(candidate):
        return False
    digits = [int(char) for char in candidate if char.isdigit()]
    total = sum(weight * digit for weight, digit in zip(range(10, 1, -1), digits[:9], strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    # A check value of 10 is never issued, so any number needing it is invalid.
    return check != 10 and check == digits[9]


# --- Phone numbers -------------------------------------------------------------------------

_SEP = r"[ -]?"
# UK national numbers are 10 or 11 digits including the leading 0. Digits are counted with
# bounded repetition so a number followed by an unrelated figure ("07700 900123 2 times")
# still stops at the right place, and a longer digit run is not flagged at all.
_BRACKETED_AREA_CODES = "|".join(
    rf"\(0[0-9]{{{n}}}\){_SEP}[0-9](?:{_SEP}[0-9]){{{8 - n},{9 - n}}}" for n in range(2, 6)
)
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    # +44 7700 900123, +44 (0)20 7946 0000, 0044 20 7946 0000, and the common +44 07700...
    rf"(?:\+|00)44{_SEP}(?:\(0\){_SEP}|0)?[1-9](?:{_SEP}[0-9]){{8,9}}"
    rf"|{_BRACKETED_AREA_CODES}"
    # 01632 960 123, 0161-496-0000, 0800 123 4567. Service numbers (111, 999) never match.
    rf"|0(?:{_SEP}[0-9]){{9,10}}"
    r")(?![0-9])"
)


# --- Email addresses -----------------------------------------------------------------------

# An address is a local part (a letter or digit, then letters, digits and ._%+-), not glued
# to a longer run of those, then "@" and a dotted domain ending in two or more letters.
_EMAIL_DOMAIN = re.compile(
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}(?![A-Za-z0-9-])"
)
_EMAIL_LOCAL_RUN = re.compile(r"[A-Za-z0-9._%+-]*")
_EMAIL_START = re.compile(r"(?<![A-Za-z0-9_%+-])[A-Za-z0-9]")


def _emails(text: str) -> Iterator[tuple[int, int]]:
    """Where each email address starts and ends, leftmost first, never overlapping.

    TRICKY: this was one pattern, ``_EMAIL_START`` + ``[A-Za-z0-9._%+-]*`` + the domain, and
    the engine retried it from every letter after a "." in a long run with no address in it
    ("a.a.a.a..."), each time to the end of the run: quadratic. Working from each "@" with a
    domain after it finds the same addresses: the local part is the run of local-part
    characters before the "@" (read on the reversed text), from its first possible start
    that is not inside the previous address. Runs before different "@"s never share a
    character, so the whole text is read a fixed number of times.
    """
    backwards = text[::-1]
    previous_end = 0
    for domain in _EMAIL_DOMAIN.finditer(text):
        at = domain.start()
        run = _EMAIL_LOCAL_RUN.match(backwards, len(text) - at)
        local = _EMAIL_START.search(text, max(previous_end, at - len(run.group())), at)
        if local is not None:
            yield local.start(), domain.end()
            previous_end = domain.end()


# --- Postcodes -----------------------------------------------------------------------------

# The standard UK postcode pattern: the letters that can appear in each position are
# restricted, which keeps ordinary words and ward or bed numbers from matching.
_POSTCODE = re.compile(
    r"\b(?:GIR[^\S\r\n]?0AA|"
    r"(?:[A-PR-UWYZ][0-9]{1,2}"  # M1, B33
    r"|[A-PR-UWYZ][A-HK-Y][0-9]{1,2}"  # CR2, DN55
    r"|[A-PR-UWYZ][0-9][A-HJKPSTUW]"  # W1A
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])"  # SW1A
    r"[^\S\r\n]?[0-9][ABD-HJLNP-UW-Z]{2})\b",
    re.IGNORECASE,
)
# "ward A1 2nd floor": a lower-case inward code that reads as an ordinal is prose, not a
# postcode. Upper case ("B33 8TH") is still taken as a postcode.
_ORDINAL = re.compile(r"[0-9](?:st|nd|rd|th)")


def _is_postcode(match: re.Match[str]) -> bool:
    inward = match.group()[-3:]
    return not _ORDINAL.fullmatch(inward)


# --- Dates of birth ------------------------------------------------------------------------

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH_NAME = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORDINAL_SUFFIX = r"(?:st|nd|rd|th)?"
_DATE = re.compile(
    r"(?<![0-9])(?:"
    # 12/03/1956, 12-03-56, 12.3.1956: UK day-month-year, one kind of separator.
    r"(?P<d1>[0-9]{1,2})(?P<sep>[/.-])(?P<m1>[0-9]{1,2})(?P=sep)(?P<y1>[0-9]{4}|[0-9]{2})"
    # 1956-03-12
    r"|(?P<y2>[0-9]{4})-(?P<m2>[0-9]{2})-(?P<d2>[0-9]{2})"
    # 12 March 1956, 12th of March, 1956
    rf"|(?P<d3>[0-9]{{1,2}}){_ORDINAL_SUFFIX}(?:\s+of)?\s+(?P<mn3>{_MONTH_NAME})\.?,?\s+"
    r"(?P<y3>[0-9]{4})"
    # March 12 1956, March 12th, 1956
    rf"|\b(?P<mn4>{_MONTH_NAME})\.?\s+(?P<d4>[0-9]{{1,2}}){_ORDINAL_SUFFIX},?\s+"
    r"(?P<y4>[0-9]{4})"
    r")(?![0-9])",
    re.IGNORECASE,
)
_DOB_CUE = re.compile(
    r"\b(?:d\.?o\.?b(?![a-z])\.?|(?:date\s+of\s+birth|birth\s*date|born)\b)",
    re.IGNORECASE,
)
# How far after a cue a date may start ("born in Leeds on 12 March 1956").
_DOB_CUE_REACH = 20
# The cue must be in the same sentence as the date.
_SENTENCE_BREAK = re.compile(r"[.!?](?:\s|$)|[\r\n]")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_calendar_date(match: re.Match[str]) -> bool:
    """Whether the matched day and month exist (the year is taken as written)."""
    d1, d2, d3, d4, m1, m2, mn3, mn4 = match.group("d1", "d2", "d3", "d4", "m1", "m2", "mn3", "mn4")
    day = d1 or d2 or d3 or d4
    month_number = m1 or m2
    month = int(month_number) if month_number else _MONTHS[(mn3 or mn4).lower()[:3]]
    return 1 <= month <= 12 and 1 <= int(day) <= _DAYS_IN_MONTH[month - 1]


def _dates_of_birth(text: str) -> Iterator[tuple[int, int]]:
    """The first real date after each DOB cue, if it starts close enough to the cue.

    TRICKY: searching the rest of the text for the next date after every cue took time
    proportional to cues x length (seconds for a box of repeated "dob"). The dates are found
    once, and each cue looks at those starting within reach of it. They are the dates
    ``_DATE.finditer(text, cue.end())`` would give, because no date runs across the end of a
    cue: a cue ends in "b", "b.", "birth", "date" or "born", and no date has those letters.
    """
    cues = [cue.end() for cue in _DOB_CUE.finditer(text)]
    if not cues:
        return
    dates = list(_DATE.finditer(text))
    starts = [date.start() for date in dates]
    # Whether each date is a calendar date, worked out once although several cues see it.
    real: list[bool | None] = [None] * len(dates)
    for cue_end in cues:
        # A date that is not a calendar date (31/02/1956) is passed over for the next.
        for index in range(bisect.bisect_left(starts, cue_end), len(dates)):
            start = starts[index]
            if start - cue_end > _DOB_CUE_REACH or _SENTENCE_BREAK.search(text[cue_end:start]):
                break
            if real[index] is None:
                real[index] = _is_calendar_date(dates[index])
            if real[index]:
                yield dates[index].span()
                break


# --- Links ---------------------------------------------------------------------------------

_URL = re.compile(
    r"\b(?:https?://[^\s<>\"]+"
    r"|www\.[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:[/?#:][^\s<>\"]*)?)",
    re.IGNORECASE,
)
# Punctuation that ends a sentence or closes a quotation rather than belonging to the link.
_URL_TRAILING = ".,;:!?'\"’”"
_URL_CLOSERS = {")": "(", "]": "[", "}": "{"}


def _url_end(url: str) -> int:
    """The length of ``url`` without trailing punctuation that belongs to the prose."""
    # Counted once and kept up to date as the end moves back: counting again for every
    # trailing closer took time quadratic in the number of closers.
    counts = {char: url.count(char) for pair in _URL_CLOSERS.items() for char in pair}
    end = len(url)
    while end:
        last = url[end - 1]
        if last in _URL_TRAILING:
            end -= 1
        elif last in _URL_CLOSERS and counts[_URL_CLOSERS[last]] < counts[last]:
            # An unbalanced closer, as in "(see https://example.org/page)".
            end -= 1
            counts[last] -= 1
        else:
            break
    return end


# --- Scanning ------------------------------------------------------------------------------


# Characters every match of a rule must contain. Looking for them is one quick pass, and a
# text without them (most of an ordinary story's length, or a crafted one) skips that rule's
# slower pattern: every date has a two-digit year or more, every NHS number three digits in a
# row, every phone number and postcode a digit, every address an "@".
_DIGIT = re.compile(r"[0-9]")
_TWO_DIGITS = re.compile(r"[0-9]{2}")
_THREE_DIGITS = re.compile(r"[0-9]{3}")


def _candidates(text: str) -> list[tuple[int, int, int, Kind]]:
    """Every match of every rule, overlapping ones included, as (start, end, rank, kind).

    ``rank`` is the kind's specificity. Tuples rather than findings: a text can have
    thousands of candidates, and only the ones kept become :class:`Finding` objects.
    """
    found: list[tuple[int, int, int, Kind]] = []
    add = found.append
    rank = _SPECIFICITY[Kind.NAME]
    for match in _NAME.finditer(text):
        add((*match.span(), rank, Kind.NAME))
    if _DIGIT.search(text):
        if _THREE_DIGITS.search(text):
            rank = _SPECIFICITY[Kind.NHS_NUMBER]
            for match in _NHS_NUMBER.finditer(text):
                if is_valid_nhs_number(match.group()):
                    add((*match.span(), rank, Kind.NHS_NUMBER))
        rank = _SPECIFICITY[Kind.PHONE]
        for match in _PHONE.finditer(text):
            add((*match.span(), rank, Kind.PHONE))
        rank = _SPECIFICITY[Kind.POSTCODE]
        for match in _POSTCODE.finditer(text):
            if _is_postcode(match):
                add((*match.span(), rank, Kind.POSTCODE))
        if _TWO_DIGITS.search(text):
            rank = _SPECIFICITY[Kind.DATE_OF_BIRTH]
            # Two cues can find the same date: it is one candidate.
            for start, end in dict.fromkeys(_dates_of_birth(text)):
                add((start, end, rank, Kind.DATE_OF_BIRTH))
    if "@" in text:
        rank = _SPECIFICITY[Kind.EMAIL]
        for start, end in _emails(text):
            add((start, end, rank, Kind.EMAIL))
    rank = _SPECIFICITY[Kind.URL]
    for match in _URL.finditer(text):
        end = match.start() + _url_end(match.group())
        if end > match.start():
            add((match.start(), end, rank, Kind.URL))
    return found


def find_personal_details(text: str) -> list[Finding]:
    """Suspected personal details in ``text``, sorted by position and never overlapping.

    Where two findings overlap, the longer one is kept (it hides more); between equally long
    ones the more specific kind wins, e.g. an email over a link, an NHS number over a phone.
    """
    candidates = _candidates(text)
    # Each rule's matches do not overlap one another, and usually no two rules' do either:
    # then every candidate is kept, and there is nothing to rank.
    candidates.sort()
    reached = 0
    for start, end, _, _ in candidates:
        if start < reached:
            break
        reached = end
    else:
        return [
            Finding(kind, start, end, text[start:end], REPLACEMENTS[kind])
            for start, end, _, kind in candidates
        ]
    candidates.sort(key=lambda c: (c[0] - c[1], c[2], c[0]))
    # One mark per character already kept. Looking at and marking every candidate's
    # characters is linear in the text, where comparing each candidate with every finding
    # kept before it was quadratic.
    taken = bytearray(len(text))
    kept: list[tuple[int, int, int, Kind]] = []
    for candidate in candidates:
        start, end = candidate[0], candidate[1]
        if taken.find(1, start, end) == -1:
            taken[start:end] = b"\x01" * (end - start)
            kept.append(candidate)
    kept.sort()
    return [
        Finding(kind, start, end, text[start:end], REPLACEMENTS[kind])
        for start, end, _, kind in kept
    ]


# --- Applying and showing findings ---------------------------------------------------------


def _checked(text: str, findings: Iterable[Finding]) -> list[Finding]:
    """``findings`` in text order, refusing any that do not fit ``text`` as it is now.

    The text may have been edited since it was scanned; applying stale offsets would mangle
    the story or leave the detail in place, so we refuse rather than guess.
    """
    ordered = sorted(dict.fromkeys(findings), key=lambda f: (f.start, f.end))
    previous: Finding | None = None
    for finding in ordered:
        if not 0 <= finding.start < finding.end <= len(text):
            raise ValueError(
                f"{finding.kind} finding at {finding.start}-{finding.end} is outside the text "
                f"(length {len(text)}); scan the text again"
            )
        if text[finding.start : finding.end] != finding.text:
            raise ValueError(
                f"{finding.kind} finding at {finding.start}-{finding.end} expected "
                f"{finding.text!r} but the text there is "
                f"{text[finding.start : finding.end]!r}; scan the text again"
            )
        if previous is not None and finding.start < previous.end:
            raise ValueError(
                f"{finding.kind} finding at {finding.start}-{finding.end} overlaps "
                f"{previous.kind} finding at {previous.start}-{previous.end}"
            )
        previous = finding
    return ordered


def redact(text: str, findings: Iterable[Finding]) -> str:
    """``text`` with each finding replaced by its (possibly edited) ``replacement``.

    ``findings`` may be any subset of what :func:`find_personal_details` returned. Raises
    ``ValueError`` if a finding no longer matches the text at its offsets, or two overlap.
    """
    parts: list[str] = []
    position = 0
    for finding in _checked(text, findings):
        parts += [text[position : finding.start], finding.replacement]
        position = finding.end
    parts.append(text[position:])
    return "".join(parts)


def highlight(text: str, findings: Iterable[Finding]) -> list[tuple[str, Finding | None]]:
    """Split ``text`` into plain segments (``None``) and findings, for a template to mark up.

    Joining the segments' text gives back ``text`` exactly; empty plain segments are left
    out. Raises ``ValueError`` like :func:`redact` for stale or overlapping findings.
    """
    segments: list[tuple[str, Finding | None]] = []
    position = 0
    for finding in _checked(text, findings):
        if finding.start > position:
            segments.append((text[position : finding.start], None))
        segments.append((finding.text, finding))
        position = finding.end
    if position < len(text):
        segments.append((text[position:], None))
    return segments
