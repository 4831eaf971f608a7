"""The network's shared discussion and referrals (feedback/network_discussion.py): seen by
the lead's staff and the member's only, each note named, escaped, audited and emailed once
per note and recipient through the outbox; closed to the lead when the member leaves or
withdraws consent; a referral seen by the referred member only."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from feedback.hub.models import NetworkDiscussionNote, StoryReferral
from feedback.network_discussion import (
    DiscussionError,
    _alert_other_side,
    refer_story,
    referral_targets,
    write_note,
)
from tenants.accounts.models import Role, User
from tenants.audit.models import AuditEvent
from tenants.models import NetworkMembership, Organisation, OutboxMessage
from tenants.networks import (
    accept_invitation,
    create_network,
    invite_organisation,
    leave_network,
    set_benchmarking_consent,
)
from tenants.provisioning import provision_organisation
from tests.conftest import (
    AUTHOR_EMAIL,
    AUTHOR_POSTCODE,
    PASSWORD,
    Cast,
    _services,
    client_for,
    sign_in,
    tell_and_publish,
)

pytestmark = pytest.mark.django_db

NOTE_KIND = "feedback.network_discussion_note"


@pytest.fixture
def network(cast: Cast) -> tuple:
    """A is the lead; B an active member that consents; B's story published."""
    network = create_network(lead=cast.org_a, name="Northshire Discussion Network")
    membership = accept_invitation(
        invite_organisation(network, cast.org_b), benchmarking_consent=True
    )
    published = tell_and_publish(cast, [cast.ward_b], title="A long wait in the ward")
    return network, membership, published.public_story


def signed_in(organisation: Organisation, email: str) -> Client:
    client = client_for(organisation)
    assert sign_in(client, email).status_code == 302
    return client


def story_pk(organisation: Organisation, public_id: int) -> int:
    from feedback.models import Story

    with tenant_context(organisation):
        return Story.objects.get(public_id=public_id).pk


def third_member(network, name: str = "Gamma Community Trust") -> tuple[Organisation, User]:  # noqa: ANN001
    """Another organisation, an active consenting member of the same network."""
    organisation = provision_organisation(
        name=name,
        slug="gamma",
        kind="community trust",
        admin_email="admin@gamma.example",
        admin_name="Admin of Gamma",
        admin_password=PASSWORD,
    ).organisation
    with tenant_context(organisation):
        responder = User.objects.create_user(
            "responder@gamma.example", PASSWORD, full_name="Gil Gamma", role=Role.RESPONDER
        )
    accept_invitation(invite_organisation(network, organisation), benchmarking_consent=True)
    return organisation, responder


def notes_mailed_to(organisation: Organisation) -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(kind=NOTE_KIND, organisation=organisation).order_by("pk")
    )


