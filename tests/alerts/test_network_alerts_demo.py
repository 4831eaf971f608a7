"""The demo's network alerts: the ICB's rules fired on consenting members' stories (sent, on
its "Emails sent" page), never on the member that does not consent or the one that left;
seeding twice changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from alerts.models import AlertDelivery, AlertRule, Scope
from alerts.network_demo import STORIES
from feedback.hub.models import PublicStory
from tenants.demo import DEMO_PASSWORD
from tenants.models import Organisation
from tests.conftest import client_for, sign_in

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    return out.getvalue()


def test_the_demo_icbs_network_rules_fired_on_consenting_members_stories_only() -> None:
    output = _seed()
    _seed()
    icb = Organisation.objects.get(slug="northshire-icb")
    fired = {PublicStory.objects.get(title=s.title).pk: s.fires for s in STORIES}
    with tenant_context(icb):
        assert AlertRule.objects.filter(scope=Scope.NETWORK).count() == 3
        rows = list(AlertDelivery.objects.filter(public_story_id__isnull=False))
    assert rows and all(row.state == "sent" for row in rows)
    assert {row.public_story_id for row in rows} == {pk for pk, fires in fired.items() if fires}
    # The discharge rule names one member; the serious-stories rule goes to two people.
    reasons = sorted(row.reason for row in rows)
    assert sum("Discharge at Northshire Hospitals" in r for r in reasons) == 1
    assert sum("Serious stories at our providers" in r for r in reasons) == 4
    assert "Network alerts: 3 rules" in output and f"{len(rows)} alert emails sent" in output

    client = client_for(icb)
    assert sign_in(client, "admin@northshire-icb.example", DEMO_PASSWORD).status_code == 302
    page = client.get("/alerts/sent/").content.decode()
    assert "New story at Northshire Hospitals NHS Foundation Trust" in page
    assert "Westgate" not in page and "Old Mill" not in page
    rules = client.get("/alerts/").content.decode()
    assert "Stories at Northshire Hospitals NHS Foundation Trust" in rules
