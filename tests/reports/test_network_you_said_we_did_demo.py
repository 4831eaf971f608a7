"""The demo's network You said, we did: the ICB lists its website as an embed host, so the
embed may be framed there; the public page shows consenting members' changes and no other
organisation's; seeding twice changes nothing."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tenants.utils import tenant_context

from dashboards.reports.network_you_said_we_did_demo import ICB_WEBSITE
from feedback.choices import ChangeStatus
from feedback.hub.models import PublicResponse
from tenants.audit.models import AuditEvent
from tenants.demo import NETWORK_NAME
from tenants.models import MembershipStatus, Network
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    return out.getvalue()


def test_the_demo_icb_embeds_its_networks_you_said_we_did_on_its_own_site() -> None:
    output = _seed()
    _seed()
    network = Network.objects.select_related("lead").get(name=NETWORK_NAME)
    icb = network.lead
    assert icb.slug == "northshire-icb" and icb.embed_hosts == [ICB_WEBSITE]
    with tenant_context(icb):
        assert AuditEvent.objects.filter(action="widget.hosts_changed").count() == 1
    page_path = f"/networks/{network.slug}/you-said-we-did/"
    embed_path = f"{page_path}embed/"
    assert page_path in output and embed_path in output
    assert "/reports/network-you-said-we-did/" in output

    hub = client_for(None)
    embed = hub.get(embed_path)
    assert embed.status_code == 200
    assert f"frame-ancestors 'self' {ICB_WEBSITE}" in embed["Content-Security-Policy"]
    memberships = network.memberships.select_related("organisation")
    shown = [
        m.organisation
        for m in memberships
        if m.status == MembershipStatus.ACTIVE and m.benchmarking_consent
    ]
    hidden = [m.organisation for m in memberships if m.organisation not in shown]
    assert shown and hidden, "the demo has consenting and other members"
    # Over the last year (a small demo's stories are spread thinly over time).
    today = timezone.localdate()
    year = f"{page_path}?start={today - timedelta(days=364)}&end={today}"
    body = hub.get(year).content.decode()
    for organisation in shown:
        assert f'<a href="/organisations/{organisation.slug}/">' in body
    made = PublicResponse.objects.filter(
        change_status=ChangeStatus.MADE,
        published_at__gte=timezone.now() - timedelta(days=360),
    )
    shown_made = made.filter(organisation__in=shown)
    assert shown_made.exists(), "a consenting member made a change this year"
    for response in shown_made[:5]:
        assert f'href="/stories/{response.public_story_id}/"' in body
    hidden_made = made.filter(organisation__in=hidden).exclude(
        public_story__in=shown_made.values("public_story")
    )
    # (The demo's other members may have made none: tests/reports/test_network_you_said_we_did.py
    # shows a left or non-consenting member's changes stay out.)
    for organisation in hidden:
        assert f"/organisations/{organisation.slug}/" not in body
    for response in hidden_made:
        assert f'href="/stories/{response.public_story_id}/"' not in body
