"""How long each text analyser takes on 100 KB of text built to make it slow.

Target (DESIGN.md): "any text analyser (personal details, quality, themes) on 100 KB
adversarial input: under 50 ms". An anonymous author controls the text of a story, so an
analyser whose cost grows faster than the text (a pattern retried from every cue, a
quadratic comparison of findings) lets one crafted story stall whoever reads it.

The analysers, and what they are given:

* personal details: `feedback.pii.find_personal_details(text)`;
* quality: `feedback.quality.assess_response(text, story)`, where the story's body is the
  same text with a heading before it (a story's body is read as well as the reply; the
  heading keeps the two from being one text that the check would read only once), with a
  responder name and one recent reply of ordinary size to compare with. The check reads at
  most `MAX_REPLY_CHARACTERS` (10,000) of a reply and `MAX_STORY_CHARACTERS` (40,000) of a
  story, the most the product accepts, so a 100 KB text costs what a full-length response to
  a full-length story costs. A second table times the rules on the whole text, unbounded
  (`quality._assess`), so their own cost stays in view; it is shown, not judged;
* themes: `dashboards.reports.themes.phrases([...])` over two stories, each with half the
  text as its body (`phrases_of` for each, then the counting);
* alert matching: `alerts.matching.RuleScope.matches` for a rule whose word list uses all
  300 characters the form allows, against a story with the text as body;
* risk words: `feedback.risk_words.find_risk_words(text)`, the phrases that often mean
  someone is at risk, flagged for moderators.

For each analyser there is one input per pattern it uses, each built to be the worst case
for that pattern: a cue or opening repeated so that each could start a long scan ("dob."
over and over, "<" with no ">", "[" with no "]"), runs that a pattern would re-enter from
every position ("a.a.a.a" with no "@"), and many findings at once (thousands of email
addresses, which the overlap check used to compare pairwise). Each input is at least
100,000 characters. Each runs RUNS times after one warm-up; the table shows the median and
the slowest, and each analyser's line its slowest median against the target.

Nothing here needs the database; Django is set up only because the themes and alert
modules import models. Run it with:

    .venv/bin/python -m config.launcher exec .venv/bin/python benchmarks/analysers.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable

import _bootstrap  # noqa: F401 - first: the repository on sys.path, Django set up

from alerts.matching import RuleScope
from alerts.matching import StoryFacts as AlertFacts
from alerts.models import AlertRule
from config.warming import warm_and_freeze
from dashboards.reports.themes import phrases
from feedback import pii, quality, risk_words

# As each gunicorn and Celery worker does once it has loaded the application: the figures are
# then the ones served, not those of a process whose full collections walk the start-up heap.
warm_and_freeze()

SIZE = 100_000
RUNS = 5
TARGET_MS = 50.0


def repeated(piece: str, size: int = SIZE) -> str:
    """``piece`` repeated to at least ``size`` characters."""
    return piece * (size // len(piece) + 1)


def long_words(*pieces: str) -> str:
    """Separate "words" (spaced, so the 1,000-word limit per box is not the defence)."""
    return repeated(" ".join(pieces) + " ")


PII_INPUTS: dict[str, str] = {
    # Dates of birth: a cue, then a date to look for, over and over.
    "dob cues, one word": repeated("dob."),
    "dob cues, spaced": repeated("d.o.b "),
    "born cues": repeated("born "),
    "date of birth cues": repeated("date of birth "),
    "cues then impossible dates": repeated("dob 31/02/1956 "),
    "cues then real dates": repeated("born 12/03/1956. "),
    # Emails: a local part with no "@", or thousands of addresses (the overlap check).
    "email local part, no @": repeated("a."),
    "email, no domain": repeated("a@"),
    "email domain labels": "x@" + repeated("a-"),
    "many emails": repeated("x@y.co "),
    # Names, phones, NHS numbers, postcodes, dates.
    "titles": repeated("Dr "),
    "titles and initials": repeated("Dr A. "),
    "title then long word": "Dr A" + repeated("a") + "B",
    "many names": repeated("Dr Jo Bloggs "),
    # Names without a title, record numbers and addresses (the name lists and their cues).
    "names, no title": repeated("Jo Bloggs "),
    "names on the ward": repeated("Aaa on the ward "),
    "relation then name": repeated("my husband Peter "),
    "record cues then numbers": repeated("MRN 12345678 "),
    "record cues then short numbers": repeated("MRN 1 "),
    "addresses": repeated("12 Acacia Avenue, "),
    "house numbers, no street": repeated("12 Acacia "),
    "digits": repeated("0"),
    "spaced digits": repeated("0 "),
    "many phones": repeated("07700 900123 "),
    "many NHS numbers": repeated("943 476 5919 "),
    "many postcodes": repeated("SW1A 1AA "),
    "date pieces": repeated("12/03/"),
    "month names": repeated("12 March "),
    # Links: openings, and closers trimmed one by one.
    "www openings": repeated("www."),
    "http openings": repeated("http:// "),
    "link with closers": "https://example.org/" + repeated(")"),
    "link with trailing punctuation": "https://example.org/" + repeated(".)"),
    # Everything at once, and nothing at all.
    "every kind": repeated(
        "Nurse Jo Bloggs, 943 476 5919, 07700 900123, jo@example.org, SW1A 1AA, "
        "born 12/03/1956, www.example.org/a. "
    ),
    "spaces": repeated(" "),
    "new lines": repeated("\n"),
}

QUALITY_INPUTS: dict[str, str] = {
    # Markup that `_plain` strips.
    "< with no >": repeated("<"),
    "[ with no ]": repeated("["),
    "![ with no ]": repeated("!["),
    "[a]( with no )": repeated("[a]("),
    "[a] not a link": repeated("[a] "),
    "<script never closed": repeated("<script "),
    "<style> never closed": repeated("<style>"),
    "many complete tags": repeated("<b>x</b> "),
    "many complete links": repeated("[x](y) "),
    "markdown lines": repeated("# - > 1. *a* _b_\n"),
    # The redirect patterns.
    "email-like run, no @": repeated("a."),
    "email-like run of _.": repeated("_."),
    "discuss, one line": repeated("discuss "),
    "discuss then colon": repeated("discuss:"),
    "phone-like digits": repeated("07700 "),
    "redirect words": long_words("please", "contact", "pals", "complaints", "team"),
    # Each redirect pattern is searched for only in a text with one of its words: these have
    # every such word, inside longer ones, so every pattern reads the whole text and fails.
    "redirect words, none a redirect": long_words(
        "palsy",
        "liaisons",
        "complainted",
        "contacts",
        "touchy",
        "reaching",
        "calls",
        "ringer",
        "phoned",
        "mailer",
        "writer",
        "speaker",
        "talker",
        "messages",
        "discussion",
        "opportunityx",
        "detailsx",
        "free toy",
        "0x",
        "@x",
        "httpx",
        "wwwx",
    ),
    # Each redirect pattern's opening words, as words, each followed by what the pattern does
    # not expect there.
    "redirect openings, none a redirect": long_words(
        "please",
        "do",
        "you",
        "can",
        "make",
        "a",
        "speak",
        "to",
        "talk",
        "with",
        "call",
        "ring",
        "phone",
        "email",
        "message",
        "the",
        "discuss",
        "details",
        "free",
        "to",
        "opportunity",
        "formal",
        "patient",
        "advice",
        "experience",
        "complaints",
        "reach",
        "get",
        "in",
        "0",
        "+44",
        "x@",
        "a.@",
        "www",
        "http:",
    ),
    # A redirect, so every clause is read for one: thousands of different one-word clauses.
    "a redirect, then distinct clauses": "pals " + ",".join(f"w{n}" for n in range(20_000)),
    # Likewise for the apology and thanks patterns.
    "apology and thanks words, neither": long_words(
        "sorryx", "apologue", "regretful", "thanked", "gratefully", "appreciative", "to hearx"
    ),
    # Signatures, greetings, sentences.
    "sign-off words": repeated("regards, "),
    "greetings": repeated("Dear "),
    "name lines": repeated("Jane Smith, Ward Manager\n"),
    "sentences": repeated("We are sorry. "),
    "one long word": repeated("a"),
    "punctuation only": repeated("-,"),
}

THEMES_INPUTS: dict[str, str] = {
    "distinct words": " ".join(f"w{n}" for n in range(SIZE // 6)),
    "repeated words": long_words("long", "wait", "kind", "nurse"),
    "apostrophes": repeated("a'"),
    "breaks": repeated(".,;"),
    "dashes": repeated(" - "),
    "headings": repeated("# heading\n"),
    "one long word": repeated("a"),
}

# Rule words can use the form's whole 300 characters. Near misses of the text make the
# substring search compare as far as it can before failing.
ALERT_WORDS = {
    "one near-miss word": "a" * 299 + "b",
    "several near-miss words": ", ".join("a" * n + "b" for n in range(10, 60, 10)),
    "many short words": ", ".join(f"w{n}x" for n in range(60)),
}
ALERT_TEXT = repeated("a")

RISK_INPUTS: dict[str, str] = {
    # Openings of phrases: each word start follows the trie as far as it goes, then fails.
    "phrase openings": repeated("want to "),
    "subjects and verbs, no object": repeated("my husband hit "),
    "pronoun subjects": repeated("he "),
    "one long word": repeated("a"),
    "hyphens": repeated("self-"),
    "ordinary words": long_words("the", "nurse", "was", "kind", "and", "we", "waited"),
    # Thousands of findings, each with the words after it checked against its exceptions.
    "many phrases": repeated("he hits me. "),
    "many guarded phrases": repeated("wanted to die "),
    "many guarded phrases, excepted": repeated("wanted to die at home "),
    # An opening, then white space to the end.
    "white space after an opening": "kill" + repeated(" ") + "x",
}


def time_ms(run: Callable[[], object]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of each run (CPU time is steadier on a busy machine)."""
    run()  # warm-up (compiles patterns, fills caches)
    wall, cpu = [], []
    for _ in range(RUNS):
        started, started_cpu = time.perf_counter(), time.thread_time()
        run()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    return wall, cpu


