"""The demo's reports: a bimonthly schedule at the ICB with one delivery in its outbox, and
You said, we did published for each demo trust; seeding twice adds nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from dashboards.models import Frequency, ReportDelivery, ReportDeliveryState, ReportSchedule
from dashboards.reports.demo import REPORT_NAME
from dashboards.reports.public import is_published
from tenants.models import Organisation
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    return out.getvalue()


def test_the_demo_schedules_a_report_and_publishes_you_said_we_did() -> None:
    output = _seed()
    _seed()
    icb = Organisation.objects.get(slug="northshire-icb")
    with tenant_context(icb):
        # The "reports" step's own schedule (reports.member_packs adds another).
        (schedule,) = ReportSchedule.objects.filter(report__name=REPORT_NAME)
        assert schedule.frequency == Frequency.BIMONTHLY and schedule.network_members
        (delivery,) = ReportDelivery.objects.filter(schedule=schedule)
        assert delivery.state == ReportDeliveryState.SENT
        assert schedule.recipients == [delivery.recipient]
    assert icb.workspace_url("/reports/outbox/") in output
    trusts = Organisation.objects.filter(slug__startswith="northshire-", kind__contains="trust")
    assert trusts.exists()
    for trust in trusts:
        assert is_published(trust)
        path = f"/organisations/{trust.slug}/you-said-we-did/"
        assert path in output
        assert client_for(None).get(path).status_code == 200
    assert not is_published(icb)
