"""The demo's packs that reach the providers: each consenting member of the ICB's network
receives its own two-monthly pack at the recipient it chose, shown masked in the ICB's outbox;
seeding twice sends nothing twice."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django_tenants.utils import tenant_context

from dashboards.member_packs_demo import REPORT_NAME
from dashboards.models import MemberPackRecipients, ReportDelivery, ReportDeliveryState
from tenants.accounts.models import User
from tenants.demo import DEMO_PASSWORD, NETWORK_NAME, email_domain_of
from tenants.models import Network
from tenants.networks import comparable_members
from tests.conftest import client_for, sign_in

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    return out.getvalue()


def test_the_demo_sends_each_consenting_member_its_own_pack() -> None:
    output = _seed()
    _seed()
    network = Network.objects.select_related("lead").get(name=NETWORK_NAME)
    icb = network.lead
    members = comparable_members(network)
    assert len(members) >= 2
    chosen = {}
    for member in members:
        with tenant_context(member):
            choice = MemberPackRecipients.objects.get(network_id=network.pk)
            chosen[member.pk] = User.objects.get(pk=choice.user_ids[0]).email
    with tenant_context(icb):
        rows = list(ReportDelivery.objects.filter(report_name=REPORT_NAME))
    assert {(r.member_id, r.recipient) for r in rows} == set(chosen.items())
    assert all(r.state == ReportDeliveryState.SENT and r.sent_at for r in rows)
    # Seeding again sent nothing more of these packs.
    packs = [m for m in mail.outbox if m.subject.startswith("Quality committee pack:")]
    assert len(packs) == len(members)
    for message in packs:
        (member,) = [m for m in members if m.name in message.subject]
        assert message.to == [chosen[member.pk]]
        assert [a[0] for a in message.attachments] == [
            f"committee-pack-{member.slug}-{rows[0].period_start.isoformat()}.pdf"
        ]
    assert "Packs to each member's own recipients:" in output

    client = client_for(icb)
    assert sign_in(client, f"admin@{email_domain_of(icb)}", DEMO_PASSWORD).status_code == 302
    page = client.get("/reports/outbox/").content.decode()
    for member in members:
        assert f"to {member.name}: " in page
        assert chosen[member.pk] not in page
