"""The 2- and 3-word phrases of a story's text: what authors say in their own words, for
the recurring themes of reports (dashboards/reports/themes.py) and the emerging themes of
alerts (alerts/emerging.py)."""

from __future__ import annotations

import re

PHRASE_LENGTHS = (2, 3)


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# A phrase neither starts nor ends with one of these ("the wait", "wait for" are not
# phrases; "wait for hours" is).
STOP_WORDS = _word_set(
    """
    a about above after again all also am an and any are as at be because been before being
    below between both but by can could did didn do does doesn doing don down during each even
    ever every few for from further had has have having he her here hers him his how i if in
    into is isn it it's its just me might more most much my no nor not now of off on once only
    or other our ours out over own same she should so some such than that that's the their them
    then there these they this those though through to too under until up upon us very was
    wasn we were weren what when where which while who whom whose why will with won would you
    your yours i'm i've i'd i'll we're we've they're didn't wasn't don't couldn't wouldn't
    really quite still already lot lots bit got get go went going come came one two felt
    feel made make
    """
)

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# Phrases do not run across sentences, clauses or lines.
_BREAK = re.compile(r"[\n.!?;:,()\[\]\"“”…]+|\s[-–—]+\s")


def phrases_of(body: str) -> set[str]:
    """The 2- and 3-word phrases of a story's Markdown body, lower-cased, that neither start
    nor end with a stop word. The template's headings ("What was good") are left out."""
    lines = [line for line in body.splitlines() if not line.lstrip().startswith("#")]
    text = "\n".join(lines).lower().replace("\u2019", "'")
    found = set()
    for segment in _BREAK.split(text):
        words = _WORD.findall(segment)
        for length in PHRASE_LENGTHS:
            for start in range(len(words) - length + 1):
                gram = words[start : start + length]
                if gram[0] not in STOP_WORDS and gram[-1] not in STOP_WORDS:
                    found.add(" ".join(gram))
    return found
