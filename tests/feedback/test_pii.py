"""Personal-detail detection for moderators: what is flagged, what is not, and redaction.

Pure Python: these tests need neither Django nor a database.
"""

from __future__ import annotations

import gc
import signal
from collections.abc import Callable
from itertools import pairwise

import pytest

from feedback import pii
from feedback.pii import (
    REPLACEMENTS,
    Finding,
    Kind,
    find_personal_details,
    highlight,
    is_valid_nhs_number,
    redact,
)


def _found(text: str) -> list[tuple[str, str]]:
    """(kind, matched text) pairs, the shape most assertions want."""
    return [(finding.kind, finding.text) for finding in find_personal_details(text)]


def _kinds_found(text: str, kind: Kind) -> list[str]:
    return [text for found_kind, text in _found(text) if found_kind == kind]


def _modulus_11_check_digit(first_nine: str) -> int | None:
    """An independent statement of the NHS algorithm, to generate numbers for the tests."""
    total = sum(
        weight * int(digit) for weight, digit in zip(range(10, 1, -1), first_nine, strict=True)
    )
    check = (11 - total % 11) % 11
    return None if check == 10 else check


# --- NHS number validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "943 476 5919",
        "9434765919",
        "943-476-5919",
        "401 023 2137",
        "485 777 3457",
        "987 654 3210",  # check value 11, so the check digit is 0
        "450 557 7104",
        "999 000 1111",
        " 943 476 5919 ",
    ],
)
def test_nhs_numbers_with_a_valid_check_digit_are_valid(value: str) -> None:
    assert is_valid_nhs_number(value)


@pytest.mark.parametrize("first_nine", ["123456788", "640000000", "300200100", "012345678"])
def test_nhs_numbers_generated_with_the_algorithm_are_valid(first_nine: str) -> None:
    check = _modulus_11_check_digit(first_nine)
    assert check is not None
    assert is_valid_nhs_number(f"{first_nine}{check}")
    assert not is_valid_nhs_number(f"{first_nine}{(check + 1) % 10}")


@pytest.mark.parametrize(
    "value",
    [
        "485 777 3456",  # wrong check digit (should be 7)
        "943 476 5918",
        "401 023 2138",
        "123 456 7890",  # 123456789 needs check value 10, which is never issued
        "1234567891",
        "999 123 4560",  # also a check value of 10
        "943 476 591",  # 9 digits
        "943476591",
        "943 476 59190",  # 11 digits
        "94347659190",
        "943 476 591A",  # letters
        "ABC DEF GHIJ",
        "943 476-5919",  # mixed separators
        "9434 76 5919",  # wrong grouping
        "943  476  5919",
        "",
    ],
)
def test_invalid_nhs_numbers_are_rejected(value: str) -> None:
    assert not is_valid_nhs_number(value)


def test_non_ascii_digits_are_not_nhs_numbers() -> None:
    # Arabic-Indic digits for 9434765919: int() accepts them, the NHS does not issue them.
    assert not is_valid_nhs_number("٩٤٣٤٧٦٥٩١٩")


# --- NHS numbers in text ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", ["943 476 5919", "9434765919", "943-476-5919", "401 023 2137", "485 777 3457"]
)
def test_nhs_numbers_with_a_valid_check_digit_are_found(number: str) -> None:
    text = f"My NHS number is {number}, if that helps."
    assert _found(text) == [(Kind.NHS_NUMBER, number)]
    [finding] = find_personal_details(text)
    assert text[finding.start : finding.end] == number
    assert finding.replacement == "[NHS number removed]"


@pytest.mark.parametrize(
    "text",
    [
        "Reference 485 777 3456 on the letter.",  # fails the check digit
        "Reference 123 456 7890 on the letter.",  # check value 10
        "Order 12943 476 5919 arrived.",  # part of a longer digit run
        "Order 943 476 59190 arrived.",
        "Order 1 943 476 5919 arrived.",  # a grouped run that continues before
        "Order 943 476 5919 1 arrived.",  # ...or after
    ],
)
def test_ten_digit_runs_that_are_not_nhs_numbers_are_not_reported_as_such(text: str) -> None:
    assert _kinds_found(text, Kind.NHS_NUMBER) == []


# --- Phone numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "01632 960 123",
        "07700 900123",
        "07700900123",
        "+44 7700 900123",
        "+447700900123",
        "+44 (0)20 7946 0000",
        "+44 20 7946 0000",
        "0044 20 7946 0000",
        "(020) 7946 0000",
        "(01632) 960123",
        "0161-496-0000",
        "0800 123 4567",
        "020 7946 0000",
    ],
)
def test_uk_phone_numbers_are_found(number: str) -> None:
    text = f"Ring the ward on {number}."
    assert _found(text) == [(Kind.PHONE, number)]
    assert find_personal_details(text)[0].replacement == "[phone number removed]"