def test_lead_and_member_discuss_a_story_named_audited_and_alerted_once_each(
    cast: Cast, network: tuple
) -> None:
    network, _, story = network
    lead = signed_in(cast.org_a, cast.responder_a.email)
    page = f"/network/stories/{story.pk}/discussion/"
    response = lead.get(page)
    assert response.status_code == 200
    assert "A long wait in the ward" in response.content.decode()

    response = lead.post(
        page,
        {
            "action": "note",
            "network": network.pk,
            "member": cast.org_b.pk,
            "text": "We saw this one. What are you doing about the wait?",
        },
    )
    assert response.status_code == 302
    # B's administrators and responders are told, once each; nobody at A.
    to_b = notes_mailed_to(cast.org_b)
    assert sorted(m.recipient for m in to_b) == sorted([cast.admin_b.email, cast.responder_b.email])
    assert notes_mailed_to(cast.org_a) == []
    email = to_b[0]
    assert "A long wait in the ward" in email.subject and cast.org_a.name in email.subject
    assert f"/stories/{story_pk(cast.org_b, story.pk)}/#network-discussion" in email.text_body
    assert AUTHOR_EMAIL not in email.text_body and AUTHOR_POSTCODE not in email.text_body
    # Written again for the same note (a retried alert), nothing more is sent.
    note = NetworkDiscussionNote.objects.get()
    _alert_other_side(note, cast.org_b)
    assert len(notes_mailed_to(cast.org_b)) == 2
    with tenant_context(cast.org_a):
        audit = AuditEvent.objects.get(action="network.discussion_noted")
        assert audit.actor_id == cast.responder_a.pk and audit.target_id == str(note.pk)

    # B's staff read it on their own story page, named, and reply.
    member = signed_in(cast.org_b, cast.responder_b.email)
    b_story = story_pk(cast.org_b, story.pk)
    text = member.get(f"/stories/{b_story}/").content.decode()
    assert "Network discussion" in text
    assert "We saw this one." in text
    assert "Rita Responder" in text and cast.org_a.name in text
    assert AUTHOR_EMAIL not in text and AUTHOR_POSTCODE not in text
    response = member.post(
        f"/stories/{b_story}/network-discussion/",
        {
            "network": network.pk,
            "member": cast.org_b.pk,
            "text": "A new bed manager starts Monday.",
        },
    )
    assert response.status_code == 302
    # A's administrator and responder are told (not its plain member), linked to its page.
    to_a = notes_mailed_to(cast.org_a)
    assert sorted(m.recipient for m in to_a) == sorted([cast.admin_a.email, cast.responder_a.email])
    assert f"/network/stories/{story.pk}/discussion/" in to_a[0].text_body
    with tenant_context(cast.org_b):
        assert AuditEvent.objects.filter(action="network.discussion_noted").count() == 1

    text = lead.get(page).content.decode()
    assert "A new bed manager starts Monday." in text and "Bea Responder" in text


def test_a_note_with_markup_shows_as_text(cast: Cast, network: tuple) -> None:
    network, _, story = network
    with tenant_context(cast.org_a):
        write_note(
            network=network,
            public_story_id=story.pk,
            member=cast.org_b,
            writer_organisation=cast.org_a,
            writer=cast.responder_a,
            text='<script>alert("x")</script> <b>bold</b>',
        )
    for organisation, email, path in (
        (cast.org_a, cast.responder_a.email, f"/network/stories/{story.pk}/discussion/"),
        (cast.org_b, cast.responder_b.email, f"/stories/{story_pk(cast.org_b, story.pk)}/"),
    ):
        text = signed_in(organisation, email).get(path).content.decode()
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
        assert '<script>alert("x")' not in text and "<b>bold</b>" not in text


def test_another_member_and_outsiders_never_see_or_write_in_the_thread(
    cast: Cast, network: tuple
) -> None:
    network, _, story = network
    with tenant_context(cast.org_a):
        write_note(
            network=network,
            public_story_id=story.pk,
            member=cast.org_b,
            writer_organisation=cast.org_a,
            writer=cast.responder_a,
            text="Private between the lead and Beta.",
        )
    gamma, gamma_responder = third_member(network)
    other = signed_in(gamma, gamma_responder.email)
    # Not the lead: no discussion page; nor a story page of its own for B's story.
    assert other.get(f"/network/stories/{story.pk}/discussion/").status_code == 404
    assert "Private between" not in other.get("/stories/").content.decode()
    response = other.post(
        f"/stories/{story_pk(cast.org_b, story.pk)}/network-discussion/",
        {"network": network.pk, "member": cast.org_b.pk, "text": "Let me in."},
    )
    assert response.status_code == 404
    # The member itself is not the lead either.
    member = signed_in(cast.org_b, cast.responder_b.email)
    assert member.get(f"/network/stories/{story.pk}/discussion/").status_code == 404
    # Gamma writing as if it were in B's thread is refused by the operation itself.
    with pytest.raises(DiscussionError), tenant_context(gamma):
        write_note(
            network=network,
            public_story_id=story.pk,
            member=cast.org_b,
            writer_organisation=gamma,
            writer=gamma_responder,
            text="Sneaking in.",
        )
    assert NetworkDiscussionNote.objects.count() == 1
    assert notes_mailed_to(gamma) == []


