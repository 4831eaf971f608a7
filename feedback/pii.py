"""Find personal details in patient stories and suggest redactions for moderators.

Moderators check every story before it is published. This module only *suggests*: it returns
findings that a moderator can accept, edit or ignore, and applies the ones they keep. It is
deliberately pure Python (stdlib ``re``; Faker's lists of first names and surnames,
gender-guesser's international dictionary of first names and wordfreq's list of the commonest
English words, read from the files those packages ship) so it can run anywhere, with or
without Django.

It finds names (after a title, and without one: from the name lists and from what is said
around them, "my husband Peter", "Sarah on ward 3", "thanks to Jas", "Kaz was amazing with my
daughter", "the student nurses Chidi and Abena", "Alfie's mum here", and in lower case
"shanice from the baby unit"; a capitalised word that is no ordinary English word is a name in
far more places than one that is), NHS numbers, hospital and record numbers ("MRN: 12345678"),
phone numbers, email addresses, street addresses (Welsh ones too: "27 Heol y Llan"),
postcodes, dates of birth and links (with or without "http" or "www"). tests/feedback/pii_cases
holds labelled sentences it is measured against (benchmarks/pii_detector.py prints the figures).

The rules lean towards flagging: a false positive costs a moderator one click, a missed NHS
number or phone number costs a patient their privacy.
"""

from __future__ import annotations

import bisect
import functools
import gzip
import importlib
import importlib.util
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import msgpack

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
    RECORD_NUMBER = "record_number"
    ADDRESS = "address"


REPLACEMENTS: dict[str, str] = {
    Kind.NAME: "[name removed]",
    Kind.NHS_NUMBER: "[NHS number removed]",
    Kind.PHONE: "[phone number removed]",
    Kind.EMAIL: "[email removed]",
    Kind.POSTCODE: "[postcode removed]",
    Kind.DATE_OF_BIRTH: "[date of birth removed]",
    Kind.URL: "[link removed]",
    Kind.RECORD_NUMBER: "[record number removed]",
    Kind.ADDRESS: "[address removed]",
}

