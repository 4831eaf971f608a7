"""Phrases that often mean someone is at risk now, flagged so that a moderator reads first.

Some stories describe harm that is still happening: someone who wants to end their life, a
patient left unfed, a carer who hits. The moderation page shows where a story uses one of
the phrases below, and the queue puts such stories first with a "possible risk" badge.

This is an aid, not a classifier. It looks for a short, reviewed list of phrases and their
inflections ("kill myself", "killing myself", "killed herself"); it knows nothing else. A
story with none of them may still describe someone at risk, and a flagged phrase may be
harmless ("it hurts me to say it"). A moderator reads every story either way. Phrases that
are common in ordinary complaints were left out or narrowed with the words around them: a
bare "threatened" ("they threatened to discharge her") or "hurt myself" ("I hurt myself when
I fell") would flag half the queue and teach moderators to ignore the badge.

An anonymous author controls the text, so the matcher is one compiled regular expression
whose alternatives share their prefixes (a trie, like Aho-Corasick's): from each word start
it follows at most one branch for as many characters as the longest phrase, so its time
grows with the text's length and nothing else (tests/feedback/test_analysers_linear.py).

Findings are kept in ``Submission.findings["risk"]``, one list per text field, by
:func:`scan_risk` when the story arrives or is edited (with the personal details, in
``feedback.moderation.scan_submission``).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "PHRASES",
    "RISK_FIELDS",
    "InContext",
    "RiskFinding",
    "RiskKind",
    "find_risk_words",
    "has_possible_risk",
    "in_context",
    "risk_findings_for",
    "scan_risk",
    "stored_risk_findings",
]

# The submission's text fields (feedback.moderation.TEXT_FIELDS, which imports this module).
RISK_FIELDS = ("title", "what_was_good", "what_could_be_improved", "how_it_felt")

# The key under Submission.findings, beside the personal details of each field.
STORED_KEY = "risk"


class RiskKind(StrEnum):
    """What a phrase often means; its label is what a moderator reads."""

    SELF_HARM = "self-harm"
    VIOLENCE = "violence"
    ABUSE = "abuse"
    NEGLECT = "neglect"
    UNSAFE = "unsafe"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    RiskKind.SELF_HARM: "Suicide or self-harm",
    RiskKind.VIOLENCE: "Violence or threats",
    RiskKind.ABUSE: "Abuse",
    RiskKind.NEGLECT: "Neglect",
    RiskKind.UNSAFE: "Not safe now",
}

# Whom a phrase is about: pronouns and the people who most often hurt someone at home.
_SELF = "{myself|himself|herself|themselves|themself}"
_ABUSER = (
    "{he|she|they|husband|wife|partner|boyfriend|girlfriend|dad|mum|father|mother|son|"
    "daughter|brother|sister|carer|stepdad|stepfather|stepmum|stepmother|ex}"
)
# "They hurt her when they moved her" is as often about staff as about abuse.
_HURTER = _ABUSER.replace("|they|", "|")
_FAMILY = (
    "{husband|wife|partner|boyfriend|girlfriend|son|daughter|dad|mum|father|mother|carer|"
    "ex|stepdad|stepmum}"
)

# Each phrase in a small notation: "{a|b|}" is one of a, b or nothing, a space is any run of
# white space (line breaks too), and an apostrophe may be typed either way or left out. The
# optional third item is a pattern that, following the phrase, makes it ordinary ("wanted
# to die at home" is a wish about end-of-life care, not a risk).
_DYING_WELL = (
    r"\s++(?:at\s++home|peacefully|with\s++dignity|surrounded|comfortably|"
    r"in\s++(?:peace|comfort|hospital|a\s++hospice|the\s++hospice|"
    r"(?:her|his|their|my)\s++(?:own\s++)?(?:bed|sleep|home)))\b"
)
# "Took all her medication as prescribed"; "stabbed me with the cannula four times".
_AS_PRESCRIBED = (
    r"\s++(?:as|on|with|every|each|at|in|correctly|properly|regularly|daily|home|back|away|"
    r"before|after)\b"
)
_NEEDLE = r"\s++with\s++(?:a|the|another)\s++(?:needle|cannula|drip|line|injection)\b"
_LIVING_SOMEWHERE = (
    r"\s++(?:in|at|with|near|there|here|on|alone|somewhere|anywhere|independently|by|far|"
    r"close|next)\b"
)

PHRASES: tuple[tuple[RiskKind, str, str], ...] = (
    # Suicide and self-harm.
    (RiskKind.SELF_HARM, "kill{|s|ing|ed} " + _SELF, ""),
    (RiskKind.SELF_HARM, "end{|s|ing|ed} it all", ""),
    (RiskKind.SELF_HARM, "end{|s|ing|ed} {my|his|her|their} {|own }life", ""),
    (RiskKind.SELF_HARM, "{take|takes|taking|took|taken} {my|his|her|their} own life", ""),
    (RiskKind.SELF_HARM, "{want|wants|wanted|wanting} to die", _DYING_WELL),
    (RiskKind.SELF_HARM, "wish{|ed|es} {i|he|she|they} {was|were} dead", ""),
    (RiskKind.SELF_HARM, "wish{|ed|es} {i|he|she|they} {could|would} die", ""),
    (RiskKind.SELF_HARM, "wish{|ed} i {had|'d} never been born", ""),
    (RiskKind.SELF_HARM, "better off dead", ""),
    (RiskKind.SELF_HARM, "better off without me", ""),
    (RiskKind.SELF_HARM, "no {reason|point} {to live|in living|living|going on}", ""),
    (RiskKind.SELF_HARM, "nothing {|left }to live for", ""),
    (
        RiskKind.SELF_HARM,
        "{don't|do not|didn't|did not|doesn't|does not} want to {live|be alive|wake up}",
        _LIVING_SOMEWHERE,
    ),
    (RiskKind.SELF_HARM, "{can't|cannot|can not} {go|carry} on {living|any more|anymore}", ""),
    (RiskKind.SELF_HARM, "{suicide|suicides|suicidal|suicidality}", ""),
    (RiskKind.SELF_HARM, "{overdose|overdoses|overdosed|overdosing}", ""),
    (RiskKind.SELF_HARM, "self{-| |}{harm|harms|harmed|harming|harmer|harmers}", ""),
    (RiskKind.SELF_HARM, "{harm|harms|harmed|harming} " + _SELF, ""),
    (RiskKind.SELF_HARM, "{hurting|to hurt} " + _SELF, ""),
    (
        RiskKind.SELF_HARM,
        "{cut|cuts|cutting} {" + _SELF[1:-1] + "|my wrists|her wrists|his wrists}",
        "",
    ),
    (RiskKind.SELF_HARM, "{hang|hangs|hanging|hanged} " + _SELF, ""),
    (
        RiskKind.SELF_HARM,
        "{jump|jumps|jumping|jumped} {off|from} {a|the} {bridge|roof|building|balcony|cliff}",
        "",
    ),
    (
        RiskKind.SELF_HARM,
        "{jump|jumped|jumping|step|stepped|stepping} in front of {a|the} {train|bus|car|lorry}",
        "",
    ),
    (
        RiskKind.SELF_HARM,
        "{took|take|taking|taken|swallowed|swallow|swallowing} all {my|his|her|their} "
        "{tablets|pills|medication}",
        _AS_PRESCRIBED,
    ),
    # Violence and threats.
    (
        RiskKind.VIOLENCE,
        _ABUSER + " {hits|hit|beats|beat|punches|punched|kicks|kicked|slaps|slapped|chokes|choked|"
        "strangles|strangled} {me|her|him}",
        "",
    ),
    (
        RiskKind.VIOLENCE,
        # Not "beats me": "beats me why they did that".
        "{hits|hitting|beating|punches|punching|slaps|slapping|chokes|choking|strangles|"
        "strangling} me",
        "",
    ),
    (RiskKind.VIOLENCE, "{beat|beats|beating|beaten} {me|her|him|them} up", ""),
    (RiskKind.VIOLENCE, "{hurts|hurting} me", ""),
    (RiskKind.VIOLENCE, _HURTER + " {hurt|hurts|is hurting|was hurting} {me|her|him}", ""),
    (
        RiskKind.VIOLENCE,
        "{threaten|threatens|threatened|threatening} to {kill|hurt|hit|harm|beat|stab|shoot|"
        "strangle}",
        "",
    ),
    (
        RiskKind.VIOLENCE,
        "{threaten|threatens|threatened|threatening} {me|her|him|us|them} with a "
        "{knife|weapon|gun|hammer}",
        "",
    ),
    (RiskKind.VIOLENCE, "death {threat|threats}", ""),
    (RiskKind.VIOLENCE, "{stab|stabs|stabbed|stabbing} {me|her|him|them}", _NEEDLE),
    (RiskKind.VIOLENCE, "domestic {abuse|violence}", ""),
    (RiskKind.VIOLENCE, "{he|she|they} {will|would|'ll|'d} kill {me|her|him}", ""),
    (RiskKind.VIOLENCE, "{afraid|scared|frightened|terrified} of my " + _FAMILY, ""),
    # Abuse, sexual, financial and controlling.
    (RiskKind.ABUSE, "{touched|touches|touching} me", ""),
    (RiskKind.ABUSE, "{touched|touches|touching} {her|him} inappropriately", ""),
    (RiskKind.ABUSE, "{grope|gropes|groped|groping} {me|her|him}", ""),
    (RiskKind.ABUSE, "{rape|rapes|raped|raping|rapist}", ""),
    (RiskKind.ABUSE, "sexual{|ly} {abuse|abused|assault|assaulted}", ""),
    (RiskKind.ABUSE, "{abuse|abuses|abused|abusing} {me|her|him|them|us}", ""),
    (RiskKind.ABUSE, "{locked|locks|locking} {me|her|him|them} in", ""),
    (
        RiskKind.ABUSE,
        "{won't|will not|doesn't|does not} let me {leave the house|see my family|out}",
        "",
    ),
    (
        RiskKind.ABUSE,
        "{stole|steals|stealing|stolen} {my|her|his|their} {money|pension|bank card|benefits}",
        "",
    ),
    # Neglect.
    (
        RiskKind.NEGLECT,
        "{no|without|not had any|hadn't had any|hasn't had any|not given any|nothing to eat or} "
        "{food|water|food or water|food or drink|drink|meals} for "
        "{days|a day|two days|three days|2 days|3 days|several days|24 hours|48 hours}",
        "",
    ),
    (RiskKind.NEGLECT, "nothing to {eat|drink} for {days|a day|two days|three days}", ""),
    (RiskKind.NEGLECT, "{left|leaves|leaving} in soiled", ""),
    (
        RiskKind.NEGLECT,
        "{left|lying|lay|lain} in {soiled|wet|dirty} {sheets|bedding|clothes|clothing|pads|pad|"
        "nappies|nappy|bed|underwear}",
        "",
    ),
    (
        RiskKind.NEGLECT,
        "{left|lying|lay|lain|sitting|sat} in {her|his|their|my} own "
        "{urine|faeces|feces|mess|excrement|waste|vomit}",
        "",
    ),
    (
        RiskKind.NEGLECT,
        "{not|never|wasn't|weren't|hasn't been|hadn't been|not been|haven't been} fed",
        r"\s++up\b",
    ),
    (RiskKind.NEGLECT, "{bruises|unexplained bruise|unexplained bruising}", ""),
    (RiskKind.NEGLECT, "{malnourished|emaciated}", ""),
    (RiskKind.NEGLECT, "left alone for days", ""),
    # Not safe now.
    (RiskKind.UNSAFE, "{not safe|unsafe|never safe} at home", ""),
    (RiskKind.UNSAFE, "{don't|do not|didn't|did not|never} feel safe at home", ""),
    (RiskKind.UNSAFE, "{scared|afraid|frightened|terrified} to go home", ""),
    (RiskKind.UNSAFE, "nowhere safe to {go|stay|sleep|live}", ""),
    (RiskKind.UNSAFE, "{in|at} {immediate|imminent} danger", ""),
    (RiskKind.UNSAFE, "{my|her|his|their} life is in danger", ""),
    (
        RiskKind.UNSAFE,
        "{child|children|baby|babies|kids} {|is |are }{at risk|in danger|not safe}",
        "",
    ),
    (RiskKind.UNSAFE, "{run|ran|running|runs} away from home", ""),
)


# --- Building the matcher ------------------------------------------------------------------

_CHOICES = re.compile(r"\{([^{}]*)\}")
_END = ""  # the trie key that marks the end of a phrase


def expand(spec: str) -> list[str]:
    """Every literal phrase ``spec`` stands for, lower case, single-spaced."""
    pieces = _CHOICES.split(spec)
    # split() alternates literal text and the inside of each {...}.
    options = [
        [piece] if index % 2 == 0 else piece.split("|") for index, piece in enumerate(pieces)
    ]
    return sorted(
        {" ".join("".join(parts).split()).lower() for parts in itertools.product(*options)}
    )


def _token(char: str) -> str:
    if char == " ":
        # Possessive: once the white space is taken, it is never given back and retried.
        return r"\s++"
    if char == "'":
        return "['’‘`]?"
    if char == "-":
        return "[-‐‑]"
    return re.escape(char)


def _trie_pattern(phrases: dict[str, str]) -> str:
    """One pattern for all ``phrases`` (each with the pattern that must not follow it, or
    "") whose branches share their prefixes: at each point the alternatives start with
    different characters, so at most one of them goes on."""
    root: dict[str, Any] = {}
    for phrase, unless in phrases.items():
        node = root
        for char in phrase:
            node = node.setdefault(_token(char), {})
        node[_END] = unless

    def pattern(node: dict[str, Any]) -> str:
        branches = [token + pattern(child) for token, child in sorted(node.items()) if token]
        if _END not in node:
            return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # Greedy: the longer phrase is tried first ("overdosed" before "overdose"); the
        # phrase may end here unless what follows makes it ordinary.
        ending = f"(?!{node[_END]})" if node[_END] else ""
        if not branches:
            return ending
        return "(?:" + "|".join([*branches, ending]) + ")"

    return pattern(root)


def _key(text: str) -> str:
    """A phrase as written in PHRASES, from the text that matched it."""
    text = " ".join(text.casefold().split())
    return re.sub("[\u2010\u2011]", "-", re.sub("['’‘`]", "", text))


def _compile() -> tuple[re.Pattern[str], dict[str, RiskKind], dict[RiskKind, re.Pattern[str]]]:
    phrases: dict[str, str] = {}
    kinds: dict[str, RiskKind] = {}
    by_kind: dict[RiskKind, dict[str, str]] = {}
    for kind, spec, unless in PHRASES:
        for phrase in expand(spec):
            phrases.setdefault(phrase, unless)
            kinds.setdefault(phrase, kind)
            kinds.setdefault(_key(phrase), kind)
            by_kind.setdefault(kind, {})[phrase] = unless
    pattern = re.compile(r"\b" + _trie_pattern(phrases) + r"\b", re.IGNORECASE)
    # For text that matched but does not fold to a listed phrase (re's case-insensitive
    # matching takes a dotless "ı" for "i"; casefold() does not): each kind's own pattern.
    kind_patterns = {
        kind: re.compile(_trie_pattern(listed), re.IGNORECASE) for kind, listed in by_kind.items()
    }
    return pattern, kinds, kind_patterns


_PATTERN, _KINDS, _KIND_PATTERNS = _compile()


def _kind_of(text: str) -> RiskKind:
    kind = _KINDS.get(text.lower()) or _KINDS.get(_key(text))
    if kind is not None:
        return kind
    return next(
        (kind for kind, pattern in _KIND_PATTERNS.items() if pattern.fullmatch(text)),
        RiskKind.UNSAFE,
    )


# --- Finding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskFinding:
    """One phrase that often means risk: what it suggests, where it is, what it says."""

    kind: RiskKind
    start: int
    end: int
    text: str

    def to_json(self) -> dict[str, str | int]:
        return {"kind": str(self.kind), "start": self.start, "end": self.end, "text": self.text}

    @classmethod
    def from_json(cls, data: dict[str, str | int]) -> RiskFinding:
        return cls(RiskKind(data["kind"]), int(data["start"]), int(data["end"]), str(data["text"]))

    def fits(self, text: str) -> bool:
        """Whether ``text`` still says, at this finding's offsets, what was found there."""
        return 0 <= self.start < self.end <= len(text) and text[self.start : self.end] == self.text