def quality_rules_run(text: str) -> Callable[[], object]:
    """The rules on the whole text, past the bounds `assess_response` reads to."""
    assess = quality_run(text, analyse=quality._assess)

    def run() -> object:
        try:
            return assess()
        finally:
            quality._plain.cache_clear()
            quality._tokens.cache_clear()
            quality._folded.cache_clear()

    return run


def quality_run(
    text: str, analyse: Callable[..., object] = quality.assess_response
) -> Callable[[], object]:
    story = quality.StoryFacts(
        title="A long wait on the ward",
        body=f"### What happened\n{text}",
        service_names=["Ward 7 (Cardiology)"],
        is_positive=True,
        is_critical=True,
    )
    recent = [
        "Thank you for sharing your story. I am sorry about the wait on Ward 7; we have "
        "added a second nurse at night. Best wishes, Jane Smith, Ward Manager"
    ]
    return lambda: analyse(text, story, responder_name="Jane Smith", recent_responses=recent)


def alert_run(words: str) -> Callable[[], object]:
    rule = AlertRule(name="benchmark", words=words)
    scope = RuleScope(
        rule=rule, service_ids=frozenset(), tag_ids=frozenset(), words=tuple(rule.word_list())
    )
    story = AlertFacts(
        criticality=rule.min_criticality,
        service_ids=frozenset(),
        tag_ids=frozenset(),
        text=f"A title\n{ALERT_TEXT}".lower(),
    )
    return lambda: scope.matches(story)


