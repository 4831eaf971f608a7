"""Check a response to a patient story before it is published, and give the responder advice.

Organisations reply in public to patient stories. A reply that only says "please contact PALS"
tells the author (and everyone reading) that nobody engaged with what they wrote, so before a
reply is published we look at it and give the responder specific, kind advice. This module only
*advises*: the responder can fix the reply or confirm it as it is. It is deliberately pure
Python (stdlib ``re``, ``html`` and ``difflib`` only) so it can run anywhere, with or without
Django, and it never touches the database.

Rules, the deduction each makes from a score that starts at 100 (clamped to 0..100), in the
order the advice is listed (most important first):

=================  ======  ==================================================================
code               weight  flagged when
=================  ======  ==================================================================
only_redirects         35  the reply points to PALS, the complaints team, "contact us", a
                           phone number or an email address, and once greetings, thanks,
                           apologies, stock phrases, the sign-off, the responder's name and
                           the redirecting clauses are taken away, fewer than
                           ``MIN_SUBSTANCE`` (10) points of substance remain. Each meaningful
                           word is a point; a word that echoes the story counts twice.
copy_paste             30  near-identical to a recent response: ``difflib`` ratio >= 0.85 on
                           the normalised words, or Jaccard similarity of their 3-shingles
                           >= 0.7.
ignores_story          20  no meaningful word shared with the story's title or body (after
                           light stemming) and no service named.
no_apology             15  the story raises concerns and the reply does not say sorry.
no_thanks              10  the story is mostly praise and the reply does not thank the author.
no_named_person        10  the reply is not signed by, and does not name, a person.
too_short              10  fewer than 15 words.
=================  ======  ==================================================================

``Assessment.is_generic`` is true when the advice includes ``only_redirects`` or
``copy_paste``: those are the replies a responder must fix, or confirm, before publishing.
Callers should leave the response being edited out of ``recent_responses``.
"""

from __future__ import annotations

import bisect
import functools
import html
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from difflib import SequenceMatcher

__all__ = [
    "CODES",
    "GENERIC_CODES",
    "LABELS",
    "MIN_SUBSTANCE",
    "MIN_WORDS",
    "WEIGHTS",
    "Advice",
    "Assessment",
    "StoryFacts",
    "assess_response",
]

# Deductions from 100, keyed by advice code, in the order advice is listed (most important first).
WEIGHTS: dict[str, int] = {
    "only_redirects": 35,
    "copy_paste": 30,
    "ignores_story": 20,
    "no_apology": 15,
    "no_thanks": 10,
    "no_named_person": 10,
    "too_short": 10,
}
CODES: tuple[str, ...] = tuple(WEIGHTS)

GENERIC_CODES = frozenset({"only_redirects", "copy_paste"})

# Each code in plain English, for reports that count how often advice was given.
LABELS: dict[str, str] = {
    "only_redirects": "Only points the author elsewhere (PALS, complaints, contact us)",
    "copy_paste": "Almost the same as a recent reply",
    "ignores_story": "Does not mention anything the author told us",
    "no_apology": "No apology for the concerns raised",
    "no_thanks": "Does not thank the author for their praise",
    "no_named_person": "Not signed by a named person",
    "too_short": "Too short",
}

MIN_WORDS = 15  # fewer words than this is too short
MIN_SUBSTANCE = 10  # below this, a reply that redirects is only a redirect
# The most the check reads: all of any response (the form, `check_draft` and imports refuse
# longer ones) and all of any story (three answers of 12,000 characters and their headings).
# TRICKY: a bound on the work, not on what real texts get: however long a text a caller
# hands over, the check costs what a full-length response to a full-length story costs
# (benchmarks/analysers.py), so no text can make it stall the page it runs in.
MAX_REPLY_CHARACTERS = 10_000
MAX_STORY_CHARACTERS = 40_000
SEQUENCE_RATIO = 0.85  # difflib ratio at or above which two replies are near-identical
SHINGLE_JACCARD = 0.7  # Jaccard similarity of word 3-shingles at or above which likewise
_SIGNATURE_MAX_WORDS = 10  # a closing segment longer than this is not a signature


@dataclass(frozen=True)
class Advice:
    """One piece of advice: a stable ``code`` (one of ``CODES``) and a message for the responder."""

    code: str
    message: str


@dataclass(frozen=True)
class Assessment:
    """The result of a check: a score out of 100 (higher is better) and advice, most important
    first (empty when there is nothing to improve)."""

    score: int
    advice: tuple[Advice, ...]

    @property
    def is_generic(self) -> bool:
        """True when the reply only redirects or repeats a recent reply: the responder must fix
        it or confirm it before publishing."""
        return any(item.code in GENERIC_CODES for item in self.advice)

    def to_json(self) -> dict:
        """A JSON-ready dict to store with the response."""
        return {
            "score": self.score,
            "advice": [{"code": item.code, "message": item.message} for item in self.advice],
        }


