"""A moderator answers a referred member's request to publish a story under its services
(feedback/referral_moderation.py): adding writes the member's copy like a publication (its
inbox, its rollups, the hub's links), audited and told to the member once; declining needs a
note; an answer is given once; only moderators reach the page; bad input is a 400."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from feedback.hub.models import PublicStoryOrganisation, ReferralDecision, StoryReferral
from feedback.models import Story
from feedback.network_discussion import ask_to_add_services, refer_story
from feedback.referral_moderation import (
    ReferralDecisionError,
    add_referred_services,
    decline_referred_services,
)
from tenants.audit.models import AuditEvent
from tenants.models import NetworkMembership, OutboxMessage
from tests.conftest import AUTHOR_EMAIL, Cast, _services, client_for, sign_in
from tests.feedback.test_network_discussion import network, signed_in, third_member

pytestmark = pytest.mark.django_db

__all__ = ["network"]  # the fixture, used by name

DECIDED_KIND = "feedback.network_referral_decided"


@pytest.fixture
def asked(cast: Cast, network: tuple) -> tuple:
    """Gamma, a third member, was referred B's story by the lead A and asked the moderators
    to add its ward."""
    network, _, story = network
    gamma, gamma_responder = third_member(network)
    (gamma_ward,) = _services(gamma, "Gamma Hospital", [("Gamma Ward", "GW1", "ward")])
    with tenant_context(cast.org_a):
        referral = refer_story(
            lead=cast.org_a,
            public_story_id=story.pk,
            membership=NetworkMembership.objects.get(network=network, organisation=gamma),
            referrer=cast.responder_a,
            note="This concerns your ward.",
        )
    ask_to_add_services(referral, organisation=gamma, services=[gamma_ward], asker=gamma_responder)
    return referral, story, gamma, gamma_responder, gamma_ward


def moderator(cast: Cast) -> Client:
    client = client_for(None)
    assert sign_in(client, cast.moderator.email).status_code == 302
    return client


def test_a_moderator_adds_the_services_and_the_member_has_the_story_like_any_other(
    cast: Cast, asked: tuple
) -> None:
    referral, story, gamma, gamma_responder, gamma_ward = asked
    hub = moderator(cast)
    page = hub.get("/moderation/referrals/").content.decode()
    assert f"Story {story.pk}" in page and gamma.name in page and "Gamma Ward" in page

    response = hub.post(f"/moderation/referrals/{referral.pk}/", {"action": "add", "note": ""})
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.service_decision == ReferralDecision.ADDED
    assert story.services.filter(pk=gamma_ward.pk).exists()
    assert PublicStoryOrganisation.objects.filter(publicstory=story, organisation=gamma).exists()
    with tenant_context(gamma):
        copy = Story.objects.get(public_id=story.pk)
        assert list(copy.services.values_list("pk", flat=True)) == [gamma_ward.service_id]
        assert copy.title == story.title and copy.criticality == story.criticality
        assert copy.due_at is not None  # alerts set its target, as for any publication
    with schema_context("public"):
        assert AuditEvent.objects.filter(action="moderation.referral_services_added").count() == 1
    told = OutboxMessage.objects.filter(kind=DECIDED_KIND)
    assert {m.recipient for m in told} == {gamma_responder.email, "admin@gamma.example"}

    # The member reads it in its own inbox now, and the referral says so.
    member = signed_in(gamma, gamma_responder.email)
    assert story.title in member.get("/stories/").content.decode()
    text = member.get(f"/network/referrals/{referral.pk}/").content.decode()
    assert "added them on" in text and AUTHOR_EMAIL not in text

    # Answered once: a second answer is refused, and nothing is written twice.
    again = hub.post(f"/moderation/referrals/{referral.pk}/", {"action": "add"})
    assert again.status_code == 400
    assert "answered this request already" in again.content.decode()
    with tenant_context(gamma):
        assert Story.objects.filter(public_id=story.pk).count() == 1
    assert OutboxMessage.objects.filter(kind=DECIDED_KIND).count() == 2


def test_declining_needs_a_note_which_the_member_reads(cast: Cast, asked: tuple) -> None:
    referral, story, gamma, gamma_responder, gamma_ward = asked
    hub = moderator(cast)
    empty = hub.post(f"/moderation/referrals/{referral.pk}/", {"action": "decline", "note": " "})
    assert empty.status_code == 400 and "note is required" in empty.content.decode()
    response = hub.post(
        f"/moderation/referrals/{referral.pk}/",
        {"action": "decline", "note": "It is about the <b>discharge</b> team, not the ward."},
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.service_decision == ReferralDecision.DECLINED
    assert not story.services.filter(pk=gamma_ward.pk).exists()
    with tenant_context(gamma):
        assert not Story.objects.filter(public_id=story.pk).exists()
    text = signed_in(gamma, gamma_responder.email).get(f"/network/referrals/{referral.pk}/")
    assert "the &lt;b&gt;discharge&lt;/b&gt; team" in text.content.decode()
    assert OutboxMessage.objects.filter(kind=DECIDED_KIND).count() == 2


def test_only_moderators_reach_the_page_and_bad_input_is_a_400(cast: Cast, asked: tuple) -> None:
    referral = asked[0]
    staff = signed_in(cast.org_a, cast.admin_a.email)
    assert staff.get("/moderation/referrals/").status_code == 404  # not on a workspace
    hub = client_for(None)
    assert hub.get("/moderation/referrals/").status_code == 302  # to sign in
    assert hub.post(f"/moderation/referrals/{referral.pk}/", {"action": "add"}).status_code == 302
    hub = moderator(cast)
    assert hub.post(f"/moderation/referrals/{referral.pk}/", {"action": "x"}).status_code == 400
    assert hub.post("/moderation/referrals/999999/", {"action": "add"}).status_code == 400
    referral.refresh_from_db()
    assert referral.service_decision == ""


def test_a_story_already_at_the_member_or_a_service_gone_is_refused(
    cast: Cast, asked: tuple
) -> None:
    referral, story, gamma, _, gamma_ward = asked
    gamma_ward.is_active = False
    gamma_ward.save(update_fields=["is_active"])
    with pytest.raises(ReferralDecisionError, match="still listed"):
        add_referred_services(referral.pk, moderator=cast.moderator)
    referral.refresh_from_db()
    assert referral.service_decision == ""
    with pytest.raises(ReferralDecisionError, match="note is required"):
        decline_referred_services(referral.pk, moderator=cast.moderator, note="")
    assert StoryReferral.objects.get(pk=referral.pk).service_decision == ""