@pytest.mark.parametrize(
    "text",
    [
        "I rang 111 and then 999.",
        "Call 111, or 999 in an emergency.",
        "Call 0800 111",  # too few digits for a national number
        "Call 01632 9601",
        "The account was 077009001234.",  # longer than any UK number
        "It cost 1,200 pounds and took 45 minutes.",
        "We waited from 10:30 to 14:45.",
        "Ward 12, bed 3, room 0.5",
    ],
)
def test_service_numbers_and_other_figures_are_not_phone_numbers(text: str) -> None:
    assert _kinds_found(text, Kind.PHONE) == []


def test_a_phone_number_stops_before_an_unrelated_figure() -> None:
    assert _found("I rang 07700 900123 3 times") == [(Kind.PHONE, "07700 900123")]


def test_an_invalid_nhs_shaped_number_may_still_be_a_phone_number() -> None:
    # 016 329 6015 fails the NHS check digit but is a 10-digit national number.
    assert not is_valid_nhs_number("016 329 6015")
    assert _found("Call 016 329 6015 please") == [(Kind.PHONE, "016 329 6015")]


def test_an_nhs_number_beats_a_phone_number_over_the_same_digits() -> None:
    # 016 329 6014 passes the NHS check digit and also has the shape of a phone number.
    assert is_valid_nhs_number("016 329 6014")
    assert _found("Number 016 329 6014 please") == [(Kind.NHS_NUMBER, "016 329 6014")]


# --- Email addresses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "jo.bloggs@nhs.net",
        "JO.BLOGGS@NHS.NET",
        "jo+feedback@example.co.uk",
        "patient_41@mail.example.org",
        "o.neill-smith@trust.nhs.uk",
    ],
)
def test_email_addresses_are_found(address: str) -> None:
    text = f"Email me at {address}."
    assert _found(text) == [(Kind.EMAIL, address)]
    assert find_personal_details(text)[0].replacement == "[email removed]"


@pytest.mark.parametrize(
    "text",
    [
        "Tweet @carevoice about it.",
        "Staff @ the front desk were kind.",
        "The ratio was 2@3 somehow.",
        "Write to jo@localhost.",
    ],
)
def test_things_that_are_not_email_addresses_are_ignored(text: str) -> None:
    assert _kinds_found(text, Kind.EMAIL) == []


def test_an_email_beats_a_link_inside_it() -> None:
    assert _found("Mail jo@www.nhs.uk today") == [(Kind.EMAIL, "jo@www.nhs.uk")]


def test_a_link_that_contains_an_email_is_kept_whole() -> None:
    text = "See https://example.org/contact?to=jo@nhs.net for details"
    assert _found(text) == [(Kind.URL, "https://example.org/contact?to=jo@nhs.net")]


# --- Postcodes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "postcode",
    ["SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "ls1 4ap", "EC1A1BB", "W1A 0AX"],
)
def test_uk_postcodes_are_found(postcode: str) -> None:
    text = f"I live at {postcode}, near the park."
    assert _found(text) == [(Kind.POSTCODE, postcode)]
    assert find_personal_details(text)[0].replacement == "[postcode removed]"


@pytest.mark.parametrize(
    "text",
    [
        "I was on ward A1 2nd floor.",  # reads as an ordinal, not a postcode
        "Bed B12 3rd from the door.",
        "Took the M1 motorway at 1am.",
        "Covid 19 was bad on ward 7B.",
        "I had an ECG and a CT scan in A and E.",
        "The QV1 1CC clinic",  # C is never used in the inward code
        "Paracetamol 500mg 2 tablets",
    ],
)
def test_ordinary_words_and_codes_are_not_postcodes(text: str) -> None:
    assert _kinds_found(text, Kind.POSTCODE) == []


# --- Dates of birth --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("DOB 12/03/1956", "12/03/1956"),
        ("dob: 12-03-56", "12-03-56"),
        ("D.O.B. 12.3.1956", "12.3.1956"),
        ("Date of birth: 12 March 1956", "12 March 1956"),
        ("I was born on the 12th March 1956", "12th March 1956"),
        ("born March 12 1956 in Leeds", "March 12 1956"),
        ("I was born in Leeds on 12 Mar 1956", "12 Mar 1956"),
        ("born 1956-03-12", "1956-03-12"),
    ],
)
def test_dates_after_a_date_of_birth_cue_are_found(text: str, date: str) -> None:
    assert _found(text) == [(Kind.DATE_OF_BIRTH, date)]
    [finding] = find_personal_details(text)
    # Only the date is covered: the cue stays so the story still reads naturally.
    assert redact(text, [finding]) == text.replace(date, "[date of birth removed]")


