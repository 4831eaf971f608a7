"""The quality check on responses to patient stories: what is flagged, what is not, the score.

Pure Python: these tests need neither Django nor a database.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from feedback.quality import (
    CODES,
    MIN_WORDS,
    WEIGHTS,
    Advice,
    Assessment,
    StoryFacts,
    assess_response,
)

ED_STORY = StoryFacts(
    title="Over four hours on a trolley in A&E",
    body=(
        "### What happened\n"
        "I brought my mum, who is 84, to the Emergency Department after a fall. We waited more "
        "than four hours before anyone explained the delay, and she was left on a trolley in "
        "the corridor without a drink.\n\n"
        "### What could be improved\n"
        "Tell people how long the wait is likely to be, and check on older patients."
    ),
    service_names=["Emergency Department", "A&E"],
    is_positive=False,
    is_critical=True,
)

WARD_STORY = StoryFacts(
    title="Noisy nights on the ward",
    body=(
        "### What could be improved\n"
        "The ward was so noisy at night that I hardly slept. The lights stayed on until 2am and "
        "staff talked loudly at the nurses' station."
    ),
    service_names=["Ward 7 (Cardiology)", "Cardiology"],
    is_positive=False,
    is_critical=True,
)

MATERNITY_STORY = StoryFacts(
    title="Brilliant midwives",
    body=(
        "### What was good\n"
        "The midwives on the labour ward were calm and kind through a long labour. Midwife Sam "
        "stayed past the end of her shift to see our daughter born."
    ),
    service_names=["Maternity"],
    is_positive=True,
    is_critical=False,
)

GOOD_ED_REPLY = """Dear Mr Ahmed,

I am so sorry that your mum waited more than four hours in our Emergency Department, and that
nobody explained the delay or brought her a drink. That is not the care we want to give.

I have shared your story with the department team. From next month a nurse will check on
everyone in the waiting area every hour, offer drinks, and explain how long the wait is likely
to be.

If you would like to talk this through, please contact me or our Patient Advice and Liaison
Service (PALS) on 01234 567890.