# When two equally long findings overlap, the more specific kind wins (lower is stronger):
# an email is more than a link, and a number passing the NHS check digit is more than a phone.
# A number after "hospital number" is a record number even when it is shaped like a phone
# number, but a date after "born" is a date of birth and a valid NHS number is an NHS number.
_SPECIFICITY: dict[str, int] = {
    Kind.EMAIL: 0,
    Kind.NHS_NUMBER: 1,
    Kind.DATE_OF_BIRTH: 2,
    Kind.RECORD_NUMBER: 3,
    Kind.POSTCODE: 4,
    Kind.ADDRESS: 5,
    Kind.PHONE: 6,
    Kind.URL: 7,
    Kind.NAME: 8,
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


def _word_set(words: str) -> frozenset[str]:
    """The words of ``words``, split on white space: lists of words read best written so."""
    return frozenset(words.split())


def _tree(words: Iterable[str]) -> str:
    """A pattern for any of ``words``, written as a tree of their letters: "s(?:on|ister)".

    TRICKY: the engine tries the branches of "husband|wife|son|..." one after another at
    every position of the text; a hundred of them took 90 ms on 100 KB. As a tree each
    position's letters are read once, twenty times faster. The pattern also starts with a
    letter rather than "\\b", so the engine skips quickly to where one of the first letters is.
    """
    tree: dict[str, dict] = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def branches(node: dict[str, dict]) -> str:
        parts = [re.escape(char) + branches(child) for char, child in sorted(node.items()) if char]
        if not parts:
            return ""
        body = parts[0] if len(parts) == 1 else f"(?:{'|'.join(parts)})"
        return f"(?:{body})?" if "" in node else body

    return branches(tree)


def _cased(words: Iterable[str]) -> set[str]:
    """``words`` as written in a sentence: "husband", "Husband", "HUSBAND"."""
    return {variant for word in words for variant in (word, word.capitalize(), word.upper())}


def _starts_word(text: str, start: int) -> bool:
    """Whether ``start`` is not inside a word (for patterns that do not begin with "\\b")."""
    return start == 0 or not (text[start - 1].isalnum() or text[start - 1] in "_-'’")


# Horizontal whitespace only: a title at the end of one line and a capitalised word starting
# the next are rarely a name.
_GAP = r"[^\S\r\n]+"
_TITLE_WORD = r"(?i:doctor|dr|nurse|sister|matron|mrs|mr|ms|miss|mx|professor|prof|sir|dame)"
# Capitalised words that start sentences rather than name people: "I saw the Dr. Then...".
# Words that are also first names (Will, May, Grace) are deliberately not listed.
_NOT_NAME_WORDS = sorted(
    _word_set(
        "After All Also An And As At Before But Did During Eventually Even Everyone For From He"
        " Her His How If In It Its Later My No Not Nobody Nothing Now Of On Our Please She So"
        " Some Thank Thanks That The Their Then There These They This Those Today Was We What"
        " When Where Which While Who Why Yes Yesterday You Your"
    )
)
_NOT_NAMES = f"(?:{'|'.join(_NOT_NAME_WORDS)})"
# Latin-1 and Latin Extended-A letters, so Siân, Zoë, Siôn and Łukasz count as names, and
# the Romanian letters with a comma below (Ionuț, Ștefan).
_UPPER = "A-ZÀ-ÖØ-Þ\u0100-\u017f\u0218-\u021b"
_LOWER = "a-zß-öø-ÿ\u0100-\u017f\u0218-\u021b"
# A capitalised word: McDonald, MacLeod, O'Neill, D'Arcy, Jean-Luc, Smith-Jones. A title is
# never itself a name word, so "I miss Nurse Jo Bloggs" finds "Nurse Jo Bloggs".
_NAME_WORD = (
    rf"(?!(?:{_TITLE_WORD}|{_NOT_NAMES})\b)"
    rf"(?:Mc|Mac|O['’]|D['’])?[{_UPPER}][{_LOWER}]+(?:['’-][{_UPPER}][{_LOWER}]+)*"
)
_INITIAL = rf"[{_UPPER}]\.?{_GAP}"
# Only abbreviations take a full stop: after "doctor" or "nurse" a full stop ends a sentence,
# and the capitalised word that follows is not a name ("I saw the doctor. Then...").
_TITLES = _cased(
    _word_set("dr dr. mrs mrs. mr mr. ms ms. mx mx. prof prof. doctor nurse sister matron miss")
    | _word_set("professor sir dame")
)
# TRICKY: the titles are a tree of letters and the word boundary before them is checked
# after a match (_starts_word), so the engine skips straight to where a title could start.
_NAME = re.compile(
    rf"(?P<title>{_tree(_TITLES)}){_GAP}"
    rf"(?:(?:{_INITIAL}){{0,2}}{_NAME_WORD}(?:{_GAP}{_NAME_WORD})?"
    # "dr jones": a lower-case word after an abbreviated title, kept only if it is a known
    # surname that is not also an everyday word ("dr said" is not a name).
    rf"|(?P<lower>[a-z]+(?:['’-][a-z]+)?))"
    # "Dr Smith's": the possessive is not part of the name; "Dr Smithson" is not "Dr Smith".
    rf"(?![{_LOWER}{_UPPER}])"
)
_ABBREVIATED_TITLES = frozenset({"dr", "mr", "mrs", "ms", "mx", "prof"})


def _is_lower_case_surname(title: str, word: str) -> bool:
    """Whether ``word``, in lower case after ``title``, names someone: "dr jones", not "dr
    said", "the doctor came" or "I miss home"."""
    if title.lower().rstrip(".") not in _ABBREVIATED_TITLES:
        return False
    lists = _name_lists()
    key = _fold(word)
    return (key in lists.surnames or key in lists.anywhere) and key not in lists.everyday


def _is_ordinary_word_after_title(text: str, match: re.Match[str]) -> bool:
    """Whether a title is followed by one ordinary English word that names nobody: "Mr Men
    stickers", "Sister Act" (but "Dr Foster", "Nurse Hope" and "Dr Ng" are names)."""
    rest = text[match.end("title") : match.end()].split()
    if len(rest) != 1:
        return False
    lists = _name_lists()
    key = _fold(rest[0])
    return key in lists.common and key not in lists.surnames and key not in lists.anywhere


# --- Names without a title -------------------------------------------------------------------

# First names and surnames come from Faker's person providers, one list per locale, kept up to
# date by its maintainers. A first name from one of these locales is taken as a name anywhere
# (unless it is also an everyday word or a place). The lists of the second group are long or
# noisy (US baby names with "Council" and "Unknown" in them, "Lucky", "Said", "Canal"), so a
# first name found only there counts only where the text says a person is meant.
_LOCALES_ANYWHERE = (
    "en_GB",
    "en_IE",
    "en_US",
    "en_NZ",
    "en_IN",
    "pl_PL",
    "ro_RO",
    "lt_LT",
    "pt_PT",
    "en_NG",
    "yo_NG",
    "ig_NG",
    "ha_NG",
    "tw_GH",
)
_LOCALES_IN_CONTEXT = ("en", "en_PK", "en_KE", "tr_TR")

# First names that are also everyday words ("Will they call?", "Mark my words", "Grace
# period"), family words written with a capital ("Nan was on Ward 3"), and months: names only
# in a name context ("my daughter Grace", "thanks to Will", "May on the front desk").
_EVERYDAY_NAMES = _word_set("""
    angel april august aura autumn bill blessing brandy chance charity chase christian comfort
    crystal dawn dean destiny diamond don drew eve faith frank gene grace grant harsh holly hope
    hunter ion jack jade jesus joy june lance lucky mark max may melody mercy miles patience
    penny pierce precious raven ray robin roman rose sever sky sue summer sunny will
    mum mam mom dad nan nana nanna gran granny grandad grandma grandpa
    """)
# Towns and countries that are also first names, so "we drove to Preston" or "I was sent to
# Barry" is not a name, while "my son Preston" still is. Faker's counties are added to these.
_PLACES = _word_set("""
    ashton barry bradford burnley carlton chelsea chester chorley clifton darwin denton derby
    devon durham georgia india jordan kendal kent kingston lancaster lincoln milton paris
    preston stafford stanley sydney tyrone warwick
    glan gwynedd clwyd powys ceredigion conwy gwent dyfed glamorgan
    """)
# Surnames that are everyday words: after "dr" in lower case they are words ("dr walker" is a
# name, "dr said" and "dr park" are not), and a single word after a first name is not taken
# as a surname if it is one of these ("Rose Hill" is more likely a place than a person).
_EVERYDAY_SURNAMES = _word_set("""
    love marry weeks miles grab king date ring master french fresh fit smart fair de cross
    judge cop guard moon cook pop bright park gay bird flowers block mountain english stone
    bell powers golden wise bridge rush hook hunt walls prince snow lord noble winter bones
    victory brown hall loyal shine marks priest sharp woods wood rice tank bath bail wolf horn
    warrior merry bond gray banks rode burns hill divine foster petty fields bull gates ho
    branch waters knight pal cherry brick silk le hills senator kidney flood cruise fry buck
    drum blank ward hood shields grey mall stack gross fox farmer lamb steer fee beard lad bean
    swords savage cannon gal rivers herd bass urban ham booth butcher pace gamble monk clay bush
    said young little day long short well best good white black green
    """)
# Never names, whatever comes before: titles, days, and words that open sentences.
_NEVER_NAMES = _word_set("""
    doctor dr nurse sister matron mrs mr ms miss mx professor prof sir dame
    monday tuesday wednesday thursday friday saturday sunday christmas easter god lord
    """) | frozenset(word.lower() for word in _NOT_NAME_WORDS)
# Hospitals called by a first name and a possessive: "Guy's", "Jimmy's" (St James's, Leeds),
# "Tommy's", "Bart's".
_POSSESSIVE_PLACES = frozenset({"guy", "jimmy", "tommy", "bart"})

_RELATIONS = _word_set(
    """
    husband wife son daughter mum mam mom mummy mother dad daddy father partner carer friend
    brother sister nan nana nanna gran granny grandma grandmother grandad granddad grandpa
    grandfather grandson granddaughter grandchild aunt auntie aunty uncle niece nephew cousin
    neighbour neighbor boyfriend girlfriend fiance fiancee fiancé fiancée stepdad stepmum
    stepson stepdaughter stepfather stepmother baby child boy girl colleague flatmate housemate
    twin mother-in-law father-in-law son-in-law daughter-in-law brother-in-law sister-in-law
    """
)
_ROLES = _word_set(
    """
    porter physio physiotherapist receptionist assistant hca midwife consultant surgeon
    registrar paramedic cleaner volunteer clerk manager pharmacist technician radiographer
    student therapist interpreter translator chaplain housekeeper worker dietitian dietician
    sonographer anaesthetist phlebotomist counsellor coordinator co-ordinator lady man woman
    gentleman guy bloke chap doctor nurse medic visitor practitioner
    """
)


# Roles in the plural, before the names of those who had them: "the student nurses Chidi
# and Abena", "the crew, Tom and Raj".
_ROLES_PLURAL = {role + "s" for role in _ROLES if not role.endswith(("s", "man"))} | {
    "midwives",
    "crew",
}
# Words that say a name follows, "me and" among them ("me and Shaz live in...").
_NAMING_WORDS = {"named", "called", "name", "me and"}
# A word after one of these is a name even if no list knows it ("my husband Dafydd", "a nurse
# called Precious", "my name is ...", "Dad (Kev)", "my son Alfie's", "me and Baz"), and after
# a relation in lower case too ("my mum jean").
_STRONG_CUE = re.compile(
    rf"(?P<cue>{_tree(_cased(_RELATIONS | _ROLES | _ROLES_PLURAL | _NAMING_WORDS))})"
    rf"(?:['’]s|{_GAP}(?:is|was))?,?{_GAP}\(?"
    # A lookahead, so the word can itself be a cue: "a nurse called Grace".
    rf"(?=(?P<word>(?:Mc|Mac|O['’]|D['’])?[{_UPPER}{_LOWER}][{_LOWER}]+"
    rf"(?:-[{_UPPER}][{_LOWER}]+)*)(?:['’]s)?(?![\w'’-]))"
)
# Words before "called" that make it a telephone call, not a name ("I called Alison").
_CALLERS = _word_set(
    "i we they he she you then and had have has just finally eventually also never was were "
    "been being who it i've we've i'd they've she'd he'd i'm"
)
# A known first name after one of these is a name even when it is also an everyday word:
# "thanks to Will", "I asked Grace", "seen by Hope".
_WEAK_CUES = _word_set(
    "asked ask asking told tell telling thank thanks thanked called rang phoned emailed "
    "messaged texted met saw hi hello dear bless cheers love loved i'm"
)
_WEAK_CUES_BEFORE = {
    "to": _word_set(
        "spoke speak speaking talked talk talking thanks thank you grateful out credit written "
        "wrote write writing complained explained mentioned introduced pass passed send sent "
        "given gave go goes kudos"
    ),
    "by": _word_set(
        "seen after helped treated examined assessed visited reviewed greeted supported "
        "operated cared met welcomed looked rescued saved phoned called contacted told"
    ),
    "for": _word_set("ask asked asking"),
    "with": _word_set("spoke speak speaking talked talk talking chatted"),
}
# Capitalised words before a name that make it part of a place: "St Mary's", "Queen
# Elizabeth", "Royal Victoria". ("The" is handled with every other "the".)
_PLACE_BEFORE = _word_set(
    "st st. saint queen king prince princess royal lady countess duke duchess county great "
    "general university ysbyty"  # (Welsh for hospital: "Ysbyty Gwynedd")
)
# A word after a name that makes it a place, team or charity: "Rowan Ward", "John Radcliffe
# Hospital", "Marie Curie nurses", "Ronald McDonald House".
_PLACE_AFTER = _word_set("""
    ward wards unit units hospital hospitals infirmary hospice centre center clinic clinics
    surgery practice house trust wing suite building block lodge road street lane avenue drive
    close way park square station school college university health medical hall community
    foundation theatre theatres nurse nurses team fund charity court gardens terrace grove
    crescent place department library church chapel memorial care home homes village estate
    hotel institute
    """)
# Lower-case words of _PLACE_AFTER that often follow a person's name as something else.
_NOT_PLACES_AFTER = _word_set("home homes care")
# Charities, hospitals and units named after people, which patients write as a name alone:
# "Marie Curie came to the house", "Sue Ryder were wonderful".
_NAMED_AFTER_PEOPLE = frozenset(
    (
        "marie curie",
        "sue ryder",
        "florence nightingale",
        "mary seacole",
        "ronald mcdonald",
        "john radcliffe",
        "james paget",
        "william harvey",
        "aneurin bevan",
        "nye bevan",
        "james cook",
        "alder hey",
        "queen elizabeth",
        "princess alexandra",
        "royal marsden",
    )
)
# Words that say the one before them was a person: "Kaz was amazing with my daughter", "Anil
# was the only person", "Tendai was an amazing advocate", "Jun was really patient with me".
_PERSON_TRAITS = _word_set("""
    kind caring patient gentle friendly helpful reassuring understanding compassionate
    attentive supportive lovely polite rude dismissive advocate star angel legend person
    hero superstar
    """)
_PRAISE = _word_set("amazing brilliant fantastic wonderful great excellent good lovely fab")
_PREDICATE_FILLERS = (
    _word_set(
        "so really very absolutely always just truly such incredibly extremely an a the only most "
        "our my one total real"
    )
    | _PRAISE
)
_PERSON_PREDICATE = (
    rf"(?:was|is){_GAP}(?:(?:{_tree(_PREDICATE_FILLERS)}){_GAP}){{0,3}}"
    # (One more word before a role: "was my care coordinator", "is our lead midwife".)
    rf"(?:{_tree(_PERSON_TRAITS)}|(?:[\w-]+{_GAP})?{_tree(_ROLES)}"
    # "amazing with my daughter", "so good to us": praise said of how one treated someone.
    rf"|(?:with|to){_GAP}(?:me|my|us|him|her|our|mum|dad|them))"
)
# What may come after a name in the same breath: "Sarah on ward 3", "May on the front desk",
# "Bill from the discharge team", "Kwame the porter", "Emily, the receptionist", "Winston, my
# father in law", and what is said of a person ("Kaz was amazing with my daughter"); and a
# relation after the possessive ("Alfie's mum here").
_AFTER_NAME_SOURCE = (
    rf"(?:['’]s{_GAP}{_tree(_RELATIONS)}(?![\w-])|"
    # TRICKY: the look-ahead for the first letters of every branch below fails at once after
    # most words ("Jo Bloggs"), where trying the branches one by one took a third of the time
    # of finding the capitalised words. Keep it in step with the branches.
    rf",?{_GAP}\(?(?=[aofimtwy])(?:"
    rf"(?:the|a|an|our|my|your){_GAP}(?:[\w-]+{_GAP})?(?:{_tree(_ROLES | _RELATIONS)})"
    rf"|(?:on|from|in|at){_GAP}(?:(?:the|our|a){_GAP})?(?:[\w&-]+{_GAP})?"
    r"(?:wards?|desk|reception|nights|days|shift|team|unit|department|clinic|physio|pharmacy"
    r"|pals|recovery|theatres?|a&e|triage|ambulance|x-ray|radiology|lounge|bay|icu|itu|hdu"
    r"|outpatients|maternity|switchboard)"
    rf"|{_PERSON_PREDICATE}"
    r")(?![\w-]))"
)
# "Sarah and Will", "Tom, Harriet and Shanice": a known first name joined to a name found.
_JOINED = re.compile(rf"(?:,{_GAP}|,?{_GAP}(?:and|&){_GAP})")


def _none_of(words: Iterable[str]) -> str:
    """A check, for just after a capitalised word's first letter, that fails if the word is
    one of ``words`` (capitalised): so the engine itself passes over "The" and "Dr".

    TRICKY: a look-behind of one character holding a look-ahead, so the capitalised words
    are one tree read from the first letter. A look-ahead after the first letter with one
    branch per letter, each checking that letter behind it, tried twenty look-behinds a word.
    """
    return rf"(?<!(?={_tree({word.capitalize() for word in words})}(?![\w'’-])).)"


# A capitalised word that may be a name: Sarah, McDonald, MacLeod, O'Neill, D'Arcy, Kerry-Ann;
# not a title, a day or a word that opens sentences (_NEVER_NAMES). "context" is set (to an
# empty string) when a name context follows ("Sarah on ward 3").
_CAPITALISED = re.compile(
    # TRICKY: the pattern opens with a capital letter and looks behind it only then, so the
    # engine can skip straight to capitals; a look-behind first made it try every position.
    rf"[{_UPPER}](?<![\w'’-].){_none_of(_NEVER_NAMES)}"
    # Possessive repeats (++, *+): a word that turns out not to end properly ("Aaa...aB") is
    # given up at once rather than retried one letter shorter at a time.
    rf"(?:(?<=M)a?c[{_UPPER}]|(?<=[OD])['’][{_UPPER}])?[{_LOWER}]++(?:-[{_UPPER}][{_LOWER}]++)*+"
    # Not "Don" in "Don't": an apostrophe and a letter continue the word, unless it is "'s".
    r"(?![\w-])(?!['’](?!s(?!\w))\w)"
    rf"(?:(?=(?i:{_AFTER_NAME_SOURCE}))(?P<context>))?"
)
_SENTENCE_END = ".!?:;\n\r"
_FOLDED = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ı": "i"})


def _fold(word: str) -> str:
    """``word`` in lower case without accents, as the name lists are kept: Siân is Sian."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word.translate(_FOLDED))
    return "".join(char for char in decomposed if not unicodedata.combining(char)).lower()


@dataclass(frozen=True)
class _NameLists:
    """The word lists, each a dict of word: None, read only with ``in``.

    TRICKY: dicts, not sets. The garbage collector walks every set it tracks, element by
    element, each time it checks all objects, and a crafted story makes the detector allocate
    enough for that to happen during a scan: 150,000 names in sets cost 5 ms a time. A dict
    holding only strings is not tracked at all.
    """

    anywhere: dict[str, None]  # first names that are names wherever they appear
    first: dict[str, None]  # every first name, including those only names in context
    surnames: dict[str, None]
    everyday: dict[str, None]  # everyday words: names only in a name context
    places: dict[str, None]
    # The 29,000 commonest English words (wordfreq's small list, Zipf frequency 3 and up):
    # a capitalised word that is none of them and no known name is probably a name or a
    # medical term, where one that is ("Food", "Staff", "Everyone") is an ordinary word.
    ordinary: dict[str, None]
    common: dict[str, None]  # the 2,000 or so commonest of them (Zipf 5 and up)


def _provider_names(locale: str, kind: str) -> set[str]:
    """The folded ``kind`` ("first_name" or "last_name") lists of one Faker locale."""
    provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    found: set[str] = set()
    for attribute, value in vars(provider).items():
        if kind in attribute and isinstance(value, tuple | list | dict):
            # Some lists are dicts of name: weight; "A tSithigh" and other two-word entries
            # never match one word, so they are left out.
            found.update(_fold(name) for name in value if isinstance(name, str) and " " not in name)
    return found


def _package_data(package: str, *path: str) -> Path:
    """A data file shipped in ``package``, found without importing the package (wordfreq's
    own import pulls in half a dozen modules and takes a second or more)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{package} is not installed")
    return Path(next(iter(spec.submodule_search_locations)), *path)


def _international_first_names() -> set[str]:
    """The 46,000 first names of gender-guesser's dictionary (Jörg Michael's nam_dict.txt):
    names in use in Britain, Ireland, Wales, Scotland, India, China, Africa, the Caribbean and
    every European country, folded. Each line has the name in columns 4 to 29; "+" joins the
    parts of a name of two words, which never match one word, so they are left out."""
    path = _package_data("gender_guesser", "data", "nam_dict.txt")
    names: set[str] = set()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line[:1] in "#=" or len(line) < 30:
                continue
            name = line[3:29].strip()
            if name.isalpha():
                names.add(_fold(name))
    return names


# Bucket n of wordfreq's list holds the words with a frequency of 10^(-n/100), a Zipf
# frequency of 9 - n/100: the words before this bucket are used more than once in 100,000.
_COMMON_BUCKETS = 400


def _ordinary_words() -> tuple[frozenset[str], frozenset[str]]:
    """wordfreq's small English list: every word with a Zipf frequency of 3 or more, and the
    2,000 or so with 5 or more ("men", "will", "care").

    The file is a gzipped msgpack list: a header, then the words in buckets of falling
    frequency (wordfreq's own format, read here as its ``read_cBpack`` does).
    """
    path = _package_data("wordfreq", "data", "small_en.msgpack.gz")
    header, *buckets = msgpack.unpackb(gzip.decompress(path.read_bytes()), raw=False)
    if header != {"format": "cB", "version": 1}:
        raise ValueError(f"unexpected wordfreq data format: {header!r}")
    words = [[_fold(word) for word in bucket if word.isalpha()] for bucket in buckets]
    return (
        frozenset(word for bucket in words for word in bucket),
        frozenset(word for bucket in words[:_COMMON_BUCKETS] for word in bucket),
    )


@functools.cache
def _name_lists() -> _NameLists:
    """Faker's and gender-guesser's names and wordfreq's commonest English words, loaded once
    per process (about a third of a second)."""
    from faker.providers.address.en_GB import Provider as UkAddresses
    from faker.providers.lorem.en_US import Provider as EnglishWords

    faker_first = set().union(*(_provider_names(loc, "first_name") for loc in _LOCALES_ANYWHERE))
    in_context = set().union(*(_provider_names(loc, "first_name") for loc in _LOCALES_IN_CONTEXT))
    surnames = set().union(
        *(_provider_names(loc, "last_name") for loc in _LOCALES_ANYWHERE + _LOCALES_IN_CONTEXT)
    )
    international = _international_first_names()
    ordinary, common = _ordinary_words()
    places = _PLACES | {_fold(county) for county in UkAddresses.counties if " " not in county}
    # Faker's English filler words are about a thousand of the commonest ("will", "may",
    # "hope", "bill"): a name that is also one of them is a name only in context.
    everyday = {_fold(word) for word in EnglishWords.word_list} | _EVERYDAY_NAMES | _NEVER_NAMES
    not_names = everyday | places | _RELATIONS | _ROLES
    # A name from the international dictionary is a name anywhere only if it is no ordinary
    # English word (Dafydd, Cerys, Gurpreet, Eilidh, Delroy); otherwise only in context ("Jun
    # was really patient", "thank Chen Wei"), as Faker's everyday names are.
    anywhere = (faker_first - not_names) | (international - ordinary - not_names)
    return _NameLists(
        anywhere=dict.fromkeys(anywhere),
        # (Not the commonest words of the international dictionary: "March", "Long", "Art".)
        first=dict.fromkeys((faker_first | in_context | (international - common)) - _NEVER_NAMES),
        surnames=dict.fromkeys(surnames - _NEVER_NAMES),
        everyday=dict.fromkeys(everyday | _EVERYDAY_SURNAMES),
        places=dict.fromkeys(places),
        ordinary=dict.fromkeys(ordinary),
        common=dict.fromkeys(common),
    )


def _opens_sentence(text: str, start: int) -> bool:
    """Whether the word at ``start`` is the first of a sentence, line or text."""
    before = text[max(0, start - 8) : start].rstrip(" \t\"'“‘(*-•")
    if not before:
        # Only spaces and quotes in reach: the start of the text, or a long gap.
        return True
    return before[-1] in _SENTENCE_END


def _raw_words_before(text: str, start: int) -> list[str]:
    """The words (as written, punctuation and all) in the 40 characters before ``start``."""
    return text[max(0, start - 40) : start].split()


def _words_before(text: str, start: int, raw: list[str] | None = None) -> list[str]:
    """Up to three words before ``start`` in the same sentence, folded, nearest last.

    A comma or colon after a word is dropped ("husband," is still the relation), but a word
    ending a sentence stops the list: in "Thanks. Will you..." nothing comes before "Will".
    ``raw`` is ``_raw_words_before(text, start)`` if the caller has it already.
    """
    words: list[str] = []
    for written in (raw if raw is not None else _raw_words_before(text, start))[:-4:-1]:
        word = written.strip("\"'“”‘’()")
        if word[-1:] in ".!?" and _fold(word) not in _PLACE_BEFORE:
            break
        word = word.rstrip(",;:")
        # (_fold, written out for the common case: this runs for most capitalised words.)
        words.append(word.lower() if word.isascii() else _fold(word))
    words.reverse()
    return words


def _has_weak_cue(words: list[str]) -> bool:
    """Whether the words before a name say a person is meant: "asked", "spoke to"."""
    if not words:
        return False
    last = words[-1]
    if last in _WEAK_CUES:
        return True
    if last == "you" and len(words) > 1 and words[-2] == "thank":
        return True
    before = _WEAK_CUES_BEFORE.get(last)
    return before is not None and len(words) > 1 and words[-2] in before


def _strong_cues(text: str, lists: _NameLists) -> tuple[set[int], list[tuple[int, int]]]:
    """Where a word follows a strong cue (a relation, a role, "named"), and lower-case names.

    Returns the start of every capitalised word after a cue, and the spans of lower-case
    first names after a relation ("my husband peter").
    """
    capitalised: set[int] = set()
    lower_case: list[tuple[int, int]] = []
    for match in _STRONG_CUE.finditer(text):
        if not _starts_word(text, match.start()):
            continue
        word = match.group("word")
        start = match.start("word")
        cue = match.group("cue").lower()
        if cue == "called":
            # "a nurse called Grace" names her; "I called Alison" rang her (a weak cue).
            before = _words_before(text, match.start("cue"))
            if not before or before[-1] in _CALLERS:
                continue
        if word[0].isupper():
            capitalised.add(start)
        elif cue in _RELATIONS or cue in _ROLES:
            # "my mum jean", "the healthcare assistant priya" (not "the nurse said").
            key = _fold(word)
            if (
                key in lists.anywhere
                and key not in lists.everyday
                and (cue in _RELATIONS or key not in lists.ordinary)
            ):
                lower_case.append((start, match.end("word")))
    return capitalised, lower_case


# Endings of medicines' names, which are the commonest capitalised words in a story that no
# name list knows: Tramadol, Morphine, Amoxicillin, Ramipril, Omeprazole, Clexane.
_DRUG_ENDINGS = tuple(
    _word_set(
        "ol ine cillin mycin pril sartan statin azole pine done mab xane ide pam lam phen fen cin"
        " one ium ate vir tal zole nib parin oxin mide lin dex gel cream"
    )
)
_THING_CUES = _word_set(
    "of on in at to from with for by the a an some any more no into about onto off than our "
    "my your his her their its this that these those"
)
# Words before a known first name that need a closer look: "the Christie", "St Mary's",
# "Marks and Spencer".
_NOT_QUICK_PREVIOUS = _PLACE_BEFORE | {"the", "and", "&"}
_MONTH_NAMES = frozenset({"april", "may", "june", "august"})
_MONTH_CUES = _word_set(
    "in of since until till by last next early late mid end from during this before after to"
)
_NEXT_WORD = re.compile(rf"{_GAP}([\w-]+)")


# A name-list word between "from" and "to" and a capitalised word is a place on a route.
_ROUTE = re.compile(rf"{_GAP}to{_GAP}[{_UPPER}]")
# Words before "from" or "to" that make the next word a place: "we moved from Shirley", "I
# live near Sandy" ("near" alone does).
_MOVING = _word_set(
    "live lives lived living moved move moving drove drive driving travel travelled travelling "
    "commute commuted commuting relocated transferred"
)


_BEFORE_PLACES = frozenset({"near", "from", "to"})


def _is_place_after_moving(raw: list[str]) -> bool:
    """Whether the words before a capitalised word (``raw``, _raw_words_before) make it a
    place: "near Sandy", "moved from Shirley", "drove to Preston"."""
    previous = raw[-1] if raw else ""
    if previous == "near":
        return True
    return (previous == "from" or previous == "to") and len(raw) > 1 and raw[-2].lower() in _MOVING


# Words after a word that opens a sentence which make that word a verb asking or wishing: "May
# the new manager...", "Will you...", "Can my wife...".
_ASKED = _word_set("the a an you i we they he she it my our your his her their someone anyone")


def _asks(text: str, end: int) -> bool:
    """Whether the word after ``end`` makes the word before it a verb that asks or wishes."""
    after = _NEXT_WORD.match(text, end)
    return after is not None and after.group(1).lower() in _ASKED


# Thanks before a word, which makes it a name unless it is an ordinary English word: "thanks
# to Jas", "I would like to thank Oluwaseun", "Thank you Delroy", "special mention to Gurpreet",
# "shout out to Bex" (but not "thanks to everyone" or "Thank you Ward 7").
# Lower-case words after thanks are read too, with a second joined by "and": "shout out to
# bex and lorna".
_LOWER_WORD = rf"[{_LOWER}]{{2,}}+(?![\w'’-])"
_THANKS = re.compile(
    rf"(?:{_tree(_cased(_word_set('thank thanks thanked cheers mention shout kudos')))})"
    rf"(?:{_GAP}(?:you|u|out))?(?:{_GAP}(?:so{_GAP}much{_GAP})?to)?,?{_GAP}"
    rf"(?:(?=[{_UPPER}])|(?P<first>{_LOWER_WORD})"
    rf"(?:(?:,{_GAP}|,?{_GAP}(?:and|&){_GAP})(?P<second>{_LOWER_WORD}))?)"
)
# A word in lower case opening a sentence, line or text, before what is said of a person:
# "shanice from the baby unit...", "bethan was so lovely", "tomasz on nights".
_LOWER_CASE_OPENING = (
    rf"(?:[^\S\r\n]|[\"'“‘(*-]){{0,4}}+(?P<word>{_LOWER_WORD})(?=(?i:{_AFTER_NAME_SOURCE}))"
)
_LOWER_CASE_FIRST = re.compile(_LOWER_CASE_OPENING)
# A full stop or colon ends a sentence only before a space: not in "nhs.uk" or "10:30".
# TRICKY: written as two look-arounds rather than a choice of "." before a space or a line
# break, which the engine tried at every character of a text of line breaks: a fifth as fast.
_LOWER_CASE_AFTER_END = re.compile(
    rf"[{re.escape(_SENTENCE_END)}](?=[ \t{_LOWER}\"'“‘(*-])"
    rf"(?<![.!?:;](?=[{_LOWER}\"'“‘(*-]))({_LOWER_CASE_OPENING})"
)


def _is_lower_case_first_name(word: str, lists: _NameLists) -> bool:
    """Whether a word written in lower case where a name could be is a first name: a known
    one that is no everyday or common word, place, role or relation ("bethan", "tariq"; not
    "staff", "sandy", "everyone" or "mum")."""
    key = _fold(word)
    return (
        key in lists.first
        and key not in lists.common
        and key not in _ROLES
        and key not in _RELATIONS
        and _is_unusual_word(key, lists)
    )


def _thanked(text: str, lists: _NameLists) -> tuple[set[int], list[tuple[int, int]]]:
    """The starts of the capitalised words right after thanks, and the spans of first names
    in lower case there."""
    capitalised: set[int] = set()
    lower_case: list[tuple[int, int]] = []
    for match in _THANKS.finditer(text):
        if not _starts_word(text, match.start()):
            continue
        if match.start("first") < 0:
            capitalised.add(match.end())
            continue
        for group in ("first", "second"):
            word = match.group(group)
            if word is None or not _is_lower_case_first_name(word, lists):
                break
            lower_case.append(match.span(group))
    return capitalised, lower_case


def _lower_case_openings(text: str, lists: _NameLists) -> Iterator[tuple[int, int]]:
    """First names in lower case opening a sentence before what is said of a person."""
    first = _LOWER_CASE_FIRST.match(text)
    openings = _LOWER_CASE_AFTER_END.finditer(text)
    for match in [first, *openings] if first is not None else openings:
        if _is_lower_case_first_name(match.group("word"), lists):
            yield match.span("word")


def _joined(text: str, previous_end: int, start: int) -> bool:
    """Whether a name ending at ``previous_end`` is joined to the word at ``start`` by "and"."""
    return (
        0 <= start - previous_end <= 8 and _JOINED.fullmatch(text, previous_end, start) is not None
    )


def _follows_proper_noun(raw: list[str], lists: _NameLists) -> bool:
    """Whether a word continues the name of a place or a shop: "Blackpool Victoria", "Marks
    and Spencer". ``raw`` holds the words before it (_raw_words_before). The word before
    (or before "and") is capitalised, in mid-sentence, and not a first name (nor, right
    before, a surname)."""
    joined = bool(raw) and raw[-1] in ("and", "&")
    if joined:
        raw = raw[:-1]
    if len(raw) < 2 or raw[-2][-1:] in ".!?":
        return False
    previous = raw[-1].strip("\"'“”‘’(")
    if not previous[:1].isupper() or previous[-1:] in ",;:.!?":
        return False
    key = _fold(previous.removesuffix("'s").removesuffix("’s").removesuffix("'"))
    if key in lists.anywhere or (key in lists.first and key not in lists.ordinary):
        return False  # "Laura and Bex", not "Marks and Spencer"
    if key in _WEAK_CUES:
        return False
    return joined or key not in lists.surnames


def _how_named(
    text: str,
    start: int,
    end: int,
    key: str,
    lists: _NameLists,
    strong: set[int],
    thanked: set[int],
    last_name_end: int,
    context: bool,
) -> str | None:
    """Why the capitalised word at ``start`` is a name, or ``None`` if it is not one.

    ``context`` says whether a name context follows the word ("on ward 3", "the porter").
    ``strong`` and ``thanked`` hold the starts of words after a strong cue and after thanks.

    "strong": after a relation, role or "named"; "context": a known first name after a weak
    cue ("asked Grace") or before a name context ("Bill from the discharge team"), or any
    word before such a context in mid-sentence ("Kwame the porter"); "list": a first name
    that is no everyday word; "pair": an everyday first name, a name only with a surname.
    """
    if key in _PLACE_AFTER:
        return None
    known = key in lists.first
    raw = _raw_words_before(text, start)
    previous = raw[-1] if raw else ""
    # The commonest case, decided from the word before alone: a first name after a word in
    # lower case other than "the" or "and" ("spoke to Priya"), at the start, or right after
    # the name before it ("Jo Bloggs, Sam Smith").
    if (
        key in lists.anywhere
        and key not in _POSSESSIVE_PLACES
        and (
            not previous
            or 0 <= start - last_name_end <= 2
            or (previous[:1].islower() and previous not in _NOT_QUICK_PREVIOUS)
        )
        and previous not in _BEFORE_PLACES
    ):
        return "list"
    if (
        previous in _BEFORE_PLACES
        and not context
        and start not in strong
        and (_is_place_after_moving(raw) or (previous == "from" and _ROUTE.match(text, end)))
    ):
        return None  # "near Sandy", "moved from Shirley", "the bus from Sandy to Bedford"
    if key in lists.anywhere and key not in _POSSESSIVE_PLACES and previous in _BEFORE_PLACES:
        return "list"  # "spoke to Priya" (as above, past the places)
    if not known and start not in strong:
        # An unknown word or a surname alone is a name only in mid-sentence, joined to a name
        # ("Laura and Bex") or before a name context ("I told Imran at reception", "Kwame the
        # porter"), and not after a word that introduces a thing ("ran out of Tramadol on the
        # ward").
        if key in lists.everyday or key in lists.places or key.endswith(_DRUG_ENDINGS):
            return None
        # No ordinary English word ("Food", "Staff", "Everyone", "Physio"), so a name: at
        # the start of a sentence only before a name context ("Bex on reception", "Kaz was
        # amazing with my daughter"), after thanks ("I would like to thank Oluwaseun").
        unusual = key not in lists.ordinary and key not in _ROLES and key not in _RELATIONS
        if _opens_sentence(text, start):
            return "context" if context and unusual else None
        if unusual and start in thanked:
            return "context"
        if _joined(text, last_name_end, start):
            return "context"
        if not context or key in lists.ordinary:
            return None  # (not "Reception was so helpful")
        before = _words_before(text, start, raw)
        if before and (
            before[-1] == "the"
            or before[-1] in _PLACE_BEFORE
            or (before[-1] in _THING_CUES and not _has_weak_cue(before))
        ):
            return None
        return "context"
    before = _words_before(text, start, raw)
    if before and (before[-1] == "the" or before[-1] in _PLACE_BEFORE):
        return None  # "the Christie", "St Mary's", "Queen Elizabeth"
    if key in _POSSESSIVE_PLACES and text[end : end + 2] in ("'s", "’s"):
        return None  # "Guy's"
    if start in strong:
        if not known and (key in lists.everyday or key in lists.places):
            return None
        return "strong"
    if before and before[-1] == "from" and _ROUTE.match(text, end):
        return None  # "the bus from Sandy to Bedford"
    if key not in lists.places and (_has_weak_cue(before) or _joined(text, last_name_end, start)):
        return "context"
    if key in _MONTH_NAMES and before and (before[-1] in _MONTH_CUES or before[-1][-1:].isdigit()):
        return None  # "in May", "12 June"
    if key not in lists.places and context:
        if key in lists.everyday and _opens_sentence(text, start) and _asks(text, end):
            return None  # "May the new manager fix the rota", "Will the nurse ring me?"
        if (
            key in lists.ordinary
            and key not in lists.anywhere
            and raw
            and raw[-1][:1].isupper()
            and start - last_name_end > 2
        ):
            return None  # "Salford Royal was brilliant": part of the name of a place
        return "context"
    if _follows_proper_noun(raw, lists):
        return None
    if key in lists.anywhere:
        return "list"
    if key not in lists.places:
        return "pair"
    return None


def _name_end(
    text: str, words: list[re.Match[str]], index: int, end: int, how: str, lists: _NameLists
) -> tuple[int | None, int]:
    """Where the name starting with a first name ending at ``end`` ends, and how many of the
    following capitalised ``words`` (from ``index``) it takes: a middle name and a surname.

    ``None`` if the words after it make it a place ("Rowan Ward", "John Radcliffe
    Hospital"), or a "pair" name has no surname.
    """
    name_end = end
    taken = 0
    while taken < 2 and index + taken < len(words):
        following = words[index + taken]
        if following.start() != name_end + 1 or text[name_end] != " ":
            break
        key = _fold(following.group())
        if key in _PLACE_AFTER:
            return None, taken + 1
        if key in _NEVER_NAMES or key in lists.places:
            break
        known = key in lists.surnames or key in lists.first
        if key in lists.everyday and (how == "pair" or taken or not known):
            break
        # An everyday first name takes a surname no list knows if it is no ordinary word
        # either ("Grace Adebayo", not "Will Tramadol" or "Hope Springs").
        if not known and (
            taken or (how == "pair" and (key in lists.ordinary or key.endswith(_DRUG_ENDINGS)))
        ):
            break
        name_end = following.end()
        taken += 1
    if how == "pair" and not taken:
        return None, 0
    after = _NEXT_WORD.match(text, name_end)
    if (
        after is not None
        and _fold(after.group(1)) in _PLACE_AFTER
        and after.group(1) not in _NOT_PLACES_AFTER
    ):
        return None, taken  # "Marie Curie nurses", not "took my dad Ron home"
    return name_end, taken


def _is_unusual_word(key: str, lists: _NameLists) -> bool:
    """Whether a folded word is none of the words that are never a name: everyday words,
    places, medicines, and words that make what follows a place ("St", "Royal")."""
    return (
        key not in lists.everyday
        and key not in lists.places
        and key not in _PLACE_BEFORE
        and not key.endswith(_DRUG_ENDINGS)
    )


def _untitled_names(text: str, skip: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Names without a title: from the name lists, and from what is said around them.

    ``skip`` holds the spans of the names found after a title, in order.

    TRICKY: each capitalised word is looked at once, with a bounded stretch of text on
    either side (three words before it, one pattern and two words after), so the time stays
    linear in the text.
    """
    lists = _name_lists()
    strong, lower_case = _strong_cues(text, lists)
    thanked, thanked_lower_case = _thanked(text, lists)
    yield from lower_case
    yield from thanked_lower_case
    yield from _lower_case_openings(text, lists)
    # The words between the names found after titles: those inside them are not read again.
    words: list[re.Match[str]] = []
    position = 0
    for start, end in [*skip, (len(text), len(text))]:
        if start > position:
            words.extend(_CAPITALISED.finditer(text, position, start))
        position = max(position, end)
    first = lists.first
    last_name_end = -1
    # The capitalised word before, if it was passed over: a name joined to it makes it one.
    passed: re.Match[str] | None = None
    index = 0
    while index < len(words):
        match = words[index]
        index += 1
        start = match.start()
        word = match.group()
        key = word.lower() if word.isascii() else _fold(word)
        context = match.start("context") >= 0
        # Most capitalised words are no known first name, follow no cue and come before no
        # name context: they are passed over here, before any closer look.
        if key not in first and start not in strong:
            if "-" in key:
                # "Kerry-Ann", "Smith-Jones": known by their first (or any) part.
                key = next(
                    (part for part in key.split("-") if part in first or part in lists.surnames),
                    key,
                )
            if (
                key not in first
                and not context
                and start not in thanked
                and not 0 <= start - last_name_end <= 8
            ):
                passed = match
                continue
        end = match.end()
        how = _how_named(text, start, end, key, lists, strong, thanked, last_name_end, context)
        if how is None:
            passed = match
            continue
        name_end, taken = _name_end(text, words, index, end, how, lists)
        index += taken
        if name_end is None:
            continue
        if _fold(text[start:name_end]) in _NAMED_AFTER_PEOPLE:
            continue  # "Marie Curie came to the house"
        if passed is not None and passed.end() + 1 == start and text[passed.end()] == " ":
            # "Tran Minh Anh", "Obiageli Nwosu the ward clerk": a surname right before a name
            # (said surname first), or a word no list knows right before a name that starts
            # with a surname or is said of a person (a first name no list knows), is part of
            # it; not "Oramorph Sarah gave me".
            passed_key = _fold(passed.group())
            if _is_unusual_word(passed_key, lists) and (
                passed_key in lists.surnames
                or (passed_key not in lists.ordinary and (key not in first or context))
            ):
                start = passed.start()
        elif passed is not None and _joined(text, passed.end(), start):
            # "Chidi and Abena on the night shift": an unusual word joined to the name after.
            passed_key = _fold(passed.group())
            if passed_key not in lists.ordinary and _is_unusual_word(passed_key, lists):
                yield passed.span()
        passed = None
        last_name_end = name_end
        yield start, name_end


# --- NHS numbers ---------------------------------------------------------------------------

# [0-9] rather than \d: \d also matches other scripts' digits, which int() would then accept.
_NHS_SHAPE = re.compile(r"[0-9]{3}([ -]?)[0-9]{3}\1[0-9]{4}")
# Not glued to a longer run of digits, including runs grouped with spaces or hyphens
# ("0161 943 476 5919" is a phone number, not an NHS number with a prefix).
_NHS_NUMBER = re.compile(
    r"[0-9](?<![0-9+].)(?<![0-9][ -].)[0-9]{2}([ -]?)[0-9]{3}\1[0-9]{4}(?![ -]?[0-9])"
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
# After the opening "(".
_BRACKETED_AREA_CODES = "|".join(
    rf"0[0-9]{{{n}}}\){_SEP}[0-9](?:{_SEP}[0-9]){{{8 - n},{9 - n}}}" for n in range(2, 6)
)
# The first character is matched, then what comes before it checked, then each form is
# chosen by what that character was: so the engine skips straight to "+", "0" and "(".
_PHONE = re.compile(
    r"[+0(](?<![\w+].)(?:"
    # +44 7700 900123, +44 (0)20 7946 0000, 0044 20 7946 0000, and the common +44 07700...
    rf"(?:(?<=\+)|(?<=0)0)44{_SEP}(?:\(0\){_SEP}|0)?[1-9](?:{_SEP}[0-9]){{8,9}}"
    rf"|(?<=\()(?:{_BRACKETED_AREA_CODES})"
    # 01632 960 123, 0161-496-0000, 0800 123 4567. Service numbers (111, 999) never match.
    rf"|(?<=0)(?:{_SEP}[0-9]){{9,10}}"
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
    r"[A-PR-UWYZ](?<!\w.)(?:(?<=G)IR[^\S\r\n]?0AA|"
    r"(?:[0-9]{1,2}"  # M1, B33
    r"|[A-HK-Y][0-9]{1,2}"  # CR2, DN55
    r"|[0-9][A-HJKPSTUW]"  # W1A
    r"|[A-HK-Y][0-9][ABEHMNPRVWXY])"  # SW1A
    r"[^\S\r\n]?[0-9][ABD-HJLNP-UW-Z]{2})\b"
    # "ward A1 2nd floor": a lower-case inward code that reads as an ordinal is prose, not a
    # postcode. Upper case ("B33 8TH") is still taken as a postcode. (Checked here rather
    # than on each match after: thousands of postcodes cost a call each.)
    r"(?-i:(?<![0-9]st)(?<![0-9]nd)(?<![0-9]rd)(?<![0-9]th))",
    re.IGNORECASE,
)


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
# (Like the patterns below, this one opens with a set of letters and checks the word
# boundary just after the first, so the engine skips straight to those letters; opened with
# "\b" it tried every position in the text.)
_DOB_CUE = re.compile(
    r"[db](?<!\w.)(?:(?<=d)(?:\.?o\.?b(?![a-z])\.?|ate\s+of\s+birth\b)"
    r"|(?<=b)(?:irth\s*date|orn)\b)",
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


# Where a date can start: a run of digits, or a month's name (at the start of a word).
_DIGITS = re.compile(r"[0-9]++")
_MONTH_START = re.compile(_tree(_cased(_MONTHS)))


def _starts_date(text: str, start: int) -> bool:
    """Whether a month's name at ``start`` begins a word (as "\\b" has it: "6-March" does)."""
    return start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_")


def _dates_of_birth(text: str) -> Iterator[tuple[int, int]]:
    """The first real date after each DOB cue, if it starts close enough to the cue.

    TRICKY: searching the rest of the text for the next date after every cue took time
    proportional to cues x length (seconds for a box of repeated "dob"), and finding every
    date in the text first took a pass of the slow date pattern over all of it. Only the
    stretches within reach after the cues are read for where a date could start (merged, so
    each character is read once), and the date pattern is tried at those places, once each.
    These are the dates ``_DATE.finditer(text, cue.end())`` would give: no date runs across
    the end of a cue (a cue ends in "b", "b.", "birth", "date" or "born", and no date has
    those letters), and a date that starts inside one that is not a calendar date
    ("31/02/1956") cannot be a calendar date itself.
    """
    cues = [cue.end() for cue in _DOB_CUE.finditer(text)]
    if not cues:
        return
    starts: list[int] = []
    region_start = region_end = -1
    for cue_end in [*cues, len(text) + _DOB_CUE_REACH + 8]:
        if cue_end > region_end:
            if region_end >= 0:
                found = _DIGITS.finditer(text, region_start, region_end)
                starts.extend(digits.start() for digits in found)
                found = _MONTH_START.finditer(text, region_start, region_end)
                starts.extend(month.start() for month in found if _starts_date(text, month.start()))
            region_start = cue_end
        # Three letters past the reach, for a month's name that starts at its edge.
        region_end = min(len(text), cue_end + _DOB_CUE_REACH + 4)
    # The date starting at each place, if it is a calendar date, worked out once although
    # several cues see it.
    starts.sort()
    dates: dict[int, tuple[re.Match[str] | None, bool]] = {}
    for cue_end in cues:
        covered = -1
        # A date that is not a calendar date (31/02/1956) is passed over for the next, and so
        # is every place inside it, as ``finditer`` would.
        for index in range(bisect.bisect_left(starts, cue_end), len(starts)):
            start = starts[index]
            if start < covered:
                continue
            if start - cue_end > _DOB_CUE_REACH:
                break
            if start not in dates:
                date = _DATE.match(text, start)
                dates[start] = (date, date is not None and _is_calendar_date(date))
            date, real = dates[start]
            if date is None:
                continue
            # (Only where a date starts: "dob 7. 12/03/1956" has a break before "12", but a
            # place where no date starts, such as the "1" in "DOB.1990s", says nothing.)
            if _SENTENCE_BREAK.search(text, cue_end, start):
                break
            if real:
                yield date.span()
                break
            covered = date.end()


# --- Links ---------------------------------------------------------------------------------

_URL = re.compile(
    r"[hw](?<!\w.)(?:(?<=h)ttps?://[^\s<>\"]+"
    r"|(?<=w)ww\.[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:[/?#:][^\s<>\"]*)?)",
    re.IGNORECASE,
)
# A link written without "http" or "www": "ourjourney.blogspot.com", "instagram.com/our_page".
# A dotted name in lower case (but for its first letter, which may open a sentence) ending in
# one of the commonest top-level domains, then perhaps a path. "NHS.uk" is how people write
# the organisation's name, not a link. Looked for only if one of those endings is in the text
# (_BARE_DOMAIN_ENDING).
# (The two-part endings first: "org.uk", not "org".)
_TOP_LEVEL_DOMAINS = r"(?:co\.uk|org\.uk|com|org|net|uk|io|info|blog)"
# (Looked for first as plain strings: quicker than the pattern in a text with many dots.)
_DOMAIN_ENDINGS = (".com", ".org", ".net", ".uk", ".io", ".info", ".blog")
# (Opening with the dot, so the engine skips from one dot to the next.)
_BARE_DOMAIN_ENDING = re.compile(rf"\.(?<=[a-z0-9-].){_TOP_LEVEL_DOMAINS}(?![A-Za-z0-9-])")
_BARE_DOMAIN = re.compile(
    # Starting a word (not the "nhs.net" of an email address or the rest of a link found
    # already), and not "www." (a link found already).
    r"(?<![\w.@/:%+-])(?!www\.)[A-Za-z0-9][a-z0-9-]*+(?:\.[a-z0-9-]+)*?"
    rf"\.{_TOP_LEVEL_DOMAINS}(?![A-Za-z0-9-])(?:/[^\s<>\"]*)?"
)
# The characters a domain can have, read backwards from its ending (on the reversed text).
_DOMAIN_BACKWARDS = re.compile(r"[A-Za-z0-9.-]*")
# The longest domain name there can be.
_DOMAIN_LONGEST = 253


def _bare_domains(text: str) -> Iterator[tuple[int, int]]:
    """Links written as a bare domain, perhaps with a path: "ourblog.blogspot.com/post".

    TRICKY: matching the pattern from every word start in a long text with a ".com" in it
    took a fifth of the whole scan. Each ending is found first, and the domain before it
    read backwards (on the reversed text, as for emails), no further than the end of the
    ending before it and the longest domain there can be, so the text is read a fixed
    number of times.
    """
    backwards = text[::-1]
    length = len(text)
    previous_end = 0
    match_backwards = _DOMAIN_BACKWARDS.match
    for ending in _BARE_DOMAIN_ENDING.finditer(text):
        dot = ending.start()
        if dot < previous_end:
            continue
        floor = max(previous_end, dot - _DOMAIN_LONGEST)
        # (The pattern matches the empty string, so it always matches.)
        run = match_backwards(backwards, length - dot, length - floor)
        start = length - run.end()  # type: ignore[union-attr]
        previous_end = dot
        found = _BARE_DOMAIN.match(text, start)
        if found is not None and found.end() > dot:
            end = start + _url_end(found.group())
            if end > dot:
                previous_end = end
                yield start, end


# Punctuation that ends a sentence or closes a quotation rather than belonging to the link.
_URL_TRAILING = ".,;:!?'\"’”"
_URL_CLOSERS = {")": "(", "]": "[", "}": "{"}


def _url_end(url: str) -> int:
    """The length of ``url`` without trailing punctuation that belongs to the prose."""
    if url[-1] not in _URL_TRAILING and url[-1] not in _URL_CLOSERS:
        return len(url)  # (The commonest case: thousands of links are quick.)
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


# --- Hospital and record numbers ----------------------------------------------------------

# "hospital number", "hosp no.", "MRN", "record number", "patient no", "unit number", "case
# number", "ref", "reference number", and a trust's code before "number" ("RXH number").
_NUMBER_WORD = r"(?i:number|no\b\.?|num\b\.?|#)"
# TRICKY: two patterns, each opening with a letter the engine can skip to (see _tree).
# "hospital number": these words need "number" or "no" after them; "ref" and "MRN" do not.
_RECORD_WORDS = _word_set("hospital hosp record patient unit case chi pas") | {
    "medical record",
    "health record",
}
_REFERENCE_WORDS = _word_set("mrn ref reference")
_RECORD_CUE = re.compile(
    rf"(?P<cue>{_tree(_cased(_RECORD_WORDS | _REFERENCE_WORDS))})\.?"
    rf"(?P<number>[^\S\r\n]*{_NUMBER_WORD})?(?![\w])"
)
_TRUST_CODE_CUE = re.compile(rf"[A-Z]{{3}}[^\S\r\n]+{_NUMBER_WORD}")
# A record number: digits, perhaps with a short letter prefix, a letter or two among them
# and groups joined by "/" or "-" (RTH1234567, 2024/00451, PALS-22817, RXN 778 2231,
# 00A92213). At least four digits, checked after.
_RECORD_ID = re.compile(
    r"(?<![\w/-])"
    # Four digits near the start, so that "ref 2" and the like are passed over by the engine
    # (the whole number's digits are counted again after: there are other shapes).
    # Possessive (a letter or separator given back could only be followed by what failed):
    # a letter-led word was retried once for each of its first five letters.
    # (A letter or two among the digits may come after the first three: "00A92213".)
    r"(?=[A-Za-z]{0,5}+(?:[^\S\r\n]|[/-])?+(?:[0-9]{1,3}+[A-Za-z]{1,2}+(?=[0-9]))?+"
    r"(?:[0-9](?:[^\S\r\n]|[/-])?+){4})"
    r"(?:[A-Za-z]{1,5}[/-]?|[A-Z]{1,5}[^\S\r\n])?[0-9]+(?:[A-Za-z]{1,2}[0-9]+)?"
    r"(?:[/-](?:[A-Za-z]{1,5}|[0-9]+)|[^\S\r\n][0-9]{3,}){0,4}(?![\w/-])"
)
_NO_DIGITS = str.maketrans("", "", "0123456789")
# How far after a cue a record number may start ("the MRN on the blood forms was 55013277").
_RECORD_CUE_REACH = 30
# Bounds the stretch of text read for an identifier that starts within reach.
_RECORD_ID_LONGEST = 40


def _record_numbers(text: str) -> Iterator[tuple[int, int]]:
    """The first identifier after each record-number cue, if it starts close enough.

    TRICKY: as with dates of birth, searching after every cue could read the same stretch
    once per cue. The stretches after the cues are merged first, and each is read once.
    """
    # (A comprehension, not a loop: there can be tens of thousands of cues.) A cue must not
    # be inside a word (_starts_word, written out), and needs "number" after it unless it is
    # a reference word ("ref", "MRN").
    cues = [
        cue.end()
        for cue in _RECORD_CUE.finditer(text)
        if (cue.group("number") is not None or cue.group("cue").lower() in _REFERENCE_WORDS)
        and not (
            (start := cue.start()) and (text[start - 1].isalnum() or text[start - 1] in "_-'’")
        )
    ]
    cues += [cue.end() for cue in _TRUST_CODE_CUE.finditer(text) if _starts_word(text, cue.start())]
    cues.sort()
    if not cues:
        return
    ids: list[re.Match[str]] = []
    reach = _RECORD_CUE_REACH + _RECORD_ID_LONGEST
    # A region starts at each cue more than ``reach`` after the one before, and runs to
    # ``reach`` after the last cue before the next region starts.
    region_starts = [
        cue for cue, before in zip(cues[1:], cues, strict=False) if cue > before + reach
    ]
    region_ends = [
        before + reach for cue, before in zip(cues[1:], cues, strict=False) if cue > before + reach
    ]
    for region_start, region_end in zip(
        [cues[0], *region_starts], [*region_ends, cues[-1] + reach], strict=True
    ):
        ids.extend(_RECORD_ID.finditer(text, region_start, min(len(text), region_end)))
    # Too few digits to be a number on a wristband ("ref 2"): passed over for the next.
    spans = [
        found.span()
        for found in ids
        if len(number := found.group()) - len(number.translate(_NO_DIGITS)) >= 4
    ]
    starts = [start for start, _ in spans]
    count = len(starts)
    sentence_break = _SENTENCE_BREAK.search
    taken = -1
    index = 0
    for cue_end in cues:
        # The first identifier starting at or after the cue's end (both lists are in order, so
        # one pointer moved forward does for every cue).
        while index < count and starts[index] < cue_end:
            index += 1
        if index == count:
            break
        start = starts[index]
        if (
            start > taken
            and start - cue_end <= _RECORD_CUE_REACH
            # (Mostly a space or two: no need to search those for a sentence's end.)
            and (not text[cue_end:start].strip(" ") or not sentence_break(text, cue_end, start))
        ):
            taken = start
            yield spans[index]


# --- Street addresses ----------------------------------------------------------------------

_STREET_WORD = rf"(?:[{_UPPER}][{_LOWER}]+(?:['’]s)?|St\.?)"
_STREET_TYPES = _word_set(
    """
    Street St Road Rd Avenue Ave Lane Close Drive Crescent Way Gardens Court Place Terrace
    Grove Mews Row Walk Square Hill Park Rise View Green Parade Vale Croft Fold Brow Bank
    Meadow Meadows Chase Gate Mount Heights Wynd Yard Villas Cottages Boulevard Embankment
    Quay Wharf
    """
)
_STREET_TYPE = _tree(_STREET_TYPES)
# A house number (12, 14b) then one to three capitalised words and a street type: "12 Acacia
# Avenue", "15 St John's Terrace". "Flat 3, " before it is part of the address.
_ADDRESS = re.compile(
    # The digit first and the look-behind after it, so the engine can skip to digits.
    rf"[0-9](?<![\w/.,£$-].)[0-9]{{0,3}}[A-Za-z]?,?{_GAP}(?:{_STREET_WORD}{_GAP}){{1,3}}"
    rf"{_STREET_TYPE}\b"
)
# "Flat 3/1" is a Scottish tenement flat: the floor, then the door.
_FLAT = re.compile(
    rf"(?i:flat|apartment|apt)\.?{_GAP}[0-9]{{1,4}}[A-Za-z]?(?:/[0-9]{{1,2}})?,?{_GAP}$"
)
# Welsh street names put the street type first: "27 Heol y Llan", "4 Ffordd Glyndwr", "9 Lôn
# Las", "12 Stryd Fawr" (heol, ffordd: road; stryd: street; lôn: lane; rhodfa: avenue; cilgant:
# crescent), often with "y", "yr" or "'r" ("the") before the next word.
_WELSH_STREET_TYPES = ("Heol", "Ffordd", "Stryd", "Lon", "Lôn", "Rhodfa", "Cilgant")
_WELSH_STREET_TYPE = _tree(_WELSH_STREET_TYPES)
_WELSH_ADDRESS = re.compile(
    rf"[0-9](?<![\w/.,£$-].)[0-9]{{0,3}}[A-Za-z]?,?{_GAP}{_WELSH_STREET_TYPE}"
    rf"(?:{_GAP}(?:y|yr|['’]r))?(?:{_GAP}{_STREET_WORD}){{1,2}}\b"
)


# Any street type, as a word, Welsh ones included: a text without one has no address, and
# is not read for one.
_ANY_STREET_TYPE = re.compile(rf"{_tree(_STREET_TYPES | set(_WELSH_STREET_TYPES))}\b")


# "my new address is 46 mill street", "I live at 3 the crescent": after these words an
# address may be written in lower case.
_ADDRESS_CUE = re.compile(
    # (Opening with a tree of letters, so the engine skips to where a cue could start.)
    rf"(?:{_tree(_cased(_word_set('address live lives living moved')))})"
    rf"(?:(?<=[ed]){_GAP}(?:at|to))?(?:{_GAP}is)?[,:]?{_GAP}(?=[0-9])"
)
_CUED_ADDRESS = re.compile(
    rf"[0-9]{{1,4}}[A-Za-z]?,?{_GAP}(?:[A-Za-z]+(?:['’]s)?{_GAP}){{1,3}}(?i:{_STREET_TYPE})\b"
)


def _addresses(text: str) -> Iterator[tuple[int, int]]:
    """Street addresses with a house number, and the flat before them if there is one."""
    for cue in _ADDRESS_CUE.finditer(text):
        if not _starts_word(text, cue.start()):
            continue
        address = _CUED_ADDRESS.match(text, cue.end())
        if address is not None:
            # (Found again below if it is capitalised: the same span twice is one finding.)
            yield address.span()
    if not _ANY_STREET_TYPE.search(text):
        return
    # (A search for each Welsh word, only in a text with a street type of either kind.)
    if any(street_type in text for street_type in _WELSH_STREET_TYPES):
        for match in _WELSH_ADDRESS.finditer(text):
            start = match.start()
            flat = _FLAT.search(text, max(0, start - 24), start)
            yield (flat.start() if flat else start), match.end()
    for match in _ADDRESS.finditer(text):
        start = match.start()
        flat = _FLAT.search(text, max(0, start - 24), start)
        yield (flat.start() if flat else start), match.end()


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
    titled: list[tuple[int, int]] = []
    for match in _NAME.finditer(text):
        start = match.start()
        if start and (text[start - 1].isalnum() or text[start - 1] in "_-'’"):
            continue  # inside a word (_starts_word, written out: there can be thousands)
        lower = match.group("lower")
        if lower is not None and not _is_lower_case_surname(match.group("title"), lower):
            continue
        if lower is None and _is_ordinary_word_after_title(text, match):
            continue
        titled.append(match.span())
        add((*match.span(), rank, Kind.NAME))
    for start, end in _untitled_names(text, titled):
        add((start, end, rank, Kind.NAME))
    if _DIGIT.search(text):
        rank = _SPECIFICITY[Kind.RECORD_NUMBER]
        for start, end in _record_numbers(text):
            add((start, end, rank, Kind.RECORD_NUMBER))
        rank = _SPECIFICITY[Kind.ADDRESS]
        for start, end in _addresses(text):
            add((start, end, rank, Kind.ADDRESS))
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
    if "." in text and any(ending in text for ending in _DOMAIN_ENDINGS):
        for start, end in _bare_domains(text):
            add((start, end, rank, Kind.URL))
    return found


_new_object = object.__new__


def _finding(kind: Kind, start: int, end: int, text: str) -> Finding:
    """``Finding(kind, start, end, text[start:end], REPLACEMENTS[kind])``, made faster.

    TRICKY: a frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``,
    which for thousands of findings (a crafted text of postcodes) took a fifth of the time.
    Filling the new object's ``__dict__`` at once gives the same object.
    """
    finding = _new_object(Finding)
    finding.__dict__.update(
        kind=kind, start=start, end=end, text=text[start:end], replacement=REPLACEMENTS[kind]
    )
    return finding


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
        return [_finding(kind, start, end, text) for start, end, _, kind in candidates]
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
    return [_finding(kind, start, end, text) for start, end, _, kind in kept]


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
