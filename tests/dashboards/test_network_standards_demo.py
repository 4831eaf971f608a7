"""The demo's network standards: the ICB has set them, the prompt member meets them and the
slow one misses them, from their own stories; seeding twice changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from dashboards.compliance import MET, NOT_MET
from dashboards.network_standards_demo import MET_PERCENT, STANDARDS
from tenants.audit.models import AuditEvent
from tenants.demo import DEMO_PASSWORD
from tenants.models import NetworkStandards, Organisation
from tests.conftest import client_for, sign_in

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    return out.getvalue()


def test_the_demo_icb_sets_standards_that_one_member_misses() -> None:
    output = _seed()
    _seed()
    (standards,) = NetworkStandards.objects.select_related("network__lead")
    icb = standards.network.lead
    assert icb.slug == "northshire-icb"
    assert standards.allowances == STANDARDS and standards.met_percent == MET_PERCENT
    with tenant_context(icb):
        assert AuditEvent.objects.filter(action="network.standards_changed").count() == 1
    assert "Network standards:" in output
    assert f"Coastal Ambulance Service NHS Trust: {NOT_MET};" in output
    assert f"Harbourside Hospice: {MET};" in output

    # The slow member's pack says so, from the same data.
    coastal = Organisation.objects.get(slug="coastal-ambulance")
    assert f"/reports/committee/?network={standards.network.pk}&provider={coastal.pk}&" in output
    client = client_for(icb)
    assert sign_in(client, "member@northshire-icb.example", DEMO_PASSWORD).status_code == 302
    csv = client.get(f"/reports/committee.csv?network={standards.network.pk}&provider={coastal.pk}")
    assert csv.status_code == 200
    assert f"network standards,met / not met,{NOT_MET}" in csv.content.decode()
