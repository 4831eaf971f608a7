"""The demo's emerging theme: a run of stories about unanswered call bells on one of the
first trust's wards this week is found by the night's run, listed on /alerts/emerging/, and
emailed to the responder whose rule asks for emerging themes on the wards (on their "Emails
sent" page); seeding twice changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from alerts.demo import CALL_BELL_TITLES
from alerts.models import AlertDelivery, DeliveryKind, EmergingTheme
from tenants.demo import DEMO_PASSWORD
from tenants.models import Organisation
from tests.conftest import client_for, sign_in

pytestmark = pytest.mark.django_db


def test_the_demo_finds_the_call_bell_run_and_tells_the_responder() -> None:
    for _ in range(2):
        out = StringIO()
        call_command("seed_demo", "--stories", "40", stdout=out)
    # The command says where to look.
    assert "Emerging theme: tag “staffing levels”" in out.getvalue()
    assert "/alerts/emerging/" in out.getvalue()
    trust = Organisation.objects.get(slug="northshire-hospitals")
    with tenant_context(trust):
        findings = list(EmergingTheme.objects.select_related("service"))
        assert len(findings) == 1
        (finding,) = findings
        assert finding.service is not None and finding.service.type == "ward"
        assert finding.observed == len(CALL_BELL_TITLES)
        themes = {f"{finding.theme_kind}:{finding.theme}", *finding.also_themes}
        assert "tag:staffing levels" in themes and "phrase:call bell" in themes
        (delivery,) = AlertDelivery.objects.filter(kind=DeliveryKind.EMERGING)
        assert delivery.state == "sent" and "Emerging theme" in delivery.subject
        responder = delivery.recipient
        delivery_rule = delivery.rule_id
    client = client_for(trust)
    sign_in(client, responder, DEMO_PASSWORD)
    page = client.get("/alerts/emerging/").content.decode()
    assert "staffing levels" in page and CALL_BELL_TITLES[0] in page
    sent = client.get("/alerts/sent/").content.decode()
    assert "Emerging theme" in sent
    # The rule's page previews it at once: the demo works the replay out as the night does.
    rule_page = client.get(f"/alerts/{delivery_rule}/").content.decode()
    assert "is being worked out" not in rule_page and "staffing levels" in rule_page