@pytest.mark.parametrize("how", ["withdraws consent", "leaves"])
def test_a_member_that_withdraws_consent_or_leaves_closes_the_thread_to_the_lead(
    cast: Cast, network: tuple, how: str
) -> None:
    network, membership, story = network
    with tenant_context(cast.org_a):
        write_note(
            network=network,
            public_story_id=story.pk,
            member=cast.org_b,
            writer_organisation=cast.org_a,
            writer=cast.responder_a,
            text="Before they went.",
        )
    if how == "leaves":
        leave_network(membership)
    else:
        set_benchmarking_consent(membership, False)
    lead = signed_in(cast.org_a, cast.responder_a.email)
    page = f"/network/stories/{story.pk}/discussion/"
    assert lead.get(page).status_code == 404
    response = lead.post(
        page, {"action": "note", "network": network.pk, "member": cast.org_b.pk, "text": "Hello?"}
    )
    assert response.status_code == 404
    with pytest.raises(DiscussionError, match="closed"), tenant_context(cast.org_a):
        write_note(
            network=network,
            public_story_id=story.pk,
            member=cast.org_b,
            writer_organisation=cast.org_a,
            writer=cast.responder_a,
            text="Still there?",
        )
    # The member still reads its past thread, closed.
    member = signed_in(cast.org_b, cast.responder_b.email)
    b_story = story_pk(cast.org_b, story.pk)
    text = member.get(f"/stories/{b_story}/").content.decode()
    assert "Before they went." in text and "Closed" in text
    member.post(
        f"/stories/{b_story}/network-discussion/",
        {"network": network.pk, "member": cast.org_b.pk, "text": "After."},
    )
    assert NetworkDiscussionNote.objects.count() == 1
    # Consent given again (or rejoined): the thread opens again.
    if how == "withdraws consent":
        set_benchmarking_consent(membership, True)
        assert lead.get(page).status_code == 200


def test_a_referral_reaches_the_referred_member_only_and_asks_the_moderators(
    cast: Cast, network: tuple
) -> None:
    network, _, story = network
    gamma, gamma_responder = third_member(network)
    (gamma_ward,) = _services(gamma, "Gamma Hospital", [("Gamma Ward", "GW1", "ward")])
    lead = signed_in(cast.org_a, cast.responder_a.email)
    page = f"/network/stories/{story.pk}/discussion/"
    target = NetworkMembership.objects.get(network=network, organisation=gamma)
    assert [m.pk for m in referral_targets(cast.org_a, story.pk)] == [target.pk]
    response = lead.post(
        page,
        {"action": "refer", "membership": target.pk, "text": "This concerns your <b>ward</b>."},
    )
    assert response.status_code == 302
    referral = StoryReferral.objects.get()
    assert referral.referred_to == gamma and referral.referred_by_name == "Rita Responder"
    with tenant_context(cast.org_a):
        assert AuditEvent.objects.filter(action="network.story_referred").count() == 1
    assert OutboxMessage.objects.filter(kind="feedback.network_referral").count() == 2

    # In Gamma's inbox, with the note, escaped; not in Beta's.
    other = signed_in(gamma, gamma_responder.email)
    inbox = other.get("/stories/").content.decode()
    assert f"Referred by {cast.org_a.name}" in inbox and "A long wait in the ward" in inbox
    text = other.get(f"/network/referrals/{referral.pk}/").content.decode()
    assert "This concerns your &lt;b&gt;ward&lt;/b&gt;." in text
    assert AUTHOR_EMAIL not in text and AUTHOR_POSTCODE not in text
    member = signed_in(cast.org_b, cast.responder_b.email)
    assert "Referred by" not in member.get("/stories/").content.decode()
    assert member.get(f"/network/referrals/{referral.pk}/").status_code == 404

    # Gamma asks to add its ward: recorded, audited, sent to platform staff; not published.
    response = other.post(f"/network/referrals/{referral.pk}/", {"services": [gamma_ward.pk]})
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.service_request_at is not None
    assert list(referral.requested_services.all()) == [gamma_ward]
    assert not story.services.filter(pk=gamma_ward.pk).exists()
    with tenant_context(gamma):
        assert AuditEvent.objects.filter(action="network.referral_services_requested").count() == 1
    asked = OutboxMessage.objects.filter(kind="feedback.network_referral_services")
    assert cast.moderator.email in {m.recipient for m in asked}

    # Once only; and never to an organisation the story already names.
    with pytest.raises(DiscussionError), tenant_context(cast.org_a):
        refer_story(
            lead=cast.org_a,
            public_story_id=story.pk,
            membership=target,
            referrer=cast.responder_a,
            note="Again.",
        )
    member_b = NetworkMembership.objects.get(network=network, organisation=cast.org_b)
    with pytest.raises(DiscussionError), tenant_context(cast.org_a):
        refer_story(
            lead=cast.org_a,
            public_story_id=story.pk,
            membership=member_b,
            referrer=cast.responder_a,
            note="Yours.",
        )


