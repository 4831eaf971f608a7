"""Welsh in the two places it used to slip back into English (issue #18): the reason in the
email telling an author their Welsh story was not published, and a story told in Welsh on
paper, by phone or in person, entered for its author by a moderator or a story taker."""

from __future__ import annotations

import pytest
from django.utils import translation
from django_tenants.utils import tenant_context

from feedback.hub.models import PublicStory, Submission
from feedback.models import Story
from feedback.moderation import Decision, publish_submission, reject_submission
from tests.conftest import Cast, client_for, sign_in
from tests.entering.test_entering import fields
from tests.feedback.test_story_path import AUTHOR_EMAIL, story_form
from tests.outbox_mail import sent_mail_to

pytestmark = pytest.mark.django_db


def test_a_rejected_welsh_storys_email_gives_the_reason_in_welsh(cast: Cast) -> None:
    hub = client_for(None, HTTP_ACCEPT_LANGUAGE="cy")
    hub.post("/tell/", story_form([cast.ward_a.pk], title="Hysbyseb", nickname=""))
    submission = Submission.objects.get(title="Hysbyseb")
    assert submission.language == "cy"
    # The moderator (and the worker sending the email) work in English: the reason must
    # still reach the author in Welsh.
    with translation.override("en-gb"):
        reject_submission(submission.pk, moderator=cast.moderator, reason="spam")
    rejection = [m for m in sent_mail_to(AUTHOR_EMAIL) if "Rydym wedi cael" not in m.subject]
    assert len(rejection) == 1
    assert "Sbam neu hysbysebu ydyw." in rejection[0].body
    assert "It is spam or advertising" not in rejection[0].body
    html = rejection[0].alternatives[0][0] if rejection[0].alternatives else ""
    assert "Sbam neu hysbysebu ydyw" in html


def test_an_english_storys_rejection_reason_stays_english(cast: Cast) -> None:
    client_for(None).post("/tell/", story_form([cast.ward_a.pk], title="An advert"))
    submission = Submission.objects.get(title="An advert")
    reject_submission(submission.pk, moderator=cast.moderator, reason="spam")
    bodies = " ".join(m.body for m in sent_mail_to(AUTHOR_EMAIL))
    assert "It is spam or advertising." in bodies and "Sbam" not in bodies


def test_a_welsh_paper_story_entered_by_a_moderator_is_published_in_welsh(cast: Cast) -> None:
    moderator = client_for(None)
    sign_in(moderator, cast.moderator.email)
    form = moderator.get("/moderation/enter/").content.decode()
    assert "Language the story was told in" in form
    assert 'name="language" value="en"' in form and 'value="cy"' in form
    # Required: a form without it is a 400 with a clear message, and nothing is stored.
    missing = moderator.post(
        "/moderation/enter/", fields([cast.ward_a.pk], action="send", language=None)
    )
    assert missing.status_code == 400
    assert "Say which language the story was told in." in missing.content.decode()
    assert not Submission.objects.filter(title="Gentle porters").exists()
    bad = moderator.post(
        "/moderation/enter/", fields([cast.ward_a.pk], action="send", language="fr")
    )
    assert bad.status_code == 400 and not Submission.objects.exists()

    response = moderator.post(
        "/moderation/enter/",
        fields(
            [cast.ward_a.pk],
            action="send",
            language="cy",
            title="Porthorion caredig",
            what_was_good="Roedd y porthorion yn garedig iawn wrth fy nghario i'r ward.",
            email=AUTHOR_EMAIL,
        ),
    )
    assert response.status_code == 302
    submission = Submission.objects.get(title="Porthorion caredig")
    assert submission.language == "cy" and submission.route == "paper"
    published = publish_submission(
        submission.pk,
        moderator=cast.moderator,
        decision=Decision(
            criticality="not critical",
            tag_keys=["what was good:kind staff"],
            listings=[cast.ward_a],
        ),
    )
    public = PublicStory.objects.get(pk=published.public_story.pk)
    assert public.language == "cy"
    assert "### Beth oedd yn dda" in public.body
    with tenant_context(cast.org_a):
        assert Story.objects.get(public_id=public.pk).language == "cy"
    assert "Mae eich stori wedi'i chyhoeddi" in [m.subject for m in sent_mail_to(AUTHOR_EMAIL)]


def test_an_entered_story_is_english_unless_chosen(cast: Cast) -> None:
    moderator = client_for(None)
    sign_in(moderator, cast.moderator.email)
    moderator.post("/moderation/enter/", fields([cast.ward_a.pk], action="send"))
    assert Submission.objects.get(title="Gentle porters").language == "en"
