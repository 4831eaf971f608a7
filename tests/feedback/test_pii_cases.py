"""The personal-details detector on a fixed set of labelled sentences (tests/feedback/pii_cases).

Quality, not timing: every kind of detail is found at least 95% of the time, and at most one
hard negative in ten (a sentence with no personal detail, full of ward, drug, place and
hospital names) has anything flagged. ``benchmarks/pii_detector.py`` prints the same figures,
with the held-out sentences apart. Pure Python: no database.
"""

from __future__ import annotations

import pytest

from tests.feedback.pii_cases.scoring import (
    CATEGORIES,
    PARTS,
    describe_miss,
    describe_wrong,
    load,
    load_all,
    score,
)

MIN_RECALL = 0.95
MAX_FALSE_POSITIVE_RATE = 0.10


@pytest.fixture(scope="module")
def scored():
    return score(load_all())


def test_the_set_has_every_kind_and_enough_sentences() -> None:
    cases = load_all()
    assert len(cases) >= 300
    assert sum(case.is_negative for case in cases) >= 100
    for part in PARTS:
        part_cases = load(part)
        categories = {detail.category for case in part_cases for detail in case.details}
        # The held-out part is a sample of the same kinds of sentence.
        assert {"name", "titled_name", "record_number", "address"} <= categories, part
    assert {detail.category for case in cases for detail in case.details} == set(CATEGORIES)
    held_out = len(load("heldout")) / len(cases)
    assert 0.25 <= held_out <= 0.35


@pytest.mark.parametrize("category", CATEGORIES)
def test_each_kind_of_detail_is_found_at_least_95_percent_of_the_time(
    scored, category: str
) -> None:
    recall = scored.recall(category)
    misses = [describe_miss(*miss) for miss in scored.misses if miss[1].category == category]
    assert recall is not None and recall >= MIN_RECALL, "\n".join(misses)


def test_at_most_one_hard_negative_in_ten_has_anything_flagged(scored) -> None:
    wrong = [describe_wrong(case, finding) for case, finding in scored.wrong if case.is_negative]
    assert scored.negatives >= 100
    assert scored.false_positive_rate <= MAX_FALSE_POSITIVE_RATE, "\n".join(wrong)