Priya Shah, Ward Manager"""

GOOD_MATERNITY_REPLY = (
    "Thank you so much for your kind words about our midwives. I have passed them on to Sam "
    "and the whole labour ward team, who were thrilled to read how calm and supported you felt "
    "while your daughter was born.\n\nWarm wishes,\nJane Smith, Head of Midwifery"
)

RECENT_REPLY = (
    "Thank you for telling us about your visit to our outpatient clinic. I am sorry that your "
    "appointment ran so late and that nobody told you why. We now put the expected waiting "
    "time on the screen in reception and update it every half hour. Best wishes, Tom Reid, "
    "Outpatients Manager"
)


def _assess(
    text: str,
    story: StoryFacts = ED_STORY,
    *,
    responder_name: str = "Priya Shah",
    recent_responses: list[str] | None = None,
) -> Assessment:
    return assess_response(
        text, story, responder_name=responder_name, recent_responses=recent_responses or []
    )


def _codes(assessment: Assessment) -> list[str]:
    return [item.code for item in assessment.advice]


# --- only_redirects --------------------------------------------------------------------------


def test_a_reply_that_only_points_to_pals_is_flagged() -> None:
    assessment = _assess("Thank you for your feedback. Please contact PALS on 01234 567890.")

    codes = _codes(assessment)
    assert codes[0] == "only_redirects"
    assert {"only_redirects", "no_apology", "no_named_person", "ignores_story"} <= set(codes)
    assert assessment.score <= 20
    assert assessment.is_generic
    assert "PALS" in assessment.advice[0].message


def test_a_stock_reply_that_only_redirects_to_pals_is_flagged_however_long() -> None:
    text = (
        "Dear Sir/Madam, Thank you for taking the time to share your feedback. We are sorry to "
        "hear that your experience of our service was not as expected. We take all feedback "
        "very seriously and would welcome the opportunity to discuss your concerns in more "
        "detail. Please contact our Patient Advice and Liaison Service on 01234 567890 or email "
        "pals@example.nhs.uk, quoting reference 1234. Kind regards, Patient Experience Team"
    )
    assessment = _assess(text, responder_name="")

    codes = _codes(assessment)
    assert codes[0] == "only_redirects"
    assert "ignores_story" in codes
    assert "no_named_person" in codes
    assert "no_apology" not in codes  # "sorry to hear" is there
    assert "too_short" not in codes
    assert assessment.is_generic


def test_stock_phrases_about_quality_are_not_substance() -> None:
    text = (
        "We are committed to providing the highest quality of care to all our patients and we "
        "strive to ensure every patient has a positive experience. We are sorry that on this "
        "occasion we fell short. Please contact PALS. Best wishes, Priya Shah, Ward Manager"
    )
    assert "only_redirects" in _codes(_assess(text))


def test_an_apology_that_names_the_wait_is_still_only_a_redirect() -> None:
    text = (
        "I am sorry to hear about your wait in A&E. Please contact PALS so we can look into "
        "this for you. Best wishes, Priya"
    )
    codes = _codes(_assess(text))

    assert codes[0] == "only_redirects"
    assert "ignores_story" not in codes  # it does mention the wait and A&E


@pytest.mark.parametrize(
    ("text", "words_in_message"),
    [
        ("Please get in touch with us on 0300 123 4567.", "get in touch"),
        ("We are sorry. Please ring the ward on 01632 960 123.", "get in touch"),
        ("Sorry to hear this. Please email us at feedback@example.nhs.uk.", "get in touch"),
        ("Please contact our complaints team and they will help.", "complaints team"),
        ("We would like to hear more. Please call us on +44 1632 960123.", "get in touch"),
        ("Please contact the Patient Advice and Liaison Service.", "PALS"),
    ],
)
def test_every_kind_of_redirect_on_its_own_is_flagged(text: str, words_in_message: str) -> None:
    assessment = _assess(text)

    assert _codes(assessment)[0] == "only_redirects"
    assert words_in_message in assessment.advice[0].message


def test_a_reply_that_engages_and_also_offers_pals_is_not_flagged() -> None:
    assessment = _assess(GOOD_ED_REPLY)

    assert "only_redirects" not in _codes(assessment)
    assert not assessment.is_generic
    assert assessment.score >= 80
    assert assessment.advice == ()
    assert assessment.score == 100


def test_a_short_specific_reply_that_offers_pals_is_not_only_a_redirect() -> None:
    text = (
        "I'm sorry the ward was so noisy at night. We now dim the lights at 10pm, and I have "
        "asked the night team to keep voices down at the nurses' station. If you'd like to talk "
        "more, please call PALS.\n\nBest wishes,\nSister Jones, Ward 7"
    )
    assessment = _assess(text, WARD_STORY, responder_name="")

    assert _codes(assessment) == []
    assert assessment.score == 100


def test_a_reply_without_any_redirect_is_never_only_a_redirect() -> None:
    assessment = _assess("Thank you for your feedback.", responder_name="")

    assert "only_redirects" not in _codes(assessment)
    assert {"ignores_story", "too_short"} <= set(_codes(assessment))


def test_a_call_bell_is_not_a_redirect() -> None:
    text = (
        "I'm sorry nobody answered your call bell at night. I have asked the night team to "
        "answer call bells within five minutes and we now check every bay hourly. Priya Shah"
    )
    assert "only_redirects" not in _codes(_assess(text, WARD_STORY))


# --- ignores_story ---------------------------------------------------------------------------


def test_a_reply_that_ignores_the_story_is_flagged() -> None:
    text = (
        "I am very sorry that your experience fell short of what you should expect from us. I "
        "have shared your feedback with the team so that we can learn from it and improve.\n\n"
        "Best wishes,\nPriya Shah, Ward Manager"
    )
    assessment = _assess(text)

    assert _codes(assessment) == ["ignores_story"]
    assert assessment.score == 100 - WEIGHTS["ignores_story"]
    assert not assessment.is_generic
    assert "Emergency Department" in assessment.advice[0].message


@pytest.mark.parametrize("mention", ["cardiology", "Ward 7", "ward 7 (Cardiology)"])
def test_naming_the_service_counts_as_referring_to_the_story(mention: str) -> None:
    story = dataclasses.replace(WARD_STORY, title="Unhappy", body="It was not good enough.")
    text = (
        f"I am sorry that your stay on {mention} was not what it should have been. I have shared "
        "your feedback with the whole team. Priya Shah, Ward Manager"
    )
    assert "ignores_story" not in _codes(_assess(text, story))


def test_other_forms_of_the_same_word_count_as_referring_to_the_story() -> None:
    story = dataclasses.replace(ED_STORY, title="Waited", body="I waited.", service_names=[])
    text = "I'm sorry about all the waiting you had to do. Priya Shah, Ward Manager"

    assert "ignores_story" not in _codes(_assess(text, story))


def test_common_words_do_not_count_as_referring_to_the_story() -> None:
    story = dataclasses.replace(
        ED_STORY,
        title="Poor care",
        body="The staff gave poor care. My experience of the hospital and the service was bad.",
        service_names=[],
    )
    text = (
        "Thank you for your feedback about the care you received from our staff. I am sorry "
        "your experience of our hospital service was not what it should be. Priya Shah"
    )
    assert "ignores_story" in _codes(_assess(text, story))


def test_the_story_headings_do_not_count_as_referring_to_the_story() -> None:
    text = "I'm sorry. We will look at what could be improved. Priya Shah, Ward Manager"
    assert "ignores_story" in _codes(_assess(text, WARD_STORY))


# --- no_apology / no_thanks ------------------------------------------------------------------


def test_a_critical_story_without_an_apology_is_flagged() -> None:
    text = GOOD_ED_REPLY.replace("I am so sorry that", "I understand that")
    assessment = _assess(text)

    assert _codes(assessment) == ["no_apology"]
    assert assessment.score == 100 - WEIGHTS["no_apology"]
    assert "sorry" in assessment.advice[0].message


@pytest.mark.parametrize(
    "apology",
    ["I am sorry that", "I apologise that", "I apologize that", "My apologies that", "I regret"],
)
def test_any_form_of_apology_is_accepted(apology: str) -> None:
    text = GOOD_ED_REPLY.replace("I am so sorry that", apology)
    assert "no_apology" not in _codes(_assess(text))


def test_no_apology_is_needed_when_the_story_is_not_critical() -> None:
    text = GOOD_MATERNITY_REPLY.replace("Thank you so much for", "We loved reading")
    story = dataclasses.replace(MATERNITY_STORY, is_positive=False)

    assert "no_apology" not in _codes(_assess(text, story, responder_name="Jane Smith"))


def test_a_positive_story_without_thanks_is_flagged() -> None:
    text = GOOD_MATERNITY_REPLY.replace("Thank you so much for", "We loved reading")
    assessment = _assess(text, MATERNITY_STORY, responder_name="Jane Smith")

    assert _codes(assessment) == ["no_thanks"]
    assert assessment.score == 100 - WEIGHTS["no_thanks"]
    assert "thank" in assessment.advice[0].message.lower()


@pytest.mark.parametrize(
    "thanks",
    [
        "Thank you so much for",
        "Many thanks for",
        "We are so grateful for",
        "We really appreciate",
        "I was delighted to hear",
        "I was pleased to hear",
    ],
)
def test_any_form_of_thanks_is_accepted(thanks: str) -> None:
    text = GOOD_MATERNITY_REPLY.replace("Thank you so much for", thanks)
    assessment = _assess(text, MATERNITY_STORY, responder_name="Jane Smith")

    assert "no_thanks" not in _codes(assessment)


def test_a_good_reply_to_a_positive_story_has_nothing_to_improve() -> None:
    assessment = _assess(GOOD_MATERNITY_REPLY, MATERNITY_STORY, responder_name="Jane Smith")

    assert assessment.advice == ()
    assert assessment.score == 100


def test_a_mixed_story_needs_both_thanks_and_an_apology() -> None:
    story = dataclasses.replace(WARD_STORY, is_positive=True)
    text = (
        "I'm sorry the ward was so noisy at night. We now dim the lights at 10pm and have "
        "moved the nurses' station phone away from the bays. Priya Shah, Ward Manager"
    )
    assert _codes(_assess(text, story)) == ["no_thanks"]


# --- no_named_person -------------------------------------------------------------------------


SIGNED_BODY = (
    "I'm so sorry your mum waited over four hours in our Emergency Department without a drink. "
    "From next month a nurse will check on everyone in the waiting area every hour."
)


@pytest.mark.parametrize(
    ("signature", "responder_name"),
    [
        ("Priya Shah, Ward Manager", "Priya Shah"),
        ("Best wishes, Priya", "Priya Shah"),
        ("Best wishes, Jane", ""),
        ("Jane Smith, Ward Manager", ""),
        ("Kind regards,\nDr Patel\nClinical Director", ""),
        ("Yours sincerely\n\nTom O'Neill\nMatron, Emergency Department", ""),
        ("— Jane", ""),
    ],
)
def test_a_reply_signed_by_a_person_is_not_flagged(signature: str, responder_name: str) -> None:
    assessment = _assess(f"{SIGNED_BODY}\n\n{signature}", responder_name=responder_name)
    assert "no_named_person" not in _codes(assessment)


def test_naming_yourself_in_the_reply_counts() -> None:
    text = f"My name is Jane and I manage the department. {SIGNED_BODY}"
    assert "no_named_person" not in _codes(_assess(text, responder_name=""))


@pytest.mark.parametrize(
    "signature",
    ["", "Kind regards,\nPatient Experience Team", "Best wishes, the A&E team", "Thank you again."],
)
def test_a_reply_not_signed_by_a_person_is_flagged(signature: str) -> None:
    assessment = _assess(f"{SIGNED_BODY}\n\n{signature}", responder_name="Priya Shah")

    assert _codes(assessment) == ["no_named_person"]
    assert "name and role" in assessment.advice[0].message
    assert "Priya Shah" in assessment.advice[0].message


# --- copy_paste ------------------------------------------------------------------------------


def test_a_copy_of_a_recent_response_with_one_word_changed_is_flagged() -> None:
    text = RECENT_REPLY.replace("so late", "very late")
    story = dataclasses.replace(
        ED_STORY,
        title="Late appointment",
        body="My outpatient appointment ran two hours late and nobody told me why.",
        service_names=["Outpatients"],
    )
    assessment = _assess(
        text, story, responder_name="Tom Reid", recent_responses=["Unrelated.", RECENT_REPLY]
    )

    assert _codes(assessment) == ["copy_paste"]
    assert assessment.is_generic
    assert assessment.score == 100 - WEIGHTS["copy_paste"]
    assert "%" in assessment.advice[0].message


def test_copy_paste_ignores_case_spacing_and_markup() -> None:
    text = f"<p>{RECENT_REPLY.upper()}</p>".replace(". ", ".\n\n  ")
    assert "copy_paste" in _codes(_assess(text, recent_responses=[RECENT_REPLY]))


def test_a_reply_that_reuses_a_few_phrases_is_not_a_copy() -> None:
    assessment = _assess(GOOD_ED_REPLY, recent_responses=[RECENT_REPLY, "", "   "])
    assert "copy_paste" not in _codes(assessment)


def test_a_long_reply_with_a_new_opening_paragraph_is_still_a_copy() -> None:
    text = "Dear Mrs Khan,\n\n" + RECENT_REPLY
    assert "copy_paste" in _codes(_assess(text, recent_responses=[RECENT_REPLY]))


# --- too_short -------------------------------------------------------------------------------


def test_a_reply_under_the_minimum_length_is_too_short() -> None:
    text = "Sorry about your four hour wait in A&E, we are fixing it. Priya"
    assessment = _assess(text)

    assert len(text.split()) < MIN_WORDS
    assert _codes(assessment) == ["too_short"]
    assert "13 words" in assessment.advice[0].message


def test_a_reply_of_exactly_the_minimum_length_is_not_too_short() -> None:
    text = "Sorry about your four hour wait in A&E, we are fixing it this month. Priya"
    assert len(text.split()) == MIN_WORDS
    assert "too_short" not in _codes(_assess(text))


# --- edge cases ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\n  ", "<p></p>"])
def test_an_empty_reply_is_too_short_and_does_not_crash(text: str) -> None:
    assessment = _assess(text)

    codes = _codes(assessment)
    assert "too_short" in codes
    assert "ignores_story" in codes
    assert "no_named_person" in codes
    assert "empty" in assessment.advice[codes.index("too_short")].message
    assert 0 <= assessment.score < 60


def test_html_and_markdown_do_not_crash_or_count_as_words() -> None:
    text = (
        "<p>I&rsquo;m <strong>so sorry</strong> your mum waited four hours.</p>"
        "<script>alert('x')</script><br/>"
        "**Please** [contact PALS](https://example.nhs.uk/pals).<br>"
        "<em>Priya Shah</em>"
    )
    assessment = _assess(text)

    codes = _codes(assessment)
    assert "only_redirects" in codes
    assert "no_apology" not in codes
    assert "ignores_story" not in codes
    assert "no_named_person" not in codes
    # The tags, the script and the link address are not words: 13 words remain.
    assert "13 words" in assessment.advice[codes.index("too_short")].message


def test_curly_apostrophes_and_unusual_characters_are_fine() -> None:
    text = GOOD_ED_REPLY.replace("I am so sorry", "I\u2019m so sorry \U0001f64f") + "\u00a0\t"
    assessment = _assess(text)
    assert assessment.advice == ()


def test_an_empty_story_does_not_crash() -> None:
    story = StoryFacts(title="", body="", service_names=[], is_positive=False, is_critical=False)
    assessment = _assess(GOOD_ED_REPLY, story)
    assert _codes(assessment) == ["ignores_story"]


# --- the score, ordering and the stored form ------------------------------------------------


def test_advice_comes_most_important_first_and_the_score_is_clamped() -> None:
    story = dataclasses.replace(ED_STORY, is_positive=True)
    text = "Please contact PALS."
    assessment = _assess(text, story, responder_name="", recent_responses=[text])

    codes = _codes(assessment)
    assert codes == list(CODES)  # every rule fires, in order of importance
    assert codes[0] == "only_redirects"
    assert sum(WEIGHTS.values()) > 100
    assert assessment.score == 0


def test_the_score_is_100_less_the_weights_of_the_advice() -> None:
    assessment = _assess("Thank you for your feedback. Please contact PALS on 01234 567890.")

    expected = 100 - sum(WEIGHTS[code] for code in _codes(assessment))
    assert assessment.score == max(0, expected)
    assert set(_codes(assessment)) <= set(WEIGHTS)


def test_is_generic_only_for_redirects_and_copies() -> None:
    assert not Assessment(score=80, advice=(Advice("ignores_story", "x"),)).is_generic
    assert not Assessment(score=100, advice=()).is_generic
    assert Assessment(score=70, advice=(Advice("copy_paste", "x"),)).is_generic
    assert Assessment(score=65, advice=(Advice("only_redirects", "x"),)).is_generic


def test_to_json_is_a_plain_dict_for_storing_with_the_response() -> None:
    assessment = _assess("Thank you for your feedback. Please contact PALS on 01234 567890.")
    data = assessment.to_json()

    assert data == {
        "score": assessment.score,
        "advice": [{"code": item.code, "message": item.message} for item in assessment.advice],
    }
    assert json.loads(json.dumps(data)) == data
    assert data["advice"][0]["code"] == "only_redirects"


def test_to_json_for_a_good_reply_has_no_advice() -> None:
    assert _assess(GOOD_ED_REPLY).to_json() == {"score": 100, "advice": []}


def test_every_message_is_specific_plain_english() -> None:
    story = dataclasses.replace(ED_STORY, is_positive=True)
    text = "Please contact PALS."
    assessment = _assess(text, story, responder_name="", recent_responses=[text])

    for item in assessment.advice:
        assert item.code in CODES
        assert 40 < len(item.message) < 300
        assert item.message[0].isupper() and item.message.endswith(".")


def test_results_are_immutable() -> None:
    assessment = _assess(GOOD_ED_REPLY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        assessment.score = 0  # type: ignore[misc]


# Each way of pointing the author elsewhere, and a near miss that must not count as one.
REDIRECT_FORMS = {
    "pals": ("PALS can help with this.", "He has palsy."),
    "patient advice and liaison": (
        "The Patient Advice & Liaison service can help.",
        "Patient advice is a liaison matter.",
    ),
    "complaints team": ("Our complaints  department can help.", "Our complaints were many."),
    "make a complaint": ("You can lodge a formal complaint.", "You can lodge here."),
    "contact": ("CONTACT the trust.", "Contacts were made."),
    "get in touch": ("Get in touch.", "Getting in touches."),
    "please call": ("You're welcome to write to the trust.", "You're welcome to stay."),
    "ring us": ("Ring us today.", "Ringing bells today."),
    "email the switchboard": ("E-mail the switchboard.", "E-mails from the switchboard."),
    "talk with someone": ("Talk with someone.", "Talk without anyone."),
    "talk it over": ("We can talk it over.", "We can talk it overall."),
    "discuss further": ("We will discuss it, perhaps further.", "We will discuss it.\nFurther."),
    "details below": ("See the details below.", "The details were below par."),
    "phone number": ("Phone +44 (0)20 7946 0000.", "Room 0770."),
    "email address": ("Write to jo.+@example.org today.", "Write to jo@localhost today."),
    "link": ("See www.example.org today.", "See wwwexample today."),
}


@pytest.mark.parametrize("form", REDIRECT_FORMS.values(), ids=REDIRECT_FORMS.keys())
def test_each_way_of_redirecting_is_found_and_its_near_miss_is_not(form: tuple[str, str]) -> None:
    redirect, near_miss = form
    assert "only_redirects" in _redirect_codes(redirect)
    assert "only_redirects" not in _redirect_codes(near_miss)


def _redirect_codes(reply: str) -> list[str]:
    story = StoryFacts(
        title="A wait", body="I waited.", service_names=[], is_positive=False, is_critical=False
    )
    result = assess_response(reply, story, responder_name="Jane Smith", recent_responses=[])
    return [item.code for item in result.advice]


def test_the_check_reads_no_more_than_the_longest_response_and_story_it_can_be_given() -> None:
    from feedback import quality, responding
    from feedback.forms import ResponseForm, StoryForm
    from feedback.rendering import compose_body

    # Every way in refuses a longer response, so reading more would only cost time.
    assert responding.MAX_CHARACTERS == quality.MAX_REPLY_CHARACTERS
    assert ResponseForm.base_fields["body"].max_length == quality.MAX_REPLY_CHARACTERS
    longest_story = compose_body(
        {
            name: "x" * StoryForm.base_fields[name].max_length
            for name in ("what_was_good", "what_could_be_improved", "how_it_felt")
        }
    )
    assert len(longest_story) <= quality.MAX_STORY_CHARACTERS

    # A text far past the bounds gets exactly the verdict of what the check reads of it.
    reply = "Please contact PALS, " + ",".join(f"w{n}" for n in range(20_000))
    story = quality.StoryFacts(
        title="A long wait", body=reply, service_names=[], is_positive=False, is_critical=True
    )
    bounded = quality.StoryFacts(
        title="A long wait",
        body=reply[: quality.MAX_STORY_CHARACTERS],
        service_names=[],
        is_positive=False,
        is_critical=True,
    )
    whole = quality.assess_response(reply, story, responder_name="Jane Smith", recent_responses=[])
    read = quality.assess_response(
        reply[: quality.MAX_REPLY_CHARACTERS],
        bounded,
        responder_name="Jane Smith",
        recent_responses=[],
    )
    assert whole == read