@dataclass(frozen=True)
class StoryFacts:
    """What the check needs to know about the story being answered."""

    title: str
    body: str  # Markdown, with headings like "### What was good"
    service_names: list[str]  # e.g. ["Ward 7 (Cardiology)", "Cardiology"]
    is_positive: bool  # the story is mostly praise
    is_critical: bool  # the story raises concerns


# --- Vocabulary ------------------------------------------------------------------------------


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_STOP_WORDS = _word_set(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can cannot could couldn did didn do does doesn doing don
    down during each even ever every few for from further had hadn has hasn have haven having
    he her here hers herself him himself his how i if in into is isn it its itself just let me
    might more most must mustn my myself no nor not now of off on once only or other ought our
    ours ourselves out over own same shall shan she should shouldn so some such than that the
    their theirs them themselves then there these they this those though through to too under
    until up upon us very was wasn we were weren what when where whether which while who whom
    whose why will with won would wouldn yet you your yours yourself yourselves ll ve re aren
    isn weren wasn ain get got getting gets go going gone went come came coming one two really
    quite still already just much many lot lots bit thing things way ways everyone anyone
    someone somebody everybody anything something everything today yesterday via etc
    """
)

# Words that say nothing about this particular story: courtesy, stock phrases, redirects and
# the vocabulary every reply shares. They neither count as substance nor as echoing the story.
_FILLER_WORDS = _word_set(
    """
    dear sir madam mr mrs ms miss mx dr hi hello morning afternoon evening thank thanks
    thankyou grateful gratitude appreciate appreciated appreciation delighted pleased glad
    happy kind kindly words comment comments compliment compliments sorry apologise apologize
    apologised apologized apologies apology regret regrets unfortunately disappointed
    disappointing upset upsetting distress distressing frustrating frustration concern concerns
    concerned issue issues matter matters raise raised raising feedback story stories
    experience experiences share shared sharing post posted posting write wrote writing written
    leave leaving take taking taken time times letting know hear heard hearing read reading
    care cared caring service services patient patients staff hospital hospitals trust nhs team
    teams colleague colleagues department departments unit units ward wards member members
    manager managers value valued important importance seriously serious welcome opportunity
    chance discuss discussed discussion detail details look looking looked investigate
    investigated investigation review reviewed reviewing contact contacted touch call ring
    phone telephone email number reference quote quoting address pals advice liaison complaint
    complaints office helpline please like wish hope hoping well best regards wishes sincerely
    faithfully truly warm warmest ensure ensuring committed commitment provide providing
    provided deliver delivering highest high quality standard standards strive striving aim
    aiming always positive negative expect expected expectation expectations possible able help
    assist assistance pass passed passing forward forwarded relevant appropriate aware made
    make sure learn learning learned learnt lesson lessons improve improving improved
    improvement improvements better good great feel felt talk talking speak speaking meet
    meeting further also again lovely wonderful nice pride proud compassionate compassion safe
    safety effective senior inform informed future practice practices occasion occasions fell
    fall falls short shortfall dignity respect respectful excellent excellence professional
    professionalism dedicated dedication hard work working hardworking continue continuing
    effort efforts utmost priority priorities apologise sincere sincerely genuinely truly
    deeply receive received receiving reflect reflected reflection outcome outcomes action
    actions necessary accordingly regarding behalf whole organisation organization
    """
)

# Words of a service name that do not identify it on their own ("ward" does, with its number).
_SERVICE_GENERIC = _word_set(
    """
    ward wards unit units department dept service services clinic clinics team teams centre
    center suite general hospital hospitals the and of for at in day bay nhs trust
    """
)

# Capitalised words that start an organisation's signature or an ordinary sentence, not a name.
_NOT_A_NAME = _word_set(
    """
    team patient patients experience service services department trust nhs ward unit pals
    hospital foundation office care liaison advice complaints complaint the emergency our
    customer clinical nursing staff management board all everyone everybody us we i you it this
    that these those sorry thank thanks please hope hoping again apologies regards best kind
    kindest warm warmest many with yours sincerely faithfully take well good hello dear hi
    cheers if and but so yes no very really glad pleased delighted happy wishing wishes get
    """
)

_APOLOGY = re.compile(
    r"\b(?:sorry|apologi[sz](?:e|ed|es|ing)|apolog(?:y|ies)|regret(?:s|ted|table)?)\b",
    re.IGNORECASE,
)
_THANKS = re.compile(
    r"\b(?:thank(?:s|ing|ful)?|thank-you|thankyou|grateful|appreciat(?:e|ed|es|ion)"
    r"|(?:delighted|pleased|glad|lovely|happy|heartening|wonderful) to (?:hear|read))\b",
    re.IGNORECASE,
)

# Words one of which every match of _APOLOGY (of _THANKS) contains, in ``_folded`` text.
_APOLOGY_WORDS = ("sorry", "apolog", "regret")
_THANKS_WORDS = ("thank", "grateful", "appreciat", "to hear", "to read")

# Ways of asking someone to make contact: "please call", "email us", "ring the ward".
_ASK = r"(?:call|ring|phone|telephone|e-?mail|write to|speak to|talk to|contact|message)"
_REACH = ("call", "ring", "phone", "telephone", "email", "e-mail", "contact", "message")
_EMAIL_DOMAIN = r"@[\w-]+(?:\.[\w-]+)+\b"


def _openings(openings: tuple[str, ...], rest: str) -> tuple[re.Pattern[str], ...]:
    """A pattern for each of ``openings`` not right after a word character, then ``rest``:
    ``_openings(("pals",), r"\b")`` finds what r"\bpals\b" finds. Each starts with its fixed
    text, which ``re`` looks for as quickly as ``str.find`` does."""
    return tuple(
        re.compile(re.escape(opening) + r"(?<!\w" + re.escape(opening) + ")" + rest)
        for opening in openings
    )


# What points the author elsewhere: for each target, patterns any of which finds it. They are
# searched for in ``_folded`` text, where any letter that ``re.IGNORECASE`` takes for an ASCII
# letter is that letter in lower case, so they are written in lower case and mind case.
# TRICKY: written as r"\bpals\b" and searched for ignoring case, as they were, ``re`` tries a
# pattern at every position of the text, and twenty-odd of them read a 100 KB text for longer
# than the whole check may take. Starting with fixed text (``_openings``), each is found as
# quickly as a word is, and a start that fails is tried no further than its next few letters.
_REDIRECTS: tuple[tuple[tuple[re.Pattern[str], ...], str], ...] = (
    (_openings(("pals",), r"\b"), "pals"),
    (_openings(("patient advice ",), r"(?:and|&) liaison\b"), "pals"),
    (
        _openings(
            ("complaint",),
            r"s?\s+(?:team|department|dept|office|service|manager|procedure|process|line"
            r"|policy)\b",
        ),
        "complaints",
    ),
    (
        _openings(
            ("make", "raise", "log", "lodge", "submit", "register"),
            r"\s+a\s+(?:formal\s+)?complaint\b",
        ),
        "complaints",
    ),
    (_openings(("formal complaint",), r"\b"), "complaints"),
    (
        _openings(("patient experience ",), r"(?:team|office|department|service)\b"),
        "contact",
    ),
    (_openings(("contact",), r"\b"), "contact"),
    (_openings(("get in touch",), r"\b"), "contact"),
    (_openings(("reach out",), r"\b"), "contact"),
    (
        _openings(
            (
                "please",
                "do",
                "feel free to",
                "you can",
                "you could",
                "you may",
                "you might like to",
                "you are welcome to",
                "you are invited to",
                "you're welcome to",
                "you're invited to",
            ),
            r"\s+" + _ASK + r"\b",
        ),
        "contact",
    ),
    (_openings(_REACH, r"\s+(?:us|me|him|her|them|on|at|our)\b"), "contact"),
    (
        _openings(
            _REACH,
            r"\s+(?:the\s+)?(?:ward|team|department|office|unit|service|helpline|switchboard"
            r"|number|clinic|secretary)\b",
        ),
        "contact",
    ),
    (
        _openings(("speak", "talk"), r"\s+(?:to|with)\s+(?:us|me|someone|somebody|a member)\b"),
        "contact",
    ),
    (_openings(("talk ",), r"(?:this|it|things) (?:through|over)\b"), "contact"),
    # "discuss" and, later on the same line, how. TRICKY: from each "discuss" the line is read
    # only up to the next "discuss" (which is tried in its turn); read to the end of the line
    # from each of them, a line of repeated "discuss" took time quadratic in its length. How
    # after any "discuss" on a line is how after the last "discuss" before it.
    (
        _openings(
            ("discuss",),
            r"\b(?:(?!\bdiscuss\b)[^\n])*?"
            r"\b(?:further|in (?:more|further) detail|in person|with you)\b",
        ),
        "contact",
    ),
    (_openings(("opportunity to ",), r"(?:discuss|talk|speak|meet)\b"), "contact"),
    (_openings(("details ",), r"(?:below|above)\b"), "contact"),
    (_openings(("free to ",), r"(?:call|ring|contact|email|get in touch)\b"), "contact"),
    # A phone number: "+44", "(0" or "0", then its digits.
    (
        _openings(("+44",), r"\s?\(?0?\)?\d(?:[\s\-()]?\d){8,10}(?!\w)")
        + _openings(("(0", "0"), r"\d(?:[\s\-()]?\d){8,10}(?!\w)"),
        "phone",
    ),
    # Something like an email address: a word character, perhaps some of ".+-", "@" and a
    # dotted domain; looked for from the "@" or from the first of the ".+-" after the word
    # character. TRICKY: only searched for, never located. Tried from every position of a run
    # like "a.a.a.a..." as far as the run goes, it took time quadratic in the run's length.
    (
        (
            re.compile(r"@(?<=\w@)" + _EMAIL_DOMAIN[1:]),
            re.compile(r"[.+-](?<=\w[.+-])[.+-]*+" + _EMAIL_DOMAIN),
        ),
        "email",
    ),
    (_openings(("http://", "https://", "www."), r"\S+"), "contact"),
)


# For each of ``_REDIRECTS``, in order: words (lower case) one of which every text it matches
# contains, as ``_folded`` writes it. TRICKY: the patterns are searched for only in texts that
# have one of their words. Searching for all twenty-odd of them read a 100 KB text that many
# times (and again per sentence and per clause), where looking for a word is a quick pass;
# a text with none of a pattern's words cannot match it, so the answers are the same.
_REDIRECT_WORDS: tuple[tuple[str, ...], ...] = (
    ("pals",),
    ("liaison",),
    ("complaint",),
    ("complaint",),
    ("complaint",),
    ("experience",),
    ("contact",),
    ("touch",),
    ("reach",),
    ("call", "ring", "phone", "mail", "write", "speak", "talk", "contact", "message"),
    ("call", "ring", "phone", "mail", "contact", "message"),
    ("call", "ring", "phone", "mail", "contact", "message"),
    ("speak", "talk"),
    ("talk",),
    ("discuss",),
    ("opportunity",),
    ("details",),
    ("free to",),
    ("0", "+44"),  # a phone number starts with "+44" or has a "0" after its first digit
    ("@",),
    ("http", "www"),
)
# Each rule's patterns, also as one pattern: searching for that one is quicker in a short text
# (a sentence or clause), searching for each of them in a long one.
_GATED_REDIRECTS = tuple(
    (patterns, re.compile("|".join(f"(?:{p.pattern})" for p in patterns)), target, words)
    for (patterns, target), words in zip(_REDIRECTS, _REDIRECT_WORDS, strict=True)
)
_SHORT_TEXT = 2_000  # characters
_ALL_REDIRECT_WORDS = frozenset(word for words in _REDIRECT_WORDS for word in words)
# Any of those words: most sentences have none, and are done with in one quick search.
_REDIRECT_WORD = re.compile("|".join(re.escape(word) for word in sorted(_ALL_REDIRECT_WORDS)))


@functools.lru_cache(maxsize=16)
def _folded(text: str) -> str:
    """``text`` in lower case such that a letter the patterns match (case-insensitively) is
    that ASCII letter: "ſ" for "s", dotless "ı" and dotted "İ" for "i", the Kelvin sign for "k"
    (which ``lower`` already gives)."""
    return text.replace("İ", "i").lower().replace("ſ", "s").replace("ı", "i")


def _has_any(text: str, words: tuple[str, ...]) -> bool:
    """Whether ``_folded(text)`` has any of ``words`` (a quick test before a slow pattern)."""
    folded = _folded(text)
    return any(word in folded for word in words)


def _says(text: str, pattern: re.Pattern[str], words: tuple[str, ...]) -> bool:
    """``pattern.search(text)``, skipped when ``text`` has none of the words every match has."""
    return _has_any(text, words) and pattern.search(text) is not None


def _redirect_target_set(text: str, *, first_only: bool = False) -> set[str]:
    """The targets of ``_REDIRECTS`` that ``text`` matches (only the first found if asked)."""
    folded = _folded(text)
    found: set[str] = set()
    if _REDIRECT_WORD.search(folded) is None:
        return found
    present = {word for word in _ALL_REDIRECT_WORDS if word in folded}
    short = len(folded) <= _SHORT_TEXT
    for patterns, combined, target, words in _GATED_REDIRECTS:
        if target in found or present.isdisjoint(words):
            continue
        if combined.search(folded) if short else any(p.search(folded) for p in patterns):
            found.add(target)
            if first_only:
                break
    return found


_SIGN_OFF = re.compile(
    r"^\s*(?:(?:with\s+)?(?:kind(?:est)?|best|warm(?:est)?|many)\s+(?:regards|wishes|thanks)"
    r"|regards|best|cheers|thanks|thank you|yours(?:\s+(?:sincerely|faithfully|truly))?|sincerely"
    r"|with (?:best wishes|thanks|gratitude)|take care|all the best|thanks again)\b[\s,.\-–—:]*",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^\s*(?:dear|hi|hello|good (?:morning|afternoon|evening))\b[^,\n]{0,40}(?:,|$)",
    re.IGNORECASE,
)
_NAME = r"[A-Z][a-z]+(?:['\-][A-Z]?[a-z]+)*"
_TITLE = r"(?:Dr|Sister|Matron|Nurse|Mr|Mrs|Ms|Miss|Mx|Prof|Professor|Dame|Sir)\.?"
# "Jane Smith, Ward Manager", "Jane, Ward Manager", "Dr Patel", "Jane Smith (Matron)"
_NAME_LINE = re.compile(
    rf"^\s*(?:-\s*|–\s*|—\s*)?(?:{_TITLE}\s+{_NAME}(?:\s+{_NAME})?|{_NAME}(?:\s+{_NAME}){{0,2}})"
    r"\s*(?:[,(\-–—|/].*)?$"
)
# "Best wishes, Jane", "Kind regards - Jane Smith" anywhere in the closing lines.
_SIGN_OFF_NAME = re.compile(
    r"(?i:\b(?:regards|wishes|sincerely|faithfully|truly|thanks|cheers|best))[\s,.:\-–—]+"
    rf"(?:{_TITLE}\s+)?({_NAME})"
)
# The same anywhere in the reply, for sign-offs that cannot be anything else.
_FORMAL_SIGN_OFF_NAME = re.compile(
    r"(?i:\b(?:regards|wishes|sincerely|faithfully))[\s,.:\-–—]+" rf"(?:{_TITLE}\s+)?({_NAME})"
)
_FORMAL_SIGN_OFF_WORDS = ("regards", "wishes", "sincerely", "faithfully")  # in _folded text
# "My name is Jane", "I'm Jane, the ward manager".
_INTRODUCTION = re.compile(rf"\b(?:[Mm]y name is|I am|I'm)\s+({_NAME})\b")
_INTRODUCTION_WORDS = ("y name is", "I am", "I'm")  # as written: the pattern minds case
_ROLE_LINE = re.compile(
    r"^\s*(?:[A-Z][\w&'\-]*|of|and|for|the|&)(?:\s+(?:[A-Z][\w&'\-]*|of|and|for|the|&)){0,7}\s*$"
)

_TOKEN = re.compile(r"[a-z0-9]+(?:['&][a-z0-9]+)*")
_CONTRACTION_ENDINGS = ("'s", "'re", "'ll", "'ve", "'d", "'m", "n't", "'t")


# --- Text helpers ----------------------------------------------------------------------------


# TRICKY: the markup patterns below are written so that a start that cannot become a match
# (a "<" with no ">" on its line, a "[" with no "](...)" after it, a <script> never closed)
# is consumed in one attempt and left as it is, rather than tried again from every later
# "<" or "[" in the same stretch, which took time quadratic in the number of them. Every
# such later start would fail in the same way, so the result is the same text.
_SCRIPT_OPENING = re.compile(r"<(script|style)\b", re.IGNORECASE)
_SCRIPT_CLOSING = re.compile(r"</(script|style)\s*>", re.IGNORECASE)
# A "<" up to the next ">" on its line: ``closed`` is missing when there is none.
_TAG = re.compile(r"<[^>\n]*+(?P<closed>>)?")
# [text](url) and ![alt](src); ``closed`` is missing when the link is not complete.
_LINK = re.compile(r"!?\[(?P<text>[^\]]*+)(?:\]\([^)]*+(?P<closed>\))?)?")


def _without_scripts(text: str) -> str:
    """``text`` with each <script>...</script> and <style>...</style> element made a space."""
    closings: dict[str, list[int]] = {"script": [], "style": []}
    ends: dict[int, int] = {}
    for closing in _SCRIPT_CLOSING.finditer(text):
        closings[closing.group(1).lower()].append(closing.start())
        ends[closing.start()] = closing.end()
    parts: list[str] = []
    position = 0
    for opening in _SCRIPT_OPENING.finditer(text):
        if opening.start() < position:
            continue  # inside the element just removed
        starts = closings[opening.group(1).lower()]
        index = bisect.bisect_left(starts, opening.end())
        if index == len(starts):
            continue  # never closed; nor is any later one of the same name
        parts += [text[position : opening.start()], " "]
        position = ends[starts[index]]
    parts.append(text[position:])
    return "".join(parts)


@functools.lru_cache(maxsize=16)
def _plain(text: str) -> str:
    """Text without HTML or Markdown markup, with line breaks kept."""
    text = text or ""
    text = _without_scripts(text)
    text = re.sub(r"(?i)<br\s*/?>|</(?:p|div|li|h[1-6]|tr|blockquote)\s*>", "\n", text)
    # An unclosed tag or link is left as it is: with no ">" (no "](" and ")" after it) in the
    # text, nothing would change, and a long text of "<" or "[a]" is not read again.
    if ">" in text:
        text = _TAG.sub(lambda tag: " " if tag.group("closed") else tag.group(), text)
    text = html.unescape(text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u00a0", " ")
    opening = text.find("](")
    if opening != -1 and text.find(")", opening) != -1:
        text = _LINK.sub(
            lambda link: link.group("text") if link.group("closed") else link.group(), text
        )
    text = re.sub(r"(?m)^\s{0,3}(?:#{1,6}\s*|>\s?|[-*+]\s+|\d+[.)]\s+)", "", text)
    text = re.sub(r"[*_`~]+", "", text)
    return text


def _segments(plain: str) -> list[str]:
    """Sentences and lines, in order, without blanks."""
    parts = re.split(r"\n+|(?<=[.!?])\s+", plain)
    return [part.strip() for part in parts if part and part.strip()]


_WORD = re.compile(r"[\w']+(?:[&\-][\w']+)*")


def _word_count(text: str, up_to: int) -> int:
    """How many words ``text`` has, counting no further than ``up_to``: the checks only ask
    whether a text is shorter than a few words, and a long text has thousands."""
    return sum(1 for _ in itertools.islice(_WORD.finditer(text), up_to))


# ``_plain`` and ``_tokens`` remember their last answers while one check runs: it reads the
# same texts several times over, and on a long text those passes were most of its time.
# ``assess_response`` forgets them when it returns (they hold the reply's words); ``_stem``
# keeps the stems of single words.
@functools.lru_cache(maxsize=16)
def _tokens(text: str) -> tuple[str, ...]:
    """Lower-case word tokens with contractions trimmed ("we're" -> "we", "didn't" -> "didn")."""
    tokens = []
    for token in _TOKEN.findall(text.lower()):
        if "'" in token:  # every contraction ending has one
            for ending in _CONTRACTION_ENDINGS:
                if token.endswith(ending) and len(token) > len(ending):
                    token = token[: -len(ending)]
                    break
        tokens.append(token)
    return tuple(tokens)


@functools.lru_cache(maxsize=8192)
def _stem(word: str) -> str:
    """A light stem, enough to match "waited", "waiting" and "waits" to "wait"."""
    w = word.lower()
    if w.endswith("wives"):  # midwives -> midwife
        w = w[:-5] + "wife"
    elif len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 4 and w.endswith("ed"):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]
    return w


_STOP_STEMS = frozenset(_stem(word) for word in _STOP_WORDS)
_FILLER_STEMS = frozenset(_stem(word) for word in _FILLER_WORDS)


_LETTER = re.compile(r"[a-z]")


# Remembered like ``_stem``: a long reply repeats its words, and this is asked of every one.
@functools.lru_cache(maxsize=8192)
def _is_meaningful(token: str) -> bool:
    if token in _STOP_WORDS or token in _FILLER_WORDS or not _LETTER.search(token):
        return False
    if len(token) < 2:
        return False
    stem = _stem(token)
    return stem not in _STOP_STEMS and stem not in _FILLER_STEMS


def _meaningful_stems(text: str, *, exclude: Iterable[str] = ()) -> list[str]:
    excluded = set(exclude)
    return [
        _stem(token) for token in _tokens(text) if token not in excluded and _is_meaningful(token)
    ]


def _name_tokens(responder_name: str) -> set[str]:
    return {token for token in _tokens(responder_name) if len(token) > 1}


# --- Parts of a reply ------------------------------------------------------------------------


def _split_signature(segments: list[str], responder_name: str) -> tuple[list[str], list[str]]:
    """(body segments, closing signature segments): sign-offs, names and roles at the end."""
    names = _name_tokens(responder_name)
    end = len(segments)
    while end > 0:
        segment = segments[end - 1]
        if _word_count(segment, _SIGNATURE_MAX_WORDS + 1) > _SIGNATURE_MAX_WORDS:
            break
        tokens = set(_tokens(segment))
        if not (
            _SIGN_OFF.match(segment)
            or (names and tokens & names)
            or _is_name_line(segment)
            or _ROLE_LINE.match(segment)
        ):
            break
        end -= 1
    return segments[:end], segments[end:]


def _strip_greeting(segments: list[str]) -> list[str]:
    if not segments:
        return segments
    first = _GREETING.sub("", segments[0], count=1).strip()
    return ([first] if first else []) + segments[1:]


def _clauses(segment: str) -> list[str]:
    parts = re.split(r"[,;:()\u2013\u2014]|\s-\s|\b(?:and|but|so|or)\b", segment)
    return [part.strip() for part in parts if part and part.strip()]


def _redirects(text: str) -> bool:
    """Whether ``text`` points the author elsewhere (any of ``_REDIRECTS``)."""
    return bool(_redirect_target_set(text, first_only=True))


def _is_name_line(segment: str) -> bool:
    """ "Jane Smith, Ward Manager", "Dr Patel", "Jane": a person's name opening a short line."""
    if not _NAME_LINE.match(segment):
        return False
    words = re.sub(r"[^A-Za-z'\-]", " ", segment).split()
    return bool(words) and words[0].lower().rstrip(".") not in _NOT_A_NAME


def _signed_by_a_person(plain: str, signature: list[str], responder_name: str) -> bool:
    name = responder_name.strip()
    if name:
        lowered = plain.lower()
        for candidate in {name, name.split()[0]}:
            if len(candidate) > 1 and re.search(
                r"(?<!\w)" + re.escape(candidate.lower()) + r"(?!\w)", lowered
            ):
                return True
    for segment in signature:
        if _is_name_line(_SIGN_OFF.sub("", segment, count=1).strip()):
            return True
    closing = "\n".join(signature)
    return any(
        match.group(1).lower() not in _NOT_A_NAME
        for pattern, text in (
            (_SIGN_OFF_NAME, closing),
            (_FORMAL_SIGN_OFF_NAME, plain if _has_any(plain, _FORMAL_SIGN_OFF_WORDS) else ""),
            (_INTRODUCTION, plain if any(w in plain for w in _INTRODUCTION_WORDS) else ""),
        )
        for match in pattern.finditer(text)
    )


# --- The story -------------------------------------------------------------------------------


def _story_stems(story: StoryFacts) -> set[str]:
    body = re.sub(r"(?m)^\s{0,3}#{1,6}.*$", " ", story.body or "")  # template headings
    text = f"{story.title or ''}\n{_plain(body)}"
    stems = set(_meaningful_stems(text))
    for name in story.service_names or ():
        stems.update(
            _stem(token)
            for token in _tokens(name)
            if token not in _SERVICE_GENERIC and _is_meaningful(token)
        )
    return stems


def _normalised(text: str) -> str:
    return " ".join(_tokens(text))


def _service_mentioned(plain: str, service_names: Iterable[str]) -> bool:
    reply = f" {_normalised(plain)} "
    reply_stems = {_stem(token) for token in _tokens(plain)}
    for name in service_names:
        for part in [name, *re.split(r"[(),/\-\u2013\u2014]", name or "")]:
            phrase = _normalised(part)
            if not phrase:
                continue
            if f" {phrase} " in reply and phrase not in _SERVICE_GENERIC:
                return True
            tokens = phrase.split()
            for index, token in enumerate(tokens):
                if token in _SERVICE_GENERIC:
                    # "ward 7", "bay b": a generic word with its number or letter.
                    following = tokens[index + 1] if index + 1 < len(tokens) else ""
                    if (
                        following
                        and (following.isdigit() or len(following) == 1)
                        and f" {token} {following} " in reply
                    ):
                        return True
                    continue
                distinctive = (len(token) > 2 or "&" in token) and (
                    _is_meaningful(token) or "&" in token
                )
                if distinctive and _stem(token) in reply_stems:
                    return True
    return False


# --- Similarity ------------------------------------------------------------------------------


def _shingles(tokens: tuple[str, ...]) -> set[tuple[str, ...]]:
    if len(tokens) < 3:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)}