@pytest.mark.parametrize(
    "text",
    [
        "I was admitted on 12/03/2024.",  # a date alone is not a date of birth
        "My appointment was on 12 March 2024.",
        "I was born in the 1950s and admitted on 12/03/2024 after a long wait.",  # cue too far
        "I was born. On 12/03/2024 I fell ill.",  # cue in another sentence
        "Date of birth\n12/03/1956",  # cue on another line
        "born 31/02/1956",  # no such date
        "born 12/13/1956",
        "The doberman bit me on 12/03/2024.",
    ],
)
def test_dates_without_a_nearby_cue_are_not_dates_of_birth(text: str) -> None:
    assert _kinds_found(text, Kind.DATE_OF_BIRTH) == []


def test_only_the_first_date_after_a_cue_is_a_date_of_birth() -> None:
    text = "born 1/3/56, seen 2/3/56"
    assert _found(text) == [(Kind.DATE_OF_BIRTH, "1/3/56")]


# --- Links -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("See https://example.org/page?a=1.", "https://example.org/page?a=1"),
        ("(see http://example.org/a)", "http://example.org/a"),
        ("Go to www.nhs.uk/conditions, then", "www.nhs.uk/conditions"),
        ("Visit WWW.Example.co.uk!", "WWW.Example.co.uk"),
        (
            "Wiki: https://en.wikipedia.org/wiki/Ward_(hospital).",
            "https://en.wikipedia.org/wiki/Ward_(hospital)",
        ),
        ('"https://example.org/x"', "https://example.org/x"),
    ],
)
def test_links_are_found_without_trailing_punctuation(text: str, link: str) -> None:
    assert _found(text) == [(Kind.URL, link)]
    assert find_personal_details(text)[0].replacement == "[link removed]"


@pytest.mark.parametrize(
    "text",
    ["The www was down.", "I said http is a protocol.", "www. nothing here", "The NHS.uk site"],
)
def test_things_that_are_not_links_are_ignored(text: str) -> None:
    assert _kinds_found(text, Kind.URL) == []


# --- Names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Dr Smith was kind.", "Dr Smith"),
        ("Thanks to Nurse Jo Bloggs today.", "Nurse Jo Bloggs"),
        ("and mr. O'Neill said", "mr. O'Neill"),
        ("Dr Jean-Luc Picard saw me.", "Dr Jean-Luc Picard"),
        ("DR. Patel came round.", "DR. Patel"),
        ("Sister Mary Brown ran the ward.", "Sister Mary Brown"),
        ("Matron McDonald's team", "Matron McDonald"),
        ("Professor Siân Williams explained", "Professor Siân Williams"),
        ("Dr J. Smith explained", "Dr J. Smith"),
        ("Mx Taylor, Ms Khan, Mrs Patel", "Mx Taylor"),
        ("I miss Nurse Jo Bloggs.", "Nurse Jo Bloggs"),
        ("Dame Judi and Sir Lancelot", "Dame Judi"),
    ],
)
def test_names_after_titles_are_found(text: str, name: str) -> None:
    findings = find_personal_details(text)
    assert findings[0].kind == Kind.NAME
    assert findings[0].text == name
    assert findings[0].replacement == "[name removed]"


def test_every_name_in_a_list_is_found() -> None:
    assert _found("Mx Taylor, Ms Khan, Mrs Patel, Miss Jones and Prof. Lee") == [
        (Kind.NAME, "Mx Taylor"),
        (Kind.NAME, "Ms Khan"),
        (Kind.NAME, "Mrs Patel"),
        (Kind.NAME, "Miss Jones"),
        (Kind.NAME, "Prof. Lee"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "The dr said to rest.",
        "Dr said I could go home.",  # no name after the title
        "the dr was late",  # a lower-case word after a title is a name only if a surname
        "dr said it was a virus",  # ...that is not also an everyday word
        "I miss home.",  # ...and only after an abbreviated title
        "The nurses were lovely.",
        "Drew helped me to the car.",  # "Dr" inside a word
        "I saw the doctor. Then I went home.",  # a full stop after a full word ends a sentence
        "I saw the Dr. Then I went home.",  # a capitalised word that opens sentences
        "Thank you Nurse. The care was great.",
        "Dr\nSmith",  # a line break is not a gap between title and name
    ],
)
def test_titles_without_a_capitalised_name_are_ignored(text: str) -> None:
    assert _kinds_found(text, Kind.NAME) == []


# --- Overlaps and ordering -------------------------------------------------------------------


def test_findings_are_sorted_and_never_overlap() -> None:
    text = (
        "Email jo@www.nhs.uk or ring 016 329 6014; DOB 12/03/1956. Dr Smith at "
        "https://example.org/Dr-Smith, SW1A 1AA."
    )
    findings = find_personal_details(text)
    assert [f.start for f in findings] == sorted(f.start for f in findings)
    for earlier, later in pairwise(findings):
        assert earlier.end <= later.start
    assert [f.kind for f in findings] == [
        Kind.EMAIL,
        Kind.NHS_NUMBER,
        Kind.DATE_OF_BIRTH,
        Kind.NAME,
        Kind.URL,
        Kind.POSTCODE,
    ]


