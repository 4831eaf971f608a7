"""Words that often mean risk: found with their inflections, not found in ordinary
complaints, linear on crafted text, and shown to moderators first (feedback/risk_words.py)."""

from __future__ import annotations

import pytest

from feedback import risk_words
from feedback.hub.models import ConcernCategory, Submission
from feedback.risk_words import RiskKind, expand, find_risk_words, scan_risk
from tests.conftest import Cast, client_for, sign_in, tell
from tests.feedback.test_analysers_linear import finishes, repeated

# The phrases the issue names, and their inflections, each in a sentence: what is found, and
# what it is taken to mean.
FOUND = [
    ("Some days I just want to kill myself.", "kill myself", RiskKind.SELF_HARM),
    ("I keep thinking about killing myself", "killing myself", RiskKind.SELF_HARM),
    ("Her brother killed himself last year", "killed himself", RiskKind.SELF_HARM),
    ("I want to end it all.", "end it all", RiskKind.SELF_HARM),
    ("She talks about ending it all", "ending it all", RiskKind.SELF_HARM),
    ("I just want to END IT\nALL", "END IT\nALL", RiskKind.SELF_HARM),
    ("I want to die.", "want to die", RiskKind.SELF_HARM),
    ("He said he wanted to die", "wanted to die", RiskKind.SELF_HARM),
    ("She says she wants to die every night", "wants to die", RiskKind.SELF_HARM),
    ("I don’t want to live like this", "don’t want to live", RiskKind.SELF_HARM),
    ("I dont want to live any more", "dont want to live", RiskKind.SELF_HARM),
    ("Everyone would be better off without me", "better off without me", RiskKind.SELF_HARM),
    ("I have been feeling suicidal since the discharge", "suicidal", RiskKind.SELF_HARM),
    ("After her suicide attempt nobody called", "suicide", RiskKind.SELF_HARM),
    ("She took an overdose on Friday", "overdose", RiskKind.SELF_HARM),
    ("My son overdosed twice", "overdosed", RiskKind.SELF_HARM),
    ("She has a history of self-harm", "self-harm", RiskKind.SELF_HARM),
    ("He has been self harming again", "self harming", RiskKind.SELF_HARM),
    ("I started cutting myself again", "cutting myself", RiskKind.SELF_HARM),
    ("Last week I cut myself", "cut myself", RiskKind.SELF_HARM),
    ("He hits me when he drinks", "He hits me", RiskKind.VIOLENCE),
    ("and then she hit me in front of the kids", "she hit me", RiskKind.VIOLENCE),
    ("My husband hits me", "husband hits me", RiskKind.VIOLENCE),
    ("my carer slapped her twice", "carer slapped her", RiskKind.VIOLENCE),
    ("He keeps hitting me", "hitting me", RiskKind.VIOLENCE),
    ("He hurts me when nobody is there", "He hurts me", RiskKind.VIOLENCE),
    ("it hurts me", "hurts me", RiskKind.VIOLENCE),
    ("He threatened to kill me if I told anyone", "threatened to kill", RiskKind.VIOLENCE),
    ("she is threatening to hurt the baby", "threatening to hurt", RiskKind.VIOLENCE),
    ("I am scared of my husband", "scared of my husband", RiskKind.VIOLENCE),
    ("The porter touched me and I froze", "touched me", RiskKind.ABUSE),
    ("he keeps touching me", "touching me", RiskKind.ABUSE),
    ("He abused her for years", "abused her", RiskKind.ABUSE),
    ("I am not safe at home", "not safe at home", RiskKind.UNSAFE),
    ("I do not feel safe at home", "do not feel safe at home", RiskKind.UNSAFE),
    ("Dad has had no food for days", "no food for days", RiskKind.NEGLECT),
    ("no food or water for two days", "no food or water for two days", RiskKind.NEGLECT),
    ("Mum was left in soiled sheets all night", "left in soiled sheets", RiskKind.NEGLECT),
    ("She was left in soiled", "left in soiled", RiskKind.NEGLECT),
    ("lying in her own urine", "lying in her own urine", RiskKind.NEGLECT),
    ("She was not fed for two days", "not fed", RiskKind.NEGLECT),
    ("There were bruises on her arms", "bruises", RiskKind.NEGLECT),
    ("Her children are at risk", "children are at risk", RiskKind.UNSAFE),
]


