"""Score the personal-details detector against the labelled sentences in this folder.

The sentences are written the way patients write: names with and without a title, hospital
and record numbers, street addresses, NHS numbers, phone numbers, emails, postcodes, dates
of birth and links; and hard negatives, with no personal detail at all but with the words
that look like one (ward, hospital, drug and place names, months, "Dr" with no name, staff
roles, first names that are everyday words opening a sentence).

* ``tuning.jsonl``: the sentences the detector's rules were tuned against.
* ``heldout.jsonl``: written at the same time and in the same way, and not looked at while
  tuning, so its figures show how the rules do on sentences they were not fitted to.
* ``independent.jsonl``: 200 sentences written by someone who had not seen the detector or
  its rules, in the words patients use (nicknames, lower case, names from every community,
  thanks and praise). It showed the rules fitted to the first two parts did not generalise
  (70% recall for names without a title), and is now also used for tuning.
* ``fresh.jsonl``: 200 more sentences written by someone who had not seen the detector,
  measured unseen on 2026-12-06 (names without a title 0.79, addresses 0.87, record numbers
  0.93, links 0.60, 5% of hard negatives flagged), then used for tuning as well.
* ``unseen.jsonl``: a third such set, never used for tuning and not in ``PARTS``:
  benchmarks/pii_detector.py reports it apart, as the measure of the rules on new text.
  Whoever tunes the rules against it must say so here and write a new set blind.

Each line is ``{"text": ..., "details": [[category, detail], ...]}``. A category is a
:class:`feedback.pii.Kind` value, or ``"titled_name"`` for a name after a title (scored on its
own, found as a ``"name"``). ``detail`` is the exact text of the detail, its first occurrence
in the sentence (or ``[category, detail, n]`` for the n-th occurrence, counting from 0). A
sentence with no details is a hard negative.

A detail is found if a finding of its kind covers it whole (a name found without its surname
is missed). A finding is right if it overlaps a detail of its kind; precision is the share of
findings that are right. A hard negative counts as a false positive if anything at all is
flagged in it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from feedback.pii import Finding, Kind, find_personal_details

CASES = Path(__file__).resolve().parent
PARTS = ("tuning", "heldout", "independent", "fresh")
# The kind a category is found as.
FOUND_AS = {"titled_name": Kind.NAME}
CATEGORIES = (
    "name",
    "titled_name",
    "record_number",
    "address",
    "nhs_number",
    "phone",
    "email",
    "postcode",
    "date_of_birth",
    "url",
)


@dataclass(frozen=True)
class Detail:
    category: str
    start: int
    end: int

    @property
    def kind(self) -> str:
        return str(FOUND_AS.get(self.category, self.category))


@dataclass(frozen=True)
class Case:
    part: str
    line: int
    text: str
    details: tuple[Detail, ...]

    @property
    def is_negative(self) -> bool:
        return not self.details


def load(part: str) -> list[Case]:
    """The labelled sentences of one part ("tuning", "heldout", "independent" or "fresh")."""
    cases = []
    path = CASES / f"{part}.jsonl"
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        data = json.loads(line)
        text = data["text"]
        details = []
        for category, detail, *occurrence in data["details"]:
            if category not in CATEGORIES:
                raise ValueError(f"{path.name}:{number}: unknown category {category!r}")
            start = -1
            for _ in range((occurrence or [0])[0] + 1):
                start = text.index(detail, start + 1)
            details.append(Detail(category, start, start + len(detail)))
        cases.append(Case(part, number, text, tuple(details)))
    return cases


def load_all() -> list[Case]:
    return [case for part in PARTS for case in load(part)]


@dataclass
class Score:
    found: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    total: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    right_findings: int = 0
    findings: int = 0
    negatives: int = 0
    flagged_negatives: int = 0
    misses: list[tuple[Case, Detail, list[Finding]]] = field(default_factory=list)
    wrong: list[tuple[Case, Finding]] = field(default_factory=list)

    def recall(self, category: str) -> float | None:
        total = self.total[category]
        return self.found[category] / total if total else None

    @property
    def precision(self) -> float:
        return self.right_findings / self.findings if self.findings else 1.0

    @property
    def false_positive_rate(self) -> float:
        return self.flagged_negatives / self.negatives if self.negatives else 0.0


def score(cases: list[Case]) -> Score:
    """Run the detector over ``cases`` and count what it found, missed and flagged wrongly."""
    result = Score()
    for case in cases:
        findings = find_personal_details(case.text)
        for detail in case.details:
            result.total[detail.category] += 1
            if any(
                finding.kind == detail.kind
                and finding.start <= detail.start
                and finding.end >= detail.end
                for finding in findings
            ):
                result.found[detail.category] += 1
            else:
                result.misses.append((case, detail, findings))
        for finding in findings:
            result.findings += 1
            if any(
                finding.kind == detail.kind
                and finding.start < detail.end
                and detail.start < finding.end
                for detail in case.details
            ):
                result.right_findings += 1
            else:
                result.wrong.append((case, finding))
        if case.is_negative:
            result.negatives += 1
            result.flagged_negatives += bool(findings)
    return result


def describe_miss(case: Case, detail: Detail, findings: list[Finding]) -> str:
    found = ", ".join(f"{f.kind} {f.text!r}" for f in findings) or "nothing"
    return (
        f"{case.part}:{case.line} {detail.category} {case.text[detail.start : detail.end]!r} "
        f"missed in {case.text!r} (found {found})"
    )


def describe_wrong(case: Case, finding: Finding) -> str:
    return f"{case.part}:{case.line} {finding.kind} {finding.text!r} flagged in {case.text!r}"