def test_text_without_personal_details_has_no_findings() -> None:
    assert find_personal_details("") == []
    assert find_personal_details("The staff on ward 7 were kind and the food was fine.") == []


def test_kinds_and_replacements_are_plain_strings() -> None:
    assert {str(kind) for kind in Kind} == {
        "name",
        "nhs_number",
        "phone",
        "email",
        "postcode",
        "date_of_birth",
        "url",
        "record_number",
        "address",
    }
    assert set(REPLACEMENTS) == set(Kind)
    assert Kind.NHS_NUMBER == "nhs_number"


# --- redact() --------------------------------------------------------------------------------


def test_redact_replaces_every_finding() -> None:
    text = "Dr Smith rang me on 07700 900123."
    assert redact(text, find_personal_details(text)) == (
        "[name removed] rang me on [phone number removed]."
    )


def test_redact_applies_only_the_findings_given() -> None:
    text = "Dr Smith rang me on 07700 900123."
    name, phone = find_personal_details(text)
    assert redact(text, [phone]) == "Dr Smith rang me on [phone number removed]."
    assert redact(text, [name]) == "[name removed] rang me on 07700 900123."
    assert redact(text, []) == text


def test_redact_uses_edited_replacement_text_whatever_its_length() -> None:
    text = "Nurse Jo Bloggs and Dr Smith were great."
    jo, smith = find_personal_details(text)
    edited = [
        Finding(jo.kind, jo.start, jo.end, jo.text, "a nurse"),
        Finding(
            smith.kind,
            smith.start,
            smith.end,
            smith.text,
            "[the consultant, whose name we removed]",
        ),
    ]
    assert redact(text, edited) == "a nurse and [the consultant, whose name we removed] were great."


def test_redact_does_not_depend_on_the_order_of_findings() -> None:
    text = "Dr Smith, 07700 900123, jo@nhs.net"
    findings = find_personal_details(text)
    assert redact(text, list(reversed(findings))) == redact(text, findings)


def test_redact_ignores_a_finding_given_twice() -> None:
    text = "Ring 07700 900123"
    [phone] = find_personal_details(text)
    assert redact(text, [phone, phone]) == "Ring [phone number removed]"


def test_redact_refuses_stale_offsets() -> None:
    findings = find_personal_details("Dr Smith rang me on 07700 900123.")
    edited_story = "Yesterday Dr Smith rang me on 07700 900123."
    with pytest.raises(ValueError, match="scan the text again"):
        redact(edited_story, findings)


def test_redact_refuses_a_finding_beyond_the_end_of_the_text() -> None:
    finding = Finding(Kind.NAME, 40, 48, "Dr Smith", "[name removed]")
    with pytest.raises(ValueError, match="outside the text"):
        redact("Dr Smith", [finding])


def test_redact_refuses_overlapping_findings() -> None:
    text = "Ring 07700 900123"
    whole = Finding(Kind.PHONE, 5, 17, "07700 900123", "[phone number removed]")
    part = Finding(Kind.PHONE, 11, 17, "900123", "[digits removed]")
    with pytest.raises(ValueError, match="overlaps"):
        redact(text, [whole, part])


# --- highlight() -----------------------------------------------------------------------------


def test_highlight_splits_text_into_plain_and_marked_segments() -> None:
    text = "Dr Smith rang 07700 900123 twice"
    name, phone = find_personal_details(text)
    assert highlight(text, [name, phone]) == [
        ("Dr Smith", name),
        (" rang ", None),
        ("07700 900123", phone),
        (" twice", None),
    ]


def test_highlight_segments_join_back_into_the_text() -> None:
    text = "DOB 12/03/1956. Email jo@nhs.net, postcode M1 1AE"
    segments = highlight(text, find_personal_details(text))
    assert "".join(segment for segment, _ in segments) == text
    assert [finding.kind for _, finding in segments if finding] == [
        Kind.DATE_OF_BIRTH,
        Kind.EMAIL,
        Kind.POSTCODE,
    ]
    # A finding at the very end leaves no empty plain segment behind.
    assert segments[-1][0] == "M1 1AE"


def test_highlight_without_findings_is_one_plain_segment() -> None:
    assert highlight("All fine.", []) == [("All fine.", None)]
    assert highlight("", []) == []


def test_highlight_refuses_stale_offsets() -> None:
    findings = find_personal_details("Dr Smith was kind")
    with pytest.raises(ValueError):
        highlight("Dr Jones was kind", findings)


# --- A whole story ---------------------------------------------------------------------------