@pytest.mark.parametrize(("sentence", "phrase", "kind"), FOUND, ids=[f[1] for f in FOUND])
def test_each_named_phrase_and_its_inflections_are_found(
    sentence: str, phrase: str, kind: RiskKind
) -> None:
    found = find_risk_words(sentence)
    assert [(f.text, f.kind) for f in found] == [(phrase, kind)]
    assert sentence[found[0].start : found[0].end] == phrase


def test_every_listed_phrase_is_found_whole_in_a_sentence_and_in_capitals() -> None:
    assert 40 <= len(risk_words.PHRASES) <= 80
    phrases = 0
    for kind, spec, _unless in risk_words.PHRASES:
        for phrase in expand(spec):
            phrases += 1
            for written in (phrase, phrase.upper()):
                sentence = f"Then {written}. Nobody came."
                assert [(f.text, f.kind) for f in find_risk_words(sentence)] == [(written, kind)], (
                    written
                )
    assert phrases > 1000  # the inflections, not only the phrases as written


# Ordinary complaints, many of them near misses of a listed phrase.
NOT_RISK = [
    "We waited four hours in A&E before anyone saw my dad.",
    "It hit me how ill she was when the consultant explained.",
    "Mum wanted to die at home, and the hospice made that happen.",
    "She always said she wants to die peacefully in her own bed.",
    "I don't want to live in a care home, so the discharge team found carers.",
    "Dad does not want to live with us; he wants to stay independent.",
    "I'm not fed up with the staff, only with the car park.",
    "The blood test left some bruising on her arm.",
    "I hurt myself when I fell in the corridor and nobody came for ten minutes.",
    "They threatened to discharge her before the scan results came back.",
    "My husband hit the roof when he saw the parking charges.",
    "The skilled nurses on the ward were wonderful.",
    "The therapist was kind and patient.",
    "My appointment was overdue by three months.",
    "The receptionist was rude and would not listen.",
    "She took all her medication as prescribed, but the pharmacy kept running out.",
    "Nobody told us the results for a week.",
    "The food was cold and there were no vegetarian options.",
    "I was not at home when the district nurse called, and they left no card.",
    "She is safe at home now and the community team visit daily.",
    "The child was seen quickly and the doctor explained everything.",
    "The kids' play area in the waiting room was dirty.",
    "Beats me why the letters always arrive after the appointment.",
    "The discharge letter had the wrong medication on it.",
    "I could not get through on the phone for days.",
    "My wheelchair was left in the corridor for hours.",
    "The end of the visit felt rushed.",
    "He was left without a call bell for two hours.",
    "We had no water jug on the bedside table all morning.",
    "Her life was saved by the paramedics.",
    "The doctor cut short my appointment.",
    "The staff were hit hard by the strike.",
    "She threatened to make a complaint, and then the manager called us.",
    "I was terrified of the operation, but the anaesthetist calmed me down.",
    "The ward was short-staffed and the nurses were run off their feet.",
    "They stabbed me with the cannula four times before a doctor came.",
    "The nurse touched my arm and said it would be fine.",
    "They hurt her when they moved her from the trolley.",
    "Parking cost more than the prescription.",
    "The end-of-life team were kind to all of us.",
]


@pytest.mark.parametrize("sentence", NOT_RISK)
def test_ordinary_complaints_are_not_flagged(sentence: str) -> None:
    assert find_risk_words(sentence) == []


def test_thousands_of_phrases_in_crafted_text_are_all_found_in_linear_time() -> None:
    text = repeated("he hits me. ")
    found = finishes(lambda: find_risk_words(text))
    assert len(found) == text.count("he hits me")
    assert all(text[f.start : f.end] == "he hits me" for f in found)


def test_scanning_keeps_risk_findings_beside_the_personal_details() -> None:
    submission = Submission(
        title="Help",
        what_was_good="",
        what_could_be_improved="My husband hits me.",
        how_it_felt="I want to end it all",
        findings={"title": [], "nickname": []},
    )
    scan_risk(submission)
    assert submission.findings["title"] == [] and submission.findings["nickname"] == []
    assert submission.findings["risk"]["what_could_be_improved"] == [
        {"kind": "violence", "start": 3, "end": 18, "text": "husband hits me"}
    ]
    assert risk_words.has_possible_risk(submission)
    # Edited text: what is stored no longer fits, and is not trusted.
    submission.how_it_felt = "All fine now"
    submission.what_could_be_improved = "Fine"
    assert risk_words.stored_risk_findings(submission) is None
    assert not risk_words.has_possible_risk(submission)
    assert risk_words.risk_findings_for(submission) == {name: [] for name in risk_words.RISK_FIELDS}