def _similarity(text: str, others: Iterable[str]) -> float:
    """The highest similarity of ``text`` to any of ``others``, 0..1 (0 when none compare)."""
    tokens = _tokens(_plain(text))
    if not tokens:
        return 0.0
    my_shingles = _shingles(tokens)
    best = 0.0
    for other in others:
        other_tokens = _tokens(_plain(other or ""))
        if not other_tokens:
            continue
        their_shingles = _shingles(other_tokens)
        jaccard = len(my_shingles & their_shingles) / len(my_shingles | their_shingles)
        if jaccard >= SHINGLE_JACCARD:
            best = max(best, jaccard)
            continue
        # Word by word: as telling as letter by letter for replies, and far quicker.
        matcher = SequenceMatcher(None, tokens, other_tokens, autojunk=False)
        if matcher.real_quick_ratio() < SEQUENCE_RATIO or matcher.quick_ratio() < SEQUENCE_RATIO:
            continue
        ratio = matcher.ratio()
        if ratio >= SEQUENCE_RATIO:
            best = max(best, ratio)
    return best


# --- Messages --------------------------------------------------------------------------------


def _only_redirects_message(targets: set[str]) -> str:
    if "pals" in targets:
        return (
            "Your reply only points the author to PALS. Say what you will do about what they "
            "told you, then offer PALS as well."
        )
    if "complaints" in targets:
        return (
            "Your reply only points the author to the complaints team. Say what you will do "
            "about what they told you, then explain how to make a complaint as well."
        )
    return (
        "Your reply only asks the author to get in touch. Say what you will do about what they "
        "told you, then offer to talk to them as well."
    )