def test_a_realistic_story_has_each_detail_found_and_redacted() -> None:
    story = (
        "My mum (DOB 04/07/1938) was admitted to the Royal on 12/03/2024 after a fall. "
        "Nurse Jo Bloggs and Dr Jean-Luc Picard were wonderful, but nobody rang me on "
        "07700 900123 when she was moved. Her NHS number is 943 476 5919 and it was on "
        "the wrong wristband! I live at LS1 4AP, about an hour away, so I called 111 and "
        "eventually emailed pals@example.nhs.uk. The leaflet said to see "
        "www.example.nhs.uk/visiting, which was out of date."
    )
    assert _found(story) == [
        (Kind.DATE_OF_BIRTH, "04/07/1938"),
        (Kind.NAME, "Nurse Jo Bloggs"),
        (Kind.NAME, "Dr Jean-Luc Picard"),
        (Kind.PHONE, "07700 900123"),
        (Kind.NHS_NUMBER, "943 476 5919"),
        (Kind.POSTCODE, "LS1 4AP"),
        (Kind.EMAIL, "pals@example.nhs.uk"),
        (Kind.URL, "www.example.nhs.uk/visiting"),
    ]
    assert redact(story, find_personal_details(story)) == (
        "My mum (DOB [date of birth removed]) was admitted to the Royal on 12/03/2024 after "
        "a fall. [name removed] and [name removed] were wonderful, but nobody rang me on "
        "[phone number removed] when she was moved. Her NHS number is [NHS number removed] "
        "and it was on the wrong wristband! I live at [postcode removed], about an hour "
        "away, so I called 111 and eventually emailed [email removed]. The leaflet said to "
        "see [link removed], which was out of date."
    )


def test_a_redacted_story_has_nothing_left_to_find() -> None:
    # Moderation scans the redacted text again; the suggested replacements (one of which
    # contains "date of birth") must not look like personal details themselves.
    story = (
        "Dr Smith noted my DOB 04/07/1938 and date of birth 5 May 1940 twice. Call "
        "07700 900123 or mail jo@nhs.net; NHS 943 476 5919; B33 8TH; https://x.org/a. "
        "Hospital number RTH1234567, record number 00456123; 12 Acacia Avenue."
    )
    redacted = redact(story, find_personal_details(story))
    assert find_personal_details(redacted) == []
    assert all(replacement in redacted for replacement in REPLACEMENTS.values())


# --- Names without a title -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("John Smith the physio got me walking.", ["John Smith"]),
        ("My husband Peter was left in a wet bed.", ["Peter"]),
        ("I spoke to Priya on the front desk.", ["Priya"]),
        ("Sarah on ward 3 explained everything.", ["Sarah"]),
        ("His daughter Emma came in every day.", ["Emma"]),
        # Not in any list, but a relation or "called" says a person is meant.
        ("My husband Dafydd only speaks Welsh when he is confused.", ["Dafydd"]),
        ("A healthcare assistant called Precious brushed my hair.", ["Precious"]),
        # Everyday words that are names only in a name context.
        ("Thanks to Will on the night shift.", ["Will"]),
        ("A nurse called Grace held my hand.", ["Grace"]),
        ("May on the front desk let me charge my phone.", ["May"]),
        ("Bill from the discharge team was patient with us.", ["Bill"]),
        ("Thanks to Grace and Hope, the student nurses.", ["Grace", "Hope"]),
        # A word no list knows, joined to a name.
        ("The midwives, especially Laura and Bex, were fantastic.", ["Laura", "Bex"]),
        # Accents, hyphens and possessives.
        ("I want to thank Siân and Bethan.", ["Siân", "Bethan"]),
        ("Kerry-Ann on nights sat with me.", ["Kerry-Ann"]),
        ("My wife Jean's tablets were missed.", ["Jean"]),
        ("Łukasz translated for my dad.", ["Łukasz"]),
        # Lower case, after a relation.
        ("my husband peter has dementia", ["peter"]),
    ],
)
def test_names_without_a_title_are_found(text: str, names: list[str]) -> None:
    assert _found(text) == [(Kind.NAME, name) for name in names]


@pytest.mark.parametrize(
    "text",
    [
        "We were on Rowan Ward, then Victoria Ward, then Florence Nightingale Ward.",
        "Amoxicillin and Morphine were given late; Tramadol ran out on the ward.",
        "We drove from Lancaster to Preston, then on to Chester and Lincoln.",
        "Royal Preston Hospital, St Mary's, the Christie and Guy's were all fine.",
        "The Queen Elizabeth Hospital and the John Radcliffe are huge.",
        "My appointment in May was moved to August, then to a Monday in June.",
        "The Dr said I could go home. Dr. Then nothing happened.",
        "The NHS, A&E, my GP and ICU were all mentioned.",
        "Will someone answer the phone? Hope so. Mark my words. Grace period is short.",
        "Mum was admitted and Dad could not visit; Nan was on Ward 21.",
        "The Marie Curie nurses and the Macmillan nurse were lovely.",
        "We waited in the Marks and Spencer cafe near Blackpool Victoria.",
        "Don't ask. Won't say.",
    ],
)
def test_places_drugs_months_and_everyday_words_are_not_names(text: str) -> None:
    assert _kinds_found(text, Kind.NAME) == []


