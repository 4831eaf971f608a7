"""Every text analyser takes time in proportion to its text, whatever the text says.

An anonymous author controls a story's text. Each input here is built from one pattern's
worst case and is 200,000 characters long. Time that grows with the square of the length
turns that into minutes (the old date-of-birth search took about 8 s on 12,000 characters),
while linear analysers take a fraction of a second (benchmarks/analysers.py measures them).

These are not timing tests: each call only has to finish inside a ceiling (CEILING_SECONDS)
that is about a hundred times what it needs on a busy machine, and a small fraction of what
the quadratic code needed on the same input. The alarm interrupts the regular expression
engine too, which checks for signals as it runs.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from alerts.matching import RuleScope
from alerts.matching import StoryFacts as AlertFacts
from alerts.models import AlertRule
from dashboards.reports.themes import phrases
from feedback import pii, quality, risk_words

SIZE = 200_000
CEILING_SECONDS = 10


class TooSlow(Exception):
    pass


@contextmanager
def ceiling(seconds: float) -> Iterator[None]:
    def interrupt(signum: int, frame: object) -> None:
        raise TooSlow(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def repeated(piece: str) -> str:
    return piece * (SIZE // len(piece) + 1)


def finishes(analyse: Callable[[], object]) -> object:
    with ceiling(CEILING_SECONDS):
        return analyse()


PERSONAL_DETAILS = {
    # A date-of-birth cue after cue: each one used to search the rest of the text for a date.
    "dob cues": repeated("dob."),
    "born cues": repeated("born "),
    # A local part with no "@": the email pattern was retried from every "a" to the end.
    "email local part with no @": repeated("a."),
    # Thousands of findings: each was compared with every finding kept before it.
    "many emails": repeated("x@y.co "),
    # Closing brackets after a link: each was counted again over the whole link.
    "link with closers": "https://example.org/" + repeated(")"),
}


@pytest.mark.parametrize("text", PERSONAL_DETAILS.values(), ids=PERSONAL_DETAILS.keys())
def test_personal_details_are_found_in_linear_time(text: str) -> None:
    finishes(lambda: pii.find_personal_details(text))


def test_dates_of_birth_after_many_cues_are_still_all_found() -> None:
    text = repeated("dob 31/02/1956 born 12/03/1956. ")
    found = finishes(lambda: pii.find_personal_details(text))
    births = [f for f in found if f.kind == pii.Kind.DATE_OF_BIRTH]
    assert len(births) == text.count("12/03/1956") and all(f.text == "12/03/1956" for f in births)


def test_redacting_thousands_of_details_takes_linear_time() -> None:
    text = repeated("x@y.co ")
    found = finishes(lambda: pii.find_personal_details(text))
    redacted = finishes(lambda: pii.redact(text, found))
    assert "@" not in redacted and redacted.count("[email removed]") == len(found)


QUALITY = {
    "< with no >": repeated("<"),
    "[ with no ]": repeated("["),
    "![ with no ]": repeated("!["),
    "[a]( with no )": repeated("[a]("),
    "<script never closed": repeated("<script "),
    # Survives the markup stripping ("_" would not): an address-like run with no "@".
    "email-like run with no @": repeated("a."),
    "discuss on one line": repeated("discuss "),
}


@pytest.mark.parametrize("text", QUALITY.values(), ids=QUALITY.keys())
def test_the_quality_check_takes_linear_time(text: str) -> None:
    story = quality.StoryFacts(
        title="A long wait",
        body=text,
        service_names=["Ward 7"],
        is_positive=False,
        is_critical=True,
    )
    # TRICKY: `assess_response` reads no more than the longest response and story it can be
    # given (MAX_REPLY_CHARACTERS, MAX_STORY_CHARACTERS), which would hide a quadratic pass
    # here; the rules themselves (`_assess`) must stay linear on any length.
    try:
        assessment = finishes(
            lambda: quality._assess(text, story, responder_name="Jane Smith", recent_responses=[])
        )
    finally:
        quality._plain.cache_clear()
        quality._tokens.cache_clear()
        quality._folded.cache_clear()
    assert 0 <= assessment.score <= 100


def test_themes_take_linear_time() -> None:
    text = " ".join(f"w{n}" for n in range(SIZE // 6))
    found = finishes(lambda: phrases([(1, text), (2, text)], {1: "One", 2: "Two"}))
    assert found and found[0].stories == 2


MANY_PHRASES = repeated("wanted to die ")

# Each text, and how many phrases are in it.
RISK_WORDS = {
    # A phrase's opening words over and over: each word start follows the phrases as far as
    # they go, then fails.
    "phrase openings": (repeated("want to "), 0),
    "subject and verb, no object": (repeated("my husband hit "), 0),
    "one long word": (repeated("a"), 0),
    "hyphens": (repeated("self-"), 0),
    # Thousands of phrases, each with the words after it to check ("wanted to die at home").
    "many guarded phrases": (MANY_PHRASES, MANY_PHRASES.count("wanted to die")),
    # An opening, or a guarded phrase, then white space to the end.
    "white space after an opening": ("kill" + repeated(" ") + "x", 0),
    "white space inside a phrase": ("kill" + repeated(" ") + "myself", 1),
    "white space after a guarded phrase": ("wanted to die" + repeated(" ") + "at home", 0),
}


@pytest.mark.parametrize(("text", "expected"), RISK_WORDS.values(), ids=RISK_WORDS.keys())
def test_risk_words_are_found_in_linear_time(text: str, expected: int) -> None:
    assert len(finishes(lambda: risk_words.find_risk_words(text))) == expected


def test_alert_words_are_matched_in_linear_time() -> None:
    rule = AlertRule(name="near misses", words=", ".join("a" * n + "b" for n in (50, 150, 290)))
    scope = RuleScope(
        rule=rule, service_ids=frozenset(), tag_ids=frozenset(), words=tuple(rule.word_list())
    )
    story = AlertFacts(
        criticality=rule.min_criticality,
        service_ids=frozenset(),
        tag_ids=frozenset(),
        text=repeated("a"),
    )
    assert finishes(lambda: scope.matches(story)) is False


def test_a_long_reply_of_phone_like_digits_gets_the_same_advice_as_before() -> None:
    # 100 KB of phone-like digits used to cost every redirect pattern a pass over the whole
    # reply and each of its sentences and clauses; benchmarks/analysers.py times it. Here:
    # the prefilters that made it fast must not change what the responder is told.
    text = ("07700 " * (100_000 // 6 + 1))[:100_000]
    story = quality.StoryFacts(
        title="A long wait", body=text, service_names=[], is_positive=False, is_critical=True
    )
    assessment = quality.assess_response(
        text, story, responder_name="Jane Smith", recent_responses=[]
    )
    assert [item.code for item in assessment.advice] == [
        "only_redirects",
        "ignores_story",
        "no_apology",
        "no_named_person",
    ]


def test_redirects_written_with_look_alike_letters_are_still_found() -> None:
    # The redirect patterns ignore case, so "PALſ" (long s) and "complaınts" (dotless i) are
    # PALS and the complaints team: looking for their words first must not miss them.
    story = quality.StoryFacts(
        title="A long wait",
        body="I waited for hours.",
        service_names=[],
        is_positive=False,
        is_critical=False,
    )
    for reply, message_names in (
        ("Please contact PALſ. Best wishes, Jane Smith", "PALS"),
        ("Our complaınts team can help. Best wishes, Jane Smith", "complaints team"),
    ):
        advice = quality.assess_response(
            reply, story, responder_name="Jane Smith", recent_responses=[]
        ).advice
        assert advice[0].code == "only_redirects" and message_names in advice[0].message


def _ending_with(run: str, end: str) -> str:
    """As long a reply as the check reads, `run` repeated, with `end` as its last words."""
    length = quality.MAX_REPLY_CHARACTERS - len(end)
    return (run * (length // len(run) + 1))[:length] + end


@pytest.mark.parametrize(
    "text",
    [_ending_with("discuss ", "discuss further"), _ending_with(".", "a.@example.org")],
    ids=["discuss many times, then how", "a run of dots, then an address"],
)
def test_a_redirect_after_a_long_run_of_near_misses_is_still_found(text: str) -> None:
    story = quality.StoryFacts(
        title="A long wait", body="I waited.", service_names=[], is_positive=False, is_critical=True
    )
    assessment = finishes(
        lambda: quality.assess_response(
            text, story, responder_name="Jane Smith", recent_responses=[]
        )
    )
    assert assessment.advice[0].code == "only_redirects"