def test_a_member_without_consent_is_never_offered_a_referral(cast: Cast, network: tuple) -> None:
    network, _, story = network
    gamma, _ = third_member(network)
    target = NetworkMembership.objects.get(network=network, organisation=gamma)
    set_benchmarking_consent(target, False)
    assert referral_targets(cast.org_a, story.pk) == []
    with pytest.raises(DiscussionError), tenant_context(cast.org_a):
        refer_story(
            lead=cast.org_a,
            public_story_id=story.pk,
            membership=target,
            referrer=cast.responder_a,
            note="This concerns you.",
        )
    assert not StoryReferral.objects.exists()


def test_the_panels_add_no_search_path_change_to_the_story_page_and_inbox(
    cast: Cast, network: tuple
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    network, _, story = network
    with tenant_context(cast.org_a):
        write_note(
            network=network,
            public_story_id=story.pk,
            member=cast.org_b,
            writer_organisation=cast.org_a,
            writer=cast.responder_a,
            text="Counted.",
        )
    member = signed_in(cast.org_b, cast.responder_b.email)
    lead = signed_in(cast.org_a, cast.responder_a.email)
    for client, path in (
        (member, f"/stories/{story_pk(cast.org_b, story.pk)}/"),
        (member, "/stories/"),
        (lead, f"/network/stories/{story.pk}/discussion/"),
    ):
        client.get(path)  # warm the routing cache
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200
        sets = [q for q in queries.captured_queries if q["sql"].startswith("SET search_path")]
        assert len(sets) == 1, path


def test_a_story_of_an_organisation_that_has_not_joined_has_no_discussion(
    cast: Cast, network: tuple
) -> None:
    network, _, _ = network
    organisation = provision_organisation(
        name="Delta Hospice",
        slug="delta",
        kind="hospice",
        admin_email="admin@delta.example",
        admin_name="Admin of Delta",
        admin_password=PASSWORD,
    ).organisation
    invite_organisation(network, organisation)  # invited, never joined
    (ward,) = _services(organisation, "Delta House", [("Delta Day Care", "DDC", "clinic")])
    story = tell_and_publish(cast, [ward], title="Only Delta's").public_story
    lead = signed_in(cast.org_a, cast.responder_a.email)
    assert lead.get(f"/network/stories/{story.pk}/discussion/").status_code == 404
    assert all(m.organisation != organisation for m in referral_targets(cast.org_a, story.pk))
    with pytest.raises(DiscussionError), tenant_context(cast.org_a):
        write_note(
            network=network,
            public_story_id=story.pk,
            member=organisation,
            writer_organisation=cast.org_a,
            writer=cast.responder_a,
            text="Not yours to discuss.",
        )