@pytest.mark.parametrize(
    ("text", "names"),
    [
        # From gender-guesser's international dictionary, and no ordinary English word.
        ("Ffion took my bloods first thing and I barely felt it.", ["Ffion"]),
        ("Special mention to Rhodri Pugh on the stroke unit.", ["Rhodri Pugh"]),
        # In no list: after thanks, or opening a sentence before what is said of a person.
        ("Big thanks to Tayo, who stayed late.", ["Tayo"]),
        ("Thank you Tendai for the tea.", ["Tendai"]),
        ("Jaz on nights sat with me until I fell asleep.", ["Jaz"]),
        ("Nomsa was so patient with my dad.", ["Nomsa"]),
        # Joined to the name after it.
        ("Tavita and Ayesha in the day unit were fab.", ["Tavita", "Ayesha"]),
        # A relation after a comma, and an everyday word said to be a porter.
        ("Errol, my uncle, was visiting.", ["Errol"]),
        ("Will was the porter that night.", ["Will"]),
        # Lower case after a role; "home" after a name is no care home.
        ("the phlebotomist priya was quick.", ["priya"]),
        ("They sent my dad Ron home in a taxi.", ["Ron"]),
    ],
)
def test_names_said_of_as_people_are_found_whether_or_not_a_list_knows_them(
    text: str, names: list[str]
) -> None:
    assert _found(text) == [(Kind.NAME, name) for name in names]


@pytest.mark.parametrize(
    "text",
    [
        # Ordinary English words (in wordfreq's list, in none of the name lists) where a
        # name could stand.
        "Breakfast was lovely and hot.",
        "Housekeeping was so friendly.",
        "Paperwork was a nightmare but Reception was so helpful.",
        "Thank you Maternity for everything, and thanks to Covid we waited.",
        "Physio was brilliant with me, thanks to everyone on Ward 7.",
        # A place on a route, a charity named after a person, stickers after a title.
        "The bus from Sandy to Biggleswade is slow.",
        "Marie Curie came every day.",
        "Mr Men plates on the children's ward cheered him up.",
        # Everyday first names asking or wishing, and part of a hospital's name.
        "May the new manager sort the rota.",
        "Will the consultant ring me back?",
        "Salford Royal was brilliant with my dad.",
    ],
)
def test_ordinary_words_routes_and_charities_are_not_names(text: str) -> None:
    assert _found(text) == []


@pytest.mark.parametrize(
    ("text", "name"),
    [("dr jones said it was nothing.", "dr jones"), ("mr patel operated.", "mr patel")],
)
def test_a_known_surname_in_lower_case_after_an_abbreviated_title_is_a_name(
    text: str, name: str
) -> None:
    assert _found(text) == [(Kind.NAME, name)]


def test_the_name_lists_come_from_faker_once_and_cover_several_locales() -> None:
    lists = pii._name_lists()
    assert pii._name_lists() is lists
    # Dicts of strings, which the garbage collector does not walk (see pii._NameLists).
    assert isinstance(lists.first, dict) and isinstance(lists.surnames, dict)
    assert not gc.is_tracked(lists.first) and not gc.is_tracked(lists.ordinary)
    # English, Irish, Welsh, South Asian, Polish, Nigerian and Ghanaian names, folded.
    assert {"john", "aoife", "rhys", "priya", "agnieszka", "ngozi", "kwame"} <= lists.first.keys()
    assert {"smith", "patel", "kowalski", "okafor"} <= lists.surnames.keys()
    # Everyday words and places are names only in context.
    assert {"will", "may", "hope", "grace", "bill"} <= lists.everyday.keys()
    assert not {"will", "may", "hope", "grace", "bill", "preston"} & lists.anywhere.keys()
    # gender-guesser's dictionary adds Welsh, Scottish, Caribbean and other names, names
    # anywhere unless they are ordinary English words (wordfreq's list) as well.
    assert {"dafydd", "cerys", "eilidh", "delroy", "gurpreet"} <= lists.anywhere.keys()
    assert {"jun", "winston"} <= lists.first.keys() - lists.anywhere.keys()
    assert {"food", "staff", "men", "sandy"} <= lists.ordinary.keys()
    assert "men" in lists.common and "dafydd" not in lists.ordinary


# --- Hospital and record numbers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("My hospital number is RTH1234567 if you need it.", "RTH1234567"),
        ("MRN: 12345678", "12345678"),
        ("hosp no. A1234567", "A1234567"),
        ("The patient number on my wristband was 7765432.", "7765432"),
        ("Please quote case number 2024/00451.", "2024/00451"),
        ("My RXH number is 1234567.", "1234567"),
        ("Complaint ref: PALS-22817", "PALS-22817"),
        ("Reference number: CMP/4471/23", "CMP/4471/23"),
        ("Please look up hospital number RXN 778 2231.", "RXN 778 2231"),
        ("unit number K123456 on the card", "K123456"),
    ],
)
def test_record_numbers_after_a_cue_are_found(text: str, number: str) -> None:
    assert _found(text) == [(Kind.RECORD_NUMBER, number)]
    assert find_personal_details(text)[0].replacement == "[record number removed]"


