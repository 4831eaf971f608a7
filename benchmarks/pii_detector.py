"""How well the personal-details detector finds what it should, and only that.

Runs `feedback.pii.find_personal_details` over the labelled sentences in
tests/feedback/pii_cases (see scoring.py there for the format and how they are scored) and
prints, for the tuning sentences, the held-out sentences (written at the same time, never
looked at while tuning the rules), the independent sentences (written by someone who had not
seen the detector; since used for tuning too), the fresh sentences (written the same way
and measured unseen on 2026-12-06; since used for tuning too) and all of them; then, apart,
the unseen sentences (a third set written by someone who had not seen the detector, never
used for tuning: the honest measure of how the rules do on new text):

* recall for each kind of detail: the share of details that a finding of that kind covers
  whole (names after a title are counted apart from names without one);
* precision: the share of findings that overlap a detail of their kind;
* the false-positive rate on hard negatives: the share of sentences with no personal detail
  in which anything at all is flagged.

tests/feedback/test_pii_cases.py asserts recall >= 95% for every kind and a false-positive rate
<= 10% over all the sentences but the unseen ones, which are measured here and never tuned
on: once a session tunes the rules against them, they are no longer unseen, and a new set
must be written blind. Nothing here needs Django or a database. Run it with:

    .venv/bin/python benchmarks/pii_detector.py [--misses]

--misses lists every missed detail and every wrong finding as well.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from feedback import pii  # noqa: E402
from tests.feedback.pii_cases.scoring import (  # noqa: E402
    CATEGORIES,
    PARTS,
    Score,
    describe_miss,
    describe_wrong,
    load,
    score,
)

# Written blind and never tuned on; reported apart (its misses are not listed).
UNSEEN = "unseen"
MIN_RECALL = 0.95
MAX_FALSE_POSITIVE_RATE = 0.10


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}% ({part}/{whole})" if whole else "    -"


def report(title: str, result: Score, sentences: int) -> None:
    print(f"\n{title}: {sentences} sentences, {result.negatives} hard negatives")
    for category in CATEGORIES:
        print(f"  recall {category:<14} {percent(result.found[category], result.total[category])}")
    print(f"  precision             {percent(result.right_findings, result.findings)}")
    print(
        f"  false positives on hard negatives {percent(result.flagged_negatives, result.negatives)}"
    )


def main() -> int:
    started = time.perf_counter()
    pii.find_personal_details("Warm-up: the name lists load once per process.")
    print(f"Name lists loaded in {1000 * (time.perf_counter() - started):.0f} ms")
    every = []
    for part in PARTS:
        cases = load(part)
        every += cases
        report(f"{part} sentences", score(cases), len(cases))
    overall = score(every)
    report("all sentences", overall, len(every))
    low = [category for category in CATEGORIES if (overall.recall(category) or 0) < MIN_RECALL]
    met = not low and overall.false_positive_rate <= MAX_FALSE_POSITIVE_RATE
    print(
        f"\nTargets (all sentences): recall >= {MIN_RECALL:.0%} for every kind, false positives "
        f"on hard negatives <= {MAX_FALSE_POSITIVE_RATE:.0%}: "
        + ("met." if met else f"MISSED ({', '.join(low) or 'false positives'}).")
    )
    unseen = load(UNSEEN)
    report(
        f"{UNSEEN} sentences (never used for tuning; not part of the targets above)",
        score(unseen),
        len(unseen),
    )
    if "--misses" in sys.argv:
        print("\nMissed:")
        for miss in overall.misses:
            print(f"  {describe_miss(*miss)}")
        print("\nFlagged wrongly:")
        for case, finding in overall.wrong:
            print(f"  {describe_wrong(case, finding)}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
