"""The demo's network discussion: the ICB's note on a provider's story and the provider's
reply, and a story the ICB referred to another provider; seeding twice adds nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from feedback.hub.models import NetworkDiscussionNote, StoryReferral
from feedback.models import Story
from tenants.demo import DEMO_PASSWORD
from tenants.models import Organisation, OutboxMessage
from tests.conftest import client_for, sign_in

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    return out.getvalue()


def test_the_demo_has_a_discussion_thread_and_a_referred_story() -> None:
    output = _seed()
    icb = Organisation.objects.get(slug="northshire-icb")
    hospitals = Organisation.objects.get(slug="northshire-hospitals")
    mental_health = Organisation.objects.get(slug="northshire-mental-health")

    lead_note, reply = NetworkDiscussionNote.objects.order_by("pk")
    assert lead_note.written_by_organisation == icb and lead_note.member == hospitals
    assert reply.written_by_organisation == hospitals
    assert reply.public_story == lead_note.public_story
    referral = StoryReferral.objects.get()
    assert referral.referred_to == mental_health
    assert not referral.public_story.organisations.filter(pk=mental_health.pk).exists()
    # Mental Health asked the moderators to add one of its services; it waits for them.
    assert referral.service_request_at is not None and referral.service_decision == ""
    assert [s.organisation for s in referral.requested_services.all()] == [mental_health]
    assert "/moderation/referrals/" in output
    kinds = set(OutboxMessage.objects.values_list("kind", flat=True))
    assert {"feedback.network_discussion_note", "feedback.network_referral"} <= kinds
    story = lead_note.public_story
    assert f"/network/stories/{story.pk}/discussion/" in output
    assert "Referred story:" in output

    # The ICB's member of staff reads the thread; the provider's on its story page.
    lead = client_for(icb)
    assert sign_in(lead, "member@northshire-icb.example", DEMO_PASSWORD).status_code == 302
    text = lead.get(f"/network/stories/{story.pk}/discussion/").content.decode()
    assert "discharge lounge opens next month" in text
    with tenant_context(hospitals):
        story_pk = Story.objects.get(public_id=story.pk).pk
    provider = client_for(hospitals)
    assert (
        sign_in(provider, "member@northshire-hospitals.example", DEMO_PASSWORD).status_code == 302
    )
    assert "quality committee" in provider.get(f"/stories/{story_pk}/").content.decode()
    other = client_for(mental_health)
    assert sign_in(other, "member@northshire-mh.example", DEMO_PASSWORD).status_code == 302
    assert f"Referred by {icb.name}" in other.get("/stories/").content.decode()

    _seed()
    assert NetworkDiscussionNote.objects.count() == 2 and StoryReferral.objects.count() == 1
