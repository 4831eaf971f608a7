"""The personal-details detector on a fixed set of labelled sentences (tests/feedback/pii_cases).

Quality, not timing: every kind of detail is found at least 95% of the time, and at most one
hard negative in ten (a sentence with no personal detail, full of ward, drug, place and
hospital names) has anything flagged, over all the sentences and in each part alone (tuning,
held-out, and the independent and fresh sets, each written by someone who had not seen the
detector).
``benchmarks/pii_detector.py`` prints the same figures, each part apart. Pure Python: no
database.
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
    # The held-out part is 30% of the sentences written with the tuning part (the independent
    # and fresh parts were written apart, by someone who had not seen the detector).
    held_out = len(load("heldout")) / (len(load("tuning")) + len(load("heldout")))
    assert 0.25 <= held_out <= 0.35
    assert len(load("independent")) >= 200
    assert len(load("fresh")) >= 200


@pytest.mark.parametrize("part", PARTS)
def test_each_part_alone_keeps_false_positives_at_most_one_in_ten(part: str) -> None:
    result = score(load(part))
    wrong = [describe_wrong(case, finding) for case, finding in result.wrong if case.is_negative]
    assert result.negatives >= 50
    assert result.false_positive_rate <= MAX_FALSE_POSITIVE_RATE, "\n".join(wrong)


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