@pytest.mark.parametrize(
    "text",
    [
        "I asked for my hospital number but nobody knew it.",
        "MRN and NHS number did not match.",
        "Ward 12, bed 3, 1234567 steps away.",  # no cue
        "My hospital number is on the letter. 1234567 people use this hospital.",  # next sentence
        "My hospital number was never written down by anyone, so 1234567 it is.",  # too far
        "Please quote ref 12.",  # too few digits
        "Our referral 12345 went missing.",  # "ref" inside a word
    ],
)
def test_numbers_without_a_record_cue_close_before_them_are_not_record_numbers(text: str) -> None:
    assert _kinds_found(text, Kind.RECORD_NUMBER) == []


def test_a_valid_nhs_number_after_a_record_cue_is_an_nhs_number() -> None:
    assert _found("My NHS number is 943 476 5919.") == [(Kind.NHS_NUMBER, "943 476 5919")]


def test_a_phone_shaped_number_after_a_record_cue_is_a_record_number() -> None:
    assert _found("Hospital number 01632960123.") == [(Kind.RECORD_NUMBER, "01632960123")]


# --- Street addresses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("I live at 12 Acacia Avenue.", "12 Acacia Avenue"),
        ("Send it to Flat 3, 45 High Street, please.", "Flat 3, 45 High Street"),
        ("My address is 14b Mill Lane, Chorley.", "14b Mill Lane"),
        # In lower case, after an address cue.
        ("Please post it to my new address, 7 station road.", "7 station road"),
        ("We live at 3 the crescent now.", "3 the crescent"),
        ("Our house is 15 St John's Terrace.", "15 St John's Terrace"),
        ("I moved to 7a Holly Bank Gardens.", "7a Holly Bank Gardens"),
        ("flat 2 90 Station Road", "flat 2 90 Station Road"),
    ],
)
def test_street_addresses_are_found(text: str, address: str) -> None:
    assert _found(text) == [(Kind.ADDRESS, address)]
    assert find_personal_details(text)[0].replacement == "[address removed]"


@pytest.mark.parametrize(
    "text",
    [
        "I waited 12 weeks for my appointment.",
        "There were 3 Ward Sisters on but nobody in charge.",
        "We parked on Level 3 Multi Storey.",
        "I live on Acacia Avenue.",  # no house number: a street, not an address
        "Bed 12 Hillside was cold.",  # "Hill" inside a word
    ],
)
def test_numbers_and_capitalised_words_without_a_street_are_not_addresses(text: str) -> None:
    assert _kinds_found(text, Kind.ADDRESS) == []


# --- Rules added after the fresh set (tests/feedback/pii_cases/fresh.jsonl) ------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        # A first name in lower case opening a sentence, before what is said of a person.
        ("kasia on the night shift held my hand", ["kasia"]),
        ("Fine now. priyanka was so patient with me", ["priyanka"]),
        ("Zuberi was my care coordinator for a year.", ["Zuberi"]),
        # First names in lower case after thanks, joined by "and".
        ("big shout out to tomasz and zainab on ward 9", ["tomasz", "zainab"]),
        # After a role in the plural, in brackets after a relation, and after "me and".
        ("The two healthcare assistants Temitope and Ngozi stayed late.", ["Temitope", "Ngozi"]),
        ("Grandad (Kez) loved the tea trolley.", ["Kez"]),
        ("Me and Baz moved house in the spring.", ["Baz"]),
        # A possessive after a relation, and a relation after a possessive.
        ("My son Osian's NHS number was on the wrong letter.", ["Osian"]),
        ("Zuriel's mum here, writing for him.", ["Zuriel"]),
        # Romanian letters with a comma below.
        ("It was Ștefan from the portering team who found her.", ["Ștefan"]),
        # An everyday first name with a surname no list knows.
        ("Faith Oyelowo is a credit to the ward.", ["Faith Oyelowo"]),
        # A surname said first, and a first name no list knows before a name said of a person.
        ("Pham Thu Trang translated for us.", ["Pham Thu Trang"]),
        ("Adaugo Bello the porter was kind.", ["Adaugo Bello"]),
    ],
)
def test_names_in_lower_case_lists_brackets_and_unknown_first_names_are_found(
    text: str, names: list[str]
) -> None:
    assert _found(text) == [(Kind.NAME, name) for name in names]


@pytest.mark.parametrize(
    "text",
    [
        # A place after "near", or after moving from or to it.
        "My parents live near Shirley now.",
        "We moved from Sandy last year.",
        # Welsh hospitals and counties ("Ysbyty" is Welsh for hospital).
        "Ysbyty Gwynedd was busy all night.",
        "They sent him to Glan Clwyd for the scan.",
    ],
)
def test_places_after_near_or_moving_and_welsh_hospitals_are_not_names(text: str) -> None:
    assert _found(text) == []


