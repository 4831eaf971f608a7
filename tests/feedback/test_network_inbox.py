"""The network inbox and story log: a lead's staff read the published stories of its active,
consenting members (never anyone else's), with each member's progress and responses, and
keep a private log of offline follow-ups, filtered and exported as CSV, in the lead's own
schema only. A is the lead, B the member."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from feedback.models import NetworkFollowUp, Story
from feedback.network_follow_ups import FollowUpError, log_follow_up
from feedback.network_inbox import NetworkInboxFilters, filtered_network_stories, network_members
from feedback.responding import Draft, publish_response
from tenants.audit.models import AuditEvent
from tenants.models import NetworkMembership
from tenants.networks import (
    accept_invitation,
    create_network,
    decline_invitation,
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

REPLY = (
    "I am sorry the food arrived cold on the Beta Private Ward, and thank you for telling us. "
    "We now bring meals up in heated trolleys. Bea Responder, Ward Sister"
)
LOG = "/network/log/"
LOG_CSV = "/network/log.csv"
INBOX = "/network/stories/"


@pytest.fixture
def membership(cast: Cast) -> NetworkMembership:
    """A leads a network; B is invited (tests decide how it answers)."""
    network = create_network(lead=cast.org_a, name="Alpha Care Network")
    return invite_organisation(network, cast.org_b)


@pytest.fixture
def consenting(membership: NetworkMembership) -> NetworkMembership:
    return accept_invitation(membership, benchmarking_consent=True)


def lead_client(cast: Cast, email: str | None = None) -> Client:
    client = client_for(cast.org_a)
    assert sign_in(client, email or cast.member_a.email).status_code == 302
    return client


def story_of_b(cast: Cast, title: str, **kwargs: object) -> int:
    return tell_and_publish(cast, [cast.ward_b], title=title, **kwargs).public_story.pk


def respond_as_b(cast: Cast, public_id: int) -> None:
    with tenant_context(cast.org_b):
        publish_response(
            Story.objects.get(public_id=public_id),
            Draft(REPLY),
            responder=cast.responder_b,
            written_by=cast.responder_b,
        )


def page(client: Client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, path
    return response.content.decode()


def assert_no_contact_details(text: str) -> None:
    assert AUTHOR_EMAIL not in text and AUTHOR_POSTCODE not in text


def test_the_lead_reads_a_consenting_members_stories_with_its_progress_and_responses(
    cast: Cast, consenting: NetworkMembership
) -> None:
    answered = story_of_b(cast, "Cold food on the Beta ward", criticality="moderately critical")
    respond_as_b(cast, answered)
    waiting = story_of_b(cast, "Nobody answered the call bell")
    tell_and_publish(cast, [cast.ward_a], title="The lead's own story")

    client = lead_client(cast)
    inbox = page(client, INBOX)
    assert "Cold food on the Beta ward" in inbox and "Nobody answered the call bell" in inbox
    assert "The lead&#x27;s own story" not in inbox and "own story" not in inbox
    assert cast.org_b.name in inbox and "Beta Private Ward" in inbox
    assert "2</strong> stories · 1 responded to by the member" in inbox
    assert_no_contact_details(inbox)

    story = page(client, f"{INBOX}{answered}/")
    assert "Cold food on the Beta ward" in story
    assert "Progress: <strong>Responded</strong>" in story  # B's own progress
    assert "heated trolleys" in story and "Bea Responder" in story
    assert "Moderately critical" in story
    assert_no_contact_details(story)
    other = page(client, f"{INBOX}{waiting}/")
    assert "Progress: <strong>Unheard</strong>" in other and "No response from" in other

    # The lead's workspace home links the inbox and the log.
    home = page(client, "/")
    assert f'href="{INBOX}"' in home and f'href="{LOG}"' in home


def test_a_story_shared_with_a_non_member_shows_only_the_members_part(
    cast: Cast, consenting: NetworkMembership
) -> None:
    gamma = provision_organisation(
        name="Gamma Community Trust",
        slug="gamma-network",
        kind="community trust",
        admin_email="admin@gamma-network.example",
        admin_name="Gus Admin",
        admin_password=PASSWORD,
    )
    (gamma_ward,) = _services(gamma.organisation, "Gamma House", [("Gamma Lodge", "", "ward")])
    public_id = tell_and_publish(
        cast, [cast.ward_b, gamma_ward], title="Moved between Beta and Gamma"
    ).public_story.pk
    respond_as_b(cast, public_id)
    with tenant_context(gamma.organisation):
        publish_response(
            Story.objects.get(public_id=public_id),
            Draft(REPLY.replace("Bea Responder", "Gus Admin").replace("heated", "insulated")),
            responder=gamma.admin,
            written_by=gamma.admin,
        )

    client = lead_client(cast)
    for text in (page(client, INBOX), page(client, f"{INBOX}{public_id}/")):
        assert "Moved between Beta and Gamma" in text and cast.org_b.name in text
        assert "Gamma Community Trust" not in text and "Gamma Lodge" not in text
        assert "Gus Admin" not in text and "insulated" not in text
    assert "heated trolleys" in page(client, f"{INBOX}{public_id}/")
    assert page(client, f"{INBOX}?member={gamma.organisation.pk}", status=400)


@pytest.mark.parametrize(
    "answer", ["invited", "declined", "no consent", "consent withdrawn", "left", "not invited"]
)
def test_stories_of_members_not_active_and_consenting_never_appear(
    cast: Cast, membership: NetworkMembership, answer: str
) -> None:
    if answer == "declined":
        decline_invitation(membership)
    elif answer == "no consent":
        accept_invitation(membership, benchmarking_consent=False)
    elif answer == "consent withdrawn":
        accept_invitation(membership, benchmarking_consent=True)
        set_benchmarking_consent(membership, False)
    elif answer == "left":
        accept_invitation(membership, benchmarking_consent=True)
        leave_network(membership)
    elif answer == "not invited":
        membership.delete()
    public_id = story_of_b(cast, "Beta story the lead must not see")

    assert network_members(cast.org_a) == []
    client = lead_client(cast)
    inbox = page(client, f"{INBOX}?q=Beta")
    assert "Beta story the lead must not see" not in inbox and cast.org_b.name not in inbox
    assert "0</strong> stories" in inbox
    page(client, f"{INBOX}{public_id}/", status=404)
    refused = client.post(
        f"{INBOX}{public_id}/",
        {"member": cast.org_b.pk, "spoke_with": "Someone", "outcome": "Something"},
    )
    assert refused.status_code == 404
    with tenant_context(cast.org_a), pytest.raises(FollowUpError):
        log_follow_up(
            cast.org_a,
            public_id,
            member_id=cast.org_b.pk,
            spoke_with="Someone",
            outcome="Something",
            author=cast.member_a,
        )
    with tenant_context(cast.org_a):
        assert not NetworkFollowUp.objects.exists()


def test_the_filters_are_the_inboxs_plus_member(cast: Cast, consenting: NetworkMembership) -> None:
    cold = story_of_b(
        cast,
        "Cold food on the Beta ward",
        criticality="strongly critical",
        tags=["what could be improved:food"],
    )
    respond_as_b(cast, cold)
    kind = story_of_b(cast, "Kind porters", criticality="not critical")
    members = network_members(cast.org_a)
    assert members == [cast.org_b]

    def ids(**filters: object) -> set[int]:
        return set(
            filtered_network_stories(NetworkInboxFilters(**filters), members).values_list(
                "pk", flat=True
            )
        )

    assert ids() == {cold, kind}
    assert ids(member=cast.org_b.pk) == {cold, kind}
    assert ids(member=cast.org_a.pk) == set()  # the lead is not its own member
    assert ids(criticality="strongly critical") == {cold}
    assert ids(tag="what could be improved:food") == {cold}
    assert ids(tag="what was good:kind staff") == {kind}
    assert ids(responded="yes") == {cold} and ids(responded="no") == {kind}
    assert ids(progress="responded") == {cold} and ids(progress="unheard") == {kind}
    assert ids(q="porters") == {kind}
    assert ids(service=cast.ward_b.pk) == {cold, kind}
    assert ids(service=cast.ward_a.pk) == set()  # the lead's own service is not a member's
    today = timezone.localdate()
    assert ids(since=today, until=today) == {cold, kind}
    assert ids(until=today - timedelta(days=1)) == set()

    client = lead_client(cast)
    shown = page(client, f"{INBOX}?member={cast.org_b.pk}&criticality=not+critical")
    assert "Kind porters" in shown and "Cold food" not in shown
    assert client.get(f"{INBOX}?since=not-a-date").status_code == 400
    assert client.get(f"{INBOX}?member=999999").status_code == 400  # not a member: refused


def test_a_members_staff_cannot_reach_the_leads_inbox_or_log(
    cast: Cast, consenting: NetworkMembership
) -> None:
    public_id = story_of_b(cast, "Cold food on the Beta ward")
    with tenant_context(cast.org_a):
        log_follow_up(
            cast.org_a,
            public_id,
            member_id=cast.org_b.pk,
            spoke_with="Ward Sister at Beta",
            outcome="Private note of the lead",
            author=cast.member_a,
        )
    member = client_for(cast.org_b)
    assert sign_in(member, cast.admin_b.email).status_code == 302
    for path in (INBOX, f"{INBOX}{public_id}/", LOG, LOG_CSV):
        response = member.get(path)
        assert response.status_code == 403, path
        assert "Private note of the lead" not in response.content.decode()
    home = page(member, "/")
    assert f'href="{LOG}"' not in home and f'href="{INBOX}"' not in home
    refused = member.post(
        f"{INBOX}{public_id}/",
        {"member": cast.org_b.pk, "spoke_with": "Me", "outcome": "Myself"},
    )
    assert refused.status_code == 403

    # B's session means nothing at A's address, and B's accounts do not exist there.
    at_lead = client_for(cast.org_a)
    at_lead.cookies = member.cookies
    assert at_lead.get(LOG).status_code == 302
    assert sign_in(client_for(cast.org_a), cast.admin_b.email).status_code == 200
    with tenant_context(cast.org_b):
        assert not NetworkFollowUp.objects.exists()
        assert not AuditEvent.objects.filter(action__startswith="network.follow_up").exists()


def test_lead_staff_log_follow_ups_named_and_audited_several_per_story(
    cast: Cast, consenting: NetworkMembership
) -> None:
    public_id = story_of_b(cast, "Cold food on the Beta ward")
    client = lead_client(cast)
    posted = client.post(
        f"{INBOX}{public_id}/",
        {
            "member": cast.org_b.pk,
            "spoke_with": "Bea Responder, Ward Sister, by phone",
            "outcome": "Heated trolleys ordered; Beta will report back in March.",
        },
    )
    assert posted.status_code == 302
    second = lead_client(cast, cast.responder_a.email)
    assert (
        second.post(
            f"{INBOX}{public_id}/",
            {"member": cast.org_b.pk, "spoke_with": "Beta's Matron", "outcome": "Checked: done."},
        ).status_code
        == 302
    )

    story = page(client, f"{INBOX}{public_id}/")
    assert "Heated trolleys ordered" in story and "Checked: done." in story
    assert cast.member_a.full_name in story and cast.responder_a.full_name in story
    assert "Followed up offline (2)" in page(client, INBOX)
    with tenant_context(cast.org_a):
        entries = list(NetworkFollowUp.objects.order_by("created_at"))
        assert [e.author_name for e in entries] == [
            cast.member_a.full_name,
            cast.responder_a.full_name,
        ]
        assert {e.member_name for e in entries} == {cast.org_b.name}
        audit = AuditEvent.objects.filter(action="network.follow_up_logged")
        assert audit.count() == 2
        assert {a.actor_id for a in audit} == {cast.member_a.pk, cast.responder_a.pk}
        assert all(a.target_type == "feedback.networkfollowup" for a in audit)

    # Something missing, or a member the story is not about: said, and nothing written.
    missing = client.post(f"{INBOX}{public_id}/", {"member": cast.org_b.pk, "spoke_with": "X"})
    assert missing.status_code == 400 and "Say what came of it." in missing.content.decode()
    wrong = client.post(
        f"{INBOX}{public_id}/", {"member": cast.org_a.pk, "spoke_with": "X", "outcome": "Y"}
    )
    assert wrong.status_code == 400
    with tenant_context(cast.org_a):
        assert NetworkFollowUp.objects.count() == 2


def read_csv(response) -> list[list[str]]:  # noqa: ANN001
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_log_filters_and_exports_only_the_leads_own_entries(
    cast: Cast, consenting: NetworkMembership
) -> None:
    cold = story_of_b(cast, "Cold food on the Beta ward")
    bell = story_of_b(cast, "Nobody answered the call bell")
    with tenant_context(cast.org_a):
        old = log_follow_up(
            cast.org_a,
            cold,
            member_id=cast.org_b.pk,
            spoke_with="Ward Sister",
            outcome='=HYPERLINK("http://evil.example","click")',
            author=cast.member_a,
        )
        NetworkFollowUp.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - timedelta(days=10)
        )
        log_follow_up(
            cast.org_a,
            bell,
            member_id=cast.org_b.pk,
            spoke_with="Matron",
            outcome="Call bells checked every hour now.",
            author=cast.responder_a,
        )
    # B leads a network of its own, with A as a member, and logs about A's story.
    b_network = create_network(lead=cast.org_b, name="Beta Network")
    accept_invitation(invite_organisation(b_network, cast.org_a), benchmarking_consent=True)
    a_story = tell_and_publish(cast, [cast.ward_a], title="Alpha story").public_story.pk
    with tenant_context(cast.org_b):
        log_follow_up(
            cast.org_b,
            a_story,
            member_id=cast.org_a.pk,
            spoke_with="Alpha's ward manager",
            outcome="Beta's private outcome",
            author=cast.responder_b,
        )

    client = lead_client(cast)
    log = page(client, LOG)
    assert "Call bells checked" in log and "HYPERLINK" in log
    assert "Beta&#x27;s private outcome" not in log and "private outcome" not in log
    assert "Alpha story" not in log
    today = timezone.localdate()
    recent = page(client, f"{LOG}?since={today.isoformat()}")
    assert "Call bells checked" in recent and "HYPERLINK" not in recent
    mine = page(client, f"{LOG}?who={cast.member_a.pk}")
    assert "HYPERLINK" in mine and "Call bells checked" not in mine
    assert "HYPERLINK" in page(client, f"{LOG}?member={cast.org_b.pk}")
    assert client.get(f"{LOG}?since=2026-02-01&until=2026-01-01").status_code == 400

    rows = read_csv(client.get(LOG_CSV))
    assert rows[0] == [
        "Logged at",
        "Logged by",
        "Member",
        "Story id",
        "Story title",
        "Spoke with",
        "Outcome",
    ]
    body = rows[1:]
    assert [r[4] for r in body] == ["Nobody answered the call bell", "Cold food on the Beta ward"]
    assert [r[1] for r in body] == [cast.responder_a.full_name, cast.member_a.full_name]
    # A formula is written as text.
    assert body[1][6] == '\'=HYPERLINK("http://evil.example","click")'
    whole = client.get(LOG_CSV).content.decode()
    assert "Beta's private outcome" not in whole and "Alpha story" not in whole
    assert_no_contact_details(whole)
    filtered = read_csv(client.get(f"{LOG_CSV}?who={cast.responder_a.pk}"))
    assert [r[6] for r in filtered[1:]] == ["Call bells checked every hour now."]
    assert client.get(f"{LOG_CSV}?since=bad").status_code == 400
    with tenant_context(cast.org_a):
        exports = AuditEvent.objects.filter(action="network.follow_ups_exported")
        assert exports.count() == 3 and exports.first().actor_id == cast.member_a.pk

    # B's own log and CSV hold only B's entry.
    beta = client_for(cast.org_b)
    sign_in(beta, cast.responder_b.email)
    beta_rows = read_csv(beta.get(LOG_CSV))[1:]
    assert [r[6] for r in beta_rows] == ["Beta's private outcome"]

    # Once B leaves, A's log keeps A's own record but no longer shows B's story.
    leave_network(consenting)
    after = page(client, LOG)
    assert "Call bells checked" in after and "Nobody answered the call bell" not in after
    assert "(no longer shared)" in after