def find_risk_words(text: str) -> list[RiskFinding]:
    """The phrases in ``text`` that often mean someone is at risk, in order, never overlapping."""
    return [
        RiskFinding(_kind_of(match.group()), match.start(), match.end(), match.group())
        for match in _PATTERN.finditer(text or "")
    ]


# --- A submission's findings ---------------------------------------------------------------


def scan_risk(submission: Any) -> None:
    """Find the risk phrases in each of the submission's text fields and keep them on it,
    unsaved, under ``findings["risk"]``, beside whatever else is stored there.

    Call it wherever the personal details are scanned (``scan_submission``), after them: that
    function replaces ``findings`` whole.
    """
    stored = submission.findings if isinstance(submission.findings, dict) else {}
    submission.findings = {
        **stored,
        STORED_KEY: {
            name: [f.to_json() for f in find_risk_words(getattr(submission, name))]
            for name in RISK_FIELDS
        },
    }


def stored_risk_findings(submission: Any) -> dict[str, list[RiskFinding]] | None:
    """The risk phrases stored for each text field, or None when nothing stored fits the
    text as it is now (a story from before they were stored, or text edited since)."""
    stored = submission.findings.get(STORED_KEY) if isinstance(submission.findings, dict) else None
    if not isinstance(stored, dict):
        return None
    found: dict[str, list[RiskFinding]] = {}
    for name in RISK_FIELDS:
        items = stored.get(name)
        if not isinstance(items, list):
            return None
        try:
            found[name] = [RiskFinding.from_json(item) for item in items]
        except (KeyError, TypeError, ValueError):
            return None
        text = getattr(submission, name)
        if not all(finding.fits(text) for finding in found[name]):
            return None
    return found