# Guards for the rules above (each fails if its rule is made to take every word it looks at).
@pytest.mark.parametrize(
    ("text", "found"),
    [
        # Ordinary words in lower case opening a sentence, after thanks, or joined by "and".
        ("nights on the ward were hard. visiting was a nightmare", []),
        ("thanks to physio and pharmacy", []),
        # A medicine before a name is no part of it.
        ("Oramorph Sarah gave me was too strong.", [(Kind.NAME, "Sarah")]),
        # A domain in an email address, and an organisation's name written like a domain.
        ("Write to pals@trust.nhs.uk or see the NHS.uk site.", [(Kind.EMAIL, "pals@trust.nhs.uk")]),
    ],
)
def test_the_new_rules_leave_ordinary_words_medicines_and_emails_alone(
    text: str, found: list[tuple[str, str]]
) -> None:
    assert _found(text) == found


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("My blog is ourlongjourney.wordpress.com, have a look.", "ourlongjourney.wordpress.com"),
        ("Pictures at facebook.com/groups/nicu_mums.", "facebook.com/groups/nicu_mums"),
        ("Our fundraiser: teddysfund.org.uk (please share)", "teddysfund.org.uk"),
    ],
)
def test_links_without_http_or_www_are_found(text: str, link: str) -> None:
    assert _found(text) == [(Kind.URL, link)]


def test_a_record_number_with_a_letter_among_its_digits_is_found() -> None:
    assert _found("His unit number 12B45678 was wrong.") == [(Kind.RECORD_NUMBER, "12B45678")]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        # Welsh street names put the street type first.
        ("Send it to 5 Ffordd y Capel please.", "5 Ffordd y Capel"),
        ("We are at 18 Heol Tywyll now.", "18 Heol Tywyll"),
        # A Scottish tenement flat: the floor, then the door.
        ("We are at Flat 2/1, 14 Dumbarton Road now.", "Flat 2/1, 14 Dumbarton Road"),
    ],
)
def test_welsh_streets_and_tenement_flats_are_addresses(text: str, address: str) -> None:
    assert _found(text) == [(Kind.ADDRESS, address)]


# --- Linear time for the new rules -----------------------------------------------------------

# As in test_analysers_linear.py (which imports Django models, so is not imported here): each
# input is 200,000 characters of one rule's worst case, and has to be scanned within a ceiling
# about a hundred times what a linear scan needs; a quadratic one needs minutes.
SIZE = 200_000
CEILING_SECONDS = 10


def repeated(piece: str) -> str:
    return piece * (SIZE // len(piece) + 1)


def finishes(analyse: Callable[[], object]) -> object:
    def interrupt(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {CEILING_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, CEILING_SECONDS)
    try:
        return analyse()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


NEW_RULES_WORST_CASES = {
    # A relation before every word, capitalised and not.
    "relations": repeated("my husband Peter my wife jean "),
    # Capitalised words no list knows, each before a name context.
    "unknown words in context": repeated("Aaa on the ward "),
    "capitalised words": repeated("Aaa "),
    "one long capitalised word": "A" + repeated("a") + "B",
    # Record cues with too few digits after them, and cues with no number at all.
    "record cues and short numbers": repeated("MRN 1 "),
    "record cues": repeated("hospital number "),
    # House numbers and capitalised words with no street type, and many addresses.
    "house numbers": repeated("12 Acacia Acacia Acacia "),
    "addresses": repeated("12 Acacia Avenue "),
    # First names that each extend into the next.
    "untitled names": repeated("Jo Bloggs "),
    "lower-case names after titles": repeated("dr jones "),
    # Links without "http": many of them, one long dotted run, and long paths.
    "bare links": repeated("a.com "),
    "dotted run then a domain ending": repeated("a.") + "com",
    "links in one run": repeated("a.com/a.com."),
    # Lower case opening sentences and after thanks, before what is said of a person.
    "lower-case openings": repeated("kasia on the ward. "),
    "sentence ends": repeated(". a "),
    "lower-case thanks": repeated("thanks to bex and lorna "),
    # Roles in the plural, "me and", possessives, Welsh streets and letters among digits.
    "plural roles": repeated("the nurses Chidi and Abena "),
    "me and": repeated("me and Baz "),
    "possessive relations": repeated("Alfie's mum "),
    "welsh streets": repeated("27 Heol y Llan "),
    "record numbers with letters": repeated("MRN 0A0A0A0A "),
}


@pytest.mark.parametrize("text", NEW_RULES_WORST_CASES.values(), ids=NEW_RULES_WORST_CASES.keys())
def test_the_new_rules_take_linear_time(text: str) -> None:
    finishes(lambda: find_personal_details(text))