def _ignores_story_message(story: StoryFacts) -> str:
    services = [name for name in story.service_names or () if name and name.strip()]
    where = f" on {services[0].strip()}" if services else ""
    return (
        "Your reply doesn't mention anything the author told us, so it could have been written "
        f"to anyone. Refer to what happened to them{where} in your own words, so they know you "
        "have read their story."
    )


def _no_named_person_message(responder_name: str) -> str:
    name = responder_name.strip() or "Priya Shah"
    return (
        "Your reply isn't signed by a person. Sign it with your name and role, for example "
        f'"Best wishes, {name}, Ward Manager", so the author knows a real person has listened.'
    )


def _too_short_message(count: int) -> str:
    if count == 0:
        return "Your reply is empty. Write a few sentences that respond to what the author told us."
    words = "word" if count == 1 else "words"
    return (
        f"Your reply is only {count} {words} long. A few sentences that respond to what the "
        "author told us will mean much more to them."
    )


# --- The check -------------------------------------------------------------------------------


def assess_response(
    text: str, story: StoryFacts, *, responder_name: str, recent_responses: list[str]
) -> Assessment:
    """Score a draft response to ``story`` and advise the responder, most important first."""
    story = replace(story, body=(story.body or "")[:MAX_STORY_CHARACTERS])
    try:
        return _assess(
            (text or "")[:MAX_REPLY_CHARACTERS],
            story,
            responder_name=responder_name,
            recent_responses=[recent[:MAX_REPLY_CHARACTERS] for recent in recent_responses],
        )
    finally:
        _plain.cache_clear()
        _tokens.cache_clear()
        _folded.cache_clear()