# The moderation pages.

RISKY = {
    "title": "Nobody listened",
    "what_could_be_improved": "I told the <b>nurse</b> I want to kill myself and nobody came.",
    "how_it_felt": "Alone.",
}


def moderator(cast: Cast):  # noqa: ANN201
    client = client_for(None)
    assert sign_in(client, cast.moderator.email).status_code == 302
    return client


@pytest.mark.django_db
def test_the_moderation_page_shows_the_guidance_and_the_risk_phrases_first(cast: Cast) -> None:
    submission_id = tell([cast.ward_a], **RISKY)
    page = moderator(cast).get(f"/moderation/{submission_id}/").content.decode()
    guidance = page.index('aria-labelledby="risk-guidance-title"')
    assert guidance < page.index("As sent")
    assert "Possible risk: read this story first." in page
    assert (
        "<strong>Suicide or self-harm</strong> (What could be improved): "
        "“I told the &lt;b&gt;nurse&lt;/b&gt; I want to "
        '<mark class="risk">kill myself</mark> and nobody came.”'
    ) in page
    assert "This is an aid, not a classifier" in page
    assert "call <strong>999</strong> now" in page
    assert '<a href="#safeguarding-heading">Raise a safeguarding concern</a>' in page
    for category in ConcernCategory:
        assert f"<strong>{category.label}</strong>" in page


@pytest.mark.django_db
def test_a_story_without_risk_phrases_still_gets_the_guidance(cast: Cast) -> None:
    submission_id = tell([cast.ward_a])
    page = moderator(cast).get(f"/moderation/{submission_id}/").content.decode()
    assert "No words that often mean risk were found in this story." in page
    assert "Possible risk" not in page
    assert "This is an aid, not a classifier" in page and "Raise a safeguarding concern" in page


@pytest.mark.django_db
def test_a_story_sent_with_risk_phrases_is_badged_and_first_in_the_queue(cast: Cast) -> None:
    older = tell([cast.ward_a], title="An older plain story")
    risky = tell([cast.ward_a], **RISKY)
    stored = Submission.objects.get(pk=risky).findings
    assert stored["risk"]["what_could_be_improved"][0]["text"] == "kill myself"
    assert not any(Submission.objects.get(pk=older).findings["risk"].values())
    page = moderator(cast).get("/moderation/").content.decode()
    assert page.count("Possible risk</strong>") == 1
    assert (
        page.index("Nobody listened")
        < page.index("Possible risk")
        < page.index("An older plain story")
    )


@pytest.mark.django_db
def test_a_risky_story_behind_a_full_page_of_older_ones_still_comes_first(cast: Cast) -> None:
    """The queue shows 100 stories; one flagged for risk, or with a safeguarding concern, is
    brought forward from beyond them, and the page says how long the oldest has waited."""
    for number in range(100):
        tell([cast.ward_a], title=f"Plain story {number}")
    risky = tell([cast.ward_a], **RISKY)
    page = moderator(cast).get("/moderation/").content.decode()
    assert f"/moderation/{risky}/" in page
    assert page.index(f"/moderation/{risky}/") < page.index("Plain story 0<")
    assert "the oldest has waited" in page


@pytest.mark.django_db
def test_the_queue_reads_stored_findings_only_and_the_page_scans_what_is_missing(
    cast: Cast,
) -> None:
    # A story whose risk phrases were never stored (sent before they were): the queue does
    # not scan it (scanning every waiting story on every showing let crafted stories stall
    # moderation), while its own page finds the phrases.
    risky = tell([cast.ward_a], **RISKY)
    findings = Submission.objects.get(pk=risky).findings
    findings.pop("risk", None)
    Submission.objects.filter(pk=risky).update(findings=findings)
    client = moderator(cast)
    assert "Possible risk</strong>" not in client.get("/moderation/").content.decode()
    page = client.get(f"/moderation/{risky}/").content.decode()
    assert '<mark class="risk">kill myself</mark>' in page