def report(
    analyser: str,
    runs: dict[str, Callable[[], object]],
    sizes: dict[str, int],
    *,
    judged: bool = True,
) -> bool:
    print(f"\n{analyser}")
    print(
        f"  {'input':<34} {'chars':>8} {'median ms':>10} {'max ms':>8} {'median CPU ms':>14}"
        f" {'< 50 ms':>8}"
    )
    worst_median = worst_max = 0.0
    worst_input = ""
    for name, run in runs.items():
        wall, cpu = time_ms(run)
        median = statistics.median(wall)
        if median > worst_median:
            worst_median, worst_input = median, name
        worst_max = max(worst_max, max(wall))
        print(
            f"  {name:<34} {sizes[name]:>8,} {median:>10.1f} {max(wall):>8.1f} "
            f"{statistics.median(cpu):>14.1f} {'yes' if median < TARGET_MS else 'NO':>8}"
        )
    met = worst_median < TARGET_MS
    verdict = ("meets" if met else "MISSES") if judged else "shown for information"
    print(
        f"  slowest median: {worst_median:.1f} ms ({worst_input}), slowest run {worst_max:.1f} ms; "
        f"target under {TARGET_MS:.0f} ms: {verdict}"
    )
    return met


def main() -> int:
    print(f"Each input at least {SIZE:,} characters; {RUNS} runs after a warm-up.")
    print(f"Load average when starting: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    results = [
        report(
            "personal details (feedback.pii.find_personal_details)",
            {
                name: (lambda t=text: pii.find_personal_details(t))
                for name, text in PII_INPUTS.items()
            },
            {name: len(text) for name, text in PII_INPUTS.items()},
        ),
        report(
            "quality (feedback.quality.assess_response, text as reply and story body)",
            {name: quality_run(text) for name, text in QUALITY_INPUTS.items()},
            {name: len(text) for name, text in QUALITY_INPUTS.items()},
        ),
        report(
            "themes (dashboards.reports.themes.phrases, two stories of half the text)",
            {
                name: (
                    lambda t=text: phrases(
                        [(1, t[: len(t) // 2]), (2, t[len(t) // 2 :])], {1: "One", 2: "Two"}
                    )
                )
                for name, text in THEMES_INPUTS.items()
            },
            {name: len(text) for name, text in THEMES_INPUTS.items()},
        ),
        report(
            "alert matching (alerts.matching.RuleScope.matches)",
            {name: alert_run(words) for name, words in ALERT_WORDS.items()},
            {name: len(ALERT_TEXT) for name in ALERT_WORDS},
        ),
        report(
            "risk words (feedback.risk_words.find_risk_words)",
            {
                name: (lambda t=text: risk_words.find_risk_words(t))
                for name, text in RISK_INPUTS.items()
            },
            {name: len(text) for name, text in RISK_INPUTS.items()},
        ),
    ]
    report(
        "quality rules on the whole text, unbounded (feedback.quality._assess; not judged: "
        "assess_response reads no further than the bounds)",
        {name: quality_rules_run(text) for name, text in QUALITY_INPUTS.items()},
        {name: len(text) for name, text in QUALITY_INPUTS.items()},
        judged=False,
    )
    print("\nAll analysers meet the target." if all(results) else "\nSome analysers MISS it.")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