def _assess(
    text: str, story: StoryFacts, *, responder_name: str, recent_responses: list[str]
) -> Assessment:
    responder_name = responder_name or ""
    plain = _plain(text or "")
    segments = _segments(plain)
    body_segments, signature = _split_signature(segments, responder_name)
    body_segments = _strip_greeting(body_segments)
    body_text = "\n".join(body_segments)
    story_stems = _story_stems(story)
    names = _name_tokens(responder_name)
    found: dict[str, str] = {}

    # only_redirects: what is left once redirecting clauses and courtesies are taken away.
    targets = _redirect_target_set(plain)
    if targets:
        kept = [
            clause
            for segment in body_segments
            for clause in (
                [clause for clause in _clauses(segment) if not _redirects(clause)]
                if _redirects(segment)
                else [segment]
            )
        ]
        substance = _meaningful_stems("\n".join(kept), exclude=names)
        points = len(substance) + sum(1 for stem in substance if stem in story_stems)
        if points < MIN_SUBSTANCE:
            found["only_redirects"] = _only_redirects_message(targets)

    # copy_paste
    similarity = _similarity(plain, recent_responses or ())
    if similarity:
        found["copy_paste"] = (
            f"Your reply is almost the same as one sent recently ({round(similarity * 100)}% "
            "alike). People can read all your replies side by side, so write this one for this "
            "author and what they told us."
        )

    # ignores_story
    reply_stems = set(_meaningful_stems(body_text, exclude=names))
    if not reply_stems & story_stems and not _service_mentioned(
        body_text, story.service_names or ()
    ):
        found["ignores_story"] = _ignores_story_message(story)

    # no_apology / no_thanks
    if story.is_critical and not _says(plain, _APOLOGY, _APOLOGY_WORDS):
        found["no_apology"] = (
            "The author raised concerns, but your reply doesn't say sorry. A sincere apology "
            "for what went wrong is not an admission of liability, and it shows you have "
            "listened."
        )
    if story.is_positive and not _says(plain, _THANKS, _THANKS_WORDS):
        found["no_thanks"] = (
            "The author took the time to say something kind, but your reply doesn't thank "
            "them. Thank them, and say who you will pass their words on to."
        )

    # no_named_person
    if not _signed_by_a_person(plain, signature, responder_name):
        found["no_named_person"] = _no_named_person_message(responder_name)

    # too_short
    word_count = _word_count(plain, MIN_WORDS)
    if word_count < MIN_WORDS:
        found["too_short"] = _too_short_message(word_count)

    advice = tuple(Advice(code, found[code]) for code in CODES if code in found)
    score = max(0, min(100, 100 - sum(WEIGHTS[item.code] for item in advice)))
    return Assessment(score=score, advice=advice)