def risk_findings_for(submission: Any) -> dict[str, list[RiskFinding]]:
    """The risk phrases in each text field: as stored, or found now when nothing stored fits
    (one pass over text the story form limits to about 36,000 characters; not saved)."""
    stored = stored_risk_findings(submission)
    if stored is not None:
        return stored
    return {name: find_risk_words(getattr(submission, name)) for name in RISK_FIELDS}


def has_possible_risk(submission: Any) -> bool:
    """Whether risk phrases are stored for the submission. Reads only what is stored: the
    queue must not scan every waiting story on every showing."""
    stored = stored_risk_findings(submission)
    return bool(stored) and any(stored.values())


@dataclass(frozen=True)
class InContext:
    """A finding with a few words either side, for a moderator to read."""

    field: str
    finding: RiskFinding
    before: str
    after: str
    cut_before: bool
    cut_after: bool


def in_context(field: str, text: str, finding: RiskFinding, width: int = 60) -> InContext:
    """``finding`` with up to ``width`` characters either side, cut at a space."""
    start = max(0, finding.start - width)
    end = min(len(text), finding.end + width)
    before, after = text[start : finding.start], text[finding.end : end]
    if start > 0 and " " in before:
        before = before[before.index(" ") + 1 :]
    if end < len(text) and " " in after:
        after = after[: after.rindex(" ")]
    return InContext(
        field,
        finding,
        " ".join(before.split()) + (" " if before[-1:].isspace() else ""),
        (" " if after[:1].isspace() else "") + " ".join(after.split()),
        start > 0,
        end < len(text),
    )
