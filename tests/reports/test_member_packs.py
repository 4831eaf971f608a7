"""Packs that reach the providers: a lead's schedule sends each consenting member its own
committee pack, to the staff the member's administrators chose (dashboards/reports/
member_packs.py), once per period and recipient, through the report outbox."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail
from django.test import Client
from django_tenants.utils import tenant_context

from dashboards.models import (
    DeliveryMethod,
    Frequency,
    MemberPackRecipients,
    ReportDelivery,
    ReportDeliveryState,
    ReportKind,
    ReportSchedule,
    SavedReport,
)
from dashboards.reports import delivering
from tenants.accounts.models import Role, User
from tenants.audit.models import AuditEvent
from tenants.models import Network, NetworkMembership, Organisation
from tenants.networks import (
    accept_invitation,
    create_network,
    invite_organisation,
    leave_network,
    set_benchmarking_consent,
)
from tenants.provisioning import provision_organisation
from tests.conftest import PASSWORD, Cast, client_for, sign_in
from tests.outbox_mail import sent_mail

pytestmark = pytest.mark.django_db

RUN = date(2026, 3, 1)
PAGE = "/reports/network-packs/"
GAMMA_RESPONDER = "responder@gamma-packs.example"


def signed_in(organisation: Organisation, email: str) -> Client:
    client = client_for(organisation)
    assert sign_in(client, email).status_code == 302
    return client


@pytest.fixture
def network(cast: Cast) -> tuple[Network, NetworkMembership, Organisation]:
    """A leads a network; B and Gamma (a real workspace) are consenting members."""
    network = create_network(lead=cast.org_a, name="Packs Network")
    membership = invite_organisation(network, cast.org_b)
    accept_invitation(membership, benchmarking_consent=True)
    gamma = provision_organisation(
        name="Gamma Packs Trust",
        slug="gamma-packs",
        kind="community trust",
        admin_email="admin@gamma-packs.example",
        admin_name="Admin of Gamma",
        admin_password=PASSWORD,
    ).organisation
    with tenant_context(gamma):
        User.objects.create_user(
            GAMMA_RESPONDER, PASSWORD, full_name="Gil Gamma", role=Role.RESPONDER
        )
    accept_invitation(invite_organisation(network, gamma), benchmarking_consent=True)
    return network, membership, gamma


def choose(
    organisation: Organisation,
    admin_email: str,
    network: Network,
    *emails: str,
    opt_out: bool = False,
) -> object:
    with tenant_context(organisation):
        ids = [User.objects.get(email=e).pk for e in emails]
    data: dict = {"network": network.pk, "recipients": ids}
    if opt_out:
        data["opt_out"] = "yes"
    return signed_in(organisation, admin_email).post(PAGE, data)


def lead_schedule(cast: Cast, method: str = DeliveryMethod.ATTACHMENT) -> ReportSchedule:
    with tenant_context(cast.org_a):
        report = SavedReport.objects.create(
            name="Bimonthly pack", kind=ReportKind.SUMMARY, months=2
        )
        return ReportSchedule.objects.create(
            report=report,
            frequency=Frequency.BIMONTHLY,
            method=method,
            recipients=[cast.admin_a.email],
            member_recipients=True,
            next_run_on=RUN,
        )


def run(cast: Cast) -> int:
    with tenant_context(cast.org_a):
        return delivering.deliver_due(RUN)


def mailed_to(email: str) -> list[mail.EmailMessage]:
    return [m for m in sent_mail() if m.to == [email]]


def test_each_member_receives_only_its_own_pack_once(cast: Cast, network: tuple) -> None:
    network, _, gamma = network
    assert (
        choose(cast.org_b, cast.admin_b.email, network, cast.responder_b.email).status_code == 302
    )
    assert choose(gamma, "admin@gamma-packs.example", network, GAMMA_RESPONDER).status_code == 302
    lead_schedule(cast)
    assert run(cast) == 3
    assert run(cast) == 0  # a second run sends nothing again

    (to_b,) = mailed_to(cast.responder_b.email)
    assert [name for name, _, _ in to_b.attachments] == [
        f"committee-pack-{cast.org_b.slug}-2026-01-01.pdf"
    ]
    assert "Gamma" not in to_b.body and "Gamma" not in to_b.subject
    (to_gamma,) = mailed_to(GAMMA_RESPONDER)
    assert [name for name, _, _ in to_gamma.attachments] == [
        "committee-pack-gamma-packs-2026-01-01.pdf"
    ]
    assert cast.org_b.name not in to_gamma.body
    # The lead's own recipient gets its own report and no member's pack.
    (to_lead,) = mailed_to(cast.admin_a.email)
    assert len(to_lead.attachments) == 1
    assert to_lead.attachments[0][0].startswith("stories-summary-")
    # Nobody else at the members was sent anything.
    assert not mailed_to(cast.admin_b.email)

    with tenant_context(cast.org_a):
        rows = list(ReportDelivery.objects.filter(member_id__isnull=False).order_by("member_name"))
    assert [(r.member_id, r.recipient, r.state) for r in rows] == [
        (cast.org_b.pk, cast.responder_b.email, ReportDeliveryState.SENT),
        (gamma.pk, GAMMA_RESPONDER, ReportDeliveryState.SENT),
    ]
    assert rows[0].key.endswith(f":n{network.pk}:m{cast.org_b.pk}:{cast.responder_b.email}")


def test_the_lead_sees_the_member_and_a_masked_address_only(cast: Cast, network: tuple) -> None:
    network, _, _ = network
    choose(cast.org_b, cast.admin_b.email, network, cast.responder_b.email)
    lead_schedule(cast)
    run(cast)
    page = signed_in(cast.org_a, cast.admin_a.email).get("/reports/outbox/").content.decode()
    assert f"to {cast.org_b.name}: r•••@beta.example" in page
    assert cast.responder_b.email not in page
    assert cast.admin_a.email in page  # its own recipients are its own


def test_members_see_what_they_received_and_nothing_of_another_member(
    cast: Cast, network: tuple
) -> None:
    network, _, gamma = network
    choose(cast.org_b, cast.admin_b.email, network, cast.responder_b.email)
    choose(gamma, "admin@gamma-packs.example", network, GAMMA_RESPONDER)
    lead_schedule(cast)
    run(cast)
    b_page = signed_in(cast.org_b, cast.admin_b.email).get(PAGE).content.decode()
    assert "Packs Network" in b_page and cast.responder_b.email in b_page
    assert "Bimonthly pack" in b_page
    assert GAMMA_RESPONDER not in b_page and "Gil Gamma" not in b_page
    assert cast.admin_a.email not in b_page  # nor the lead's own recipients
    gamma_page = signed_in(gamma, "admin@gamma-packs.example").get(PAGE).content.decode()
    assert GAMMA_RESPONDER in gamma_page
    assert cast.responder_b.email not in gamma_page and "Bea Responder" not in gamma_page
    # The lead, not a member, has no network to choose for.
    a_page = signed_in(cast.org_a, cast.admin_a.email).get(PAGE).content.decode()
    assert "not an active member of any network" in a_page


@pytest.mark.parametrize("answer", ["opted out", "no choice", "no consent", "left"])
def test_a_member_that_opted_out_withdrew_or_left_gets_nothing(
    cast: Cast, network: tuple, answer: str
) -> None:
    network, membership, _ = network
    if answer != "no choice":
        choose(cast.org_b, cast.admin_b.email, network, cast.responder_b.email)
    if answer == "opted out":
        choose(cast.org_b, cast.admin_b.email, network, cast.responder_b.email, opt_out=True)
    elif answer == "no consent":
        set_benchmarking_consent(membership, False)
    elif answer == "left":
        leave_network(membership)
    lead_schedule(cast)
    run(cast)
    assert not mailed_to(cast.responder_b.email)
    with tenant_context(cast.org_a):
        assert not ReportDelivery.objects.filter(member_id=cast.org_b.pk).exists()


@pytest.mark.parametrize("change", ["consent withdrawn", "opted out", "chose someone else"])
def test_a_member_that_changes_its_mind_after_recording_is_not_sent(
    cast: Cast, network: tuple, change: str
) -> None:
    network, membership, _ = network
    choose(cast.org_b, cast.admin_b.email, network, cast.responder_b.email)
    lead_schedule(cast)
    with tenant_context(cast.org_a):
        delivering.record_due(RUN)
    if change == "consent withdrawn":
        set_benchmarking_consent(membership, False)
    else:
        others = [] if change == "opted out" else [cast.admin_b.email]
        choose(cast.org_b, cast.admin_b.email, network, *others, opt_out=change == "opted out")
    with tenant_context(cast.org_a):
        delivering.send_pending()
        row = ReportDelivery.objects.get(member_id=cast.org_b.pk)
        assert delivering.send_pending() == 0
    assert not mailed_to(cast.responder_b.email)
    assert row.sent_at is None and row.error == delivering.NOT_WANTED


def test_choices_are_audited_and_refused_for_others_networks_or_staff(
    cast: Cast, network: tuple
) -> None:
    network, _, gamma = network
    choose(cast.org_b, cast.admin_b.email, network, cast.responder_b.email)
    choose(cast.org_b, cast.admin_b.email, network, opt_out=True)
    with tenant_context(cast.org_b):
        events = list(
            AuditEvent.objects.filter(action="reports.member_pack_recipients").order_by("pk")
        )
        choice = MemberPackRecipients.objects.get(network_id=network.pk)
    assert [e.detail["opted_out"] for e in events] == [False, True]
    assert events[0].detail["user_ids"] == [cast.responder_b.pk]
    assert all("@" not in str(e.detail) for e in events)  # staff by id, no addresses
    assert choice.opted_out and choice.user_ids == []

    admin_b = signed_in(cast.org_b, cast.admin_b.email)
    other = create_network(lead=gamma, name="Not Beta's")
    refused = admin_b.post(PAGE, {"network": other.pk, "recipients": [cast.responder_b.pk]})
    assert refused.status_code == 400 and "not a member of that network" in refused.content.decode()
    with tenant_context(gamma):
        gamma_id = User.objects.get(email=GAMMA_RESPONDER).pk
    # An id that is not one of B's staff (B's ids and Gamma's may overlap: take one above all).
    with tenant_context(cast.org_b):
        unknown = max(User.objects.values_list("pk", flat=True)) + gamma_id + 1
    refused = admin_b.post(PAGE, {"network": network.pk, "recipients": [unknown]})
    assert refused.status_code == 400 and "active staff" in refused.content.decode()
    assert admin_b.post(PAGE, {"network": "x"}).status_code == 400
    # Only administrators choose.
    responder = signed_in(cast.org_b, cast.responder_b.email)
    assert responder.get(PAGE).status_code == 403


def test_a_member_link_opens_its_own_pack_only_while_it_is_wanted(
    cast: Cast, network: tuple
) -> None:
    network, membership, _ = network
    choose(cast.org_b, cast.admin_b.email, network, cast.responder_b.email)
    lead_schedule(cast, method=DeliveryMethod.LINK)
    run(cast)
    (message,) = mailed_to(cast.responder_b.email)
    assert not message.attachments
    (line,) = [line for line in message.body.splitlines() if "/pack/" in line]
    path = line[line.index("/reports/download/") :]
    response = client_for(cast.org_a).get(path)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert f"committee-pack-{cast.org_b.slug}-" in response["Content-Disposition"]
    # The member's token opens no report of the lead's.
    token = path.split("/")[3]
    assert client_for(cast.org_a).get(f"/reports/download/{token}/").status_code == 400
    set_benchmarking_consent(membership, False)
    assert client_for(cast.org_a).get(path).status_code == 404


def test_the_schedule_form_offers_member_recipients_to_leads_only(
    cast: Cast, network: tuple
) -> None:
    with tenant_context(cast.org_b):
        report = SavedReport.objects.create(name="Pack", months=1)
    data = {"report": report.pk, "frequency": 1, "method": "attachment"}
    refused = signed_in(cast.org_b, cast.admin_b.email).post(
        "/reports/schedules/",
        {**data, "recipients": cast.admin_b.email, "member_recipients": "on"},
    )
    assert refused.status_code == 400 and "does not lead a network" in refused.content.decode()
    with tenant_context(cast.org_a):
        report = SavedReport.objects.create(name="Pack", months=1)
    made = signed_in(cast.org_a, cast.admin_a.email).post(
        "/reports/schedules/",
        {**data, "report": report.pk, "recipients": cast.admin_a.email, "member_recipients": "on"},
    )
    assert made.status_code == 302
    with tenant_context(cast.org_a):
        assert ReportSchedule.objects.get(report=report).member_recipients
        event = AuditEvent.objects.filter(action="reports.scheduled").latest("pk")
    assert event.detail["member_recipients"] is True
