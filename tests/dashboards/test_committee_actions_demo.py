"""The demo's committee action plan: the ICB has one for Coastal Ambulance Service with an
open, an overdue and a done action, shown in Coastal's pack; seeding twice changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tenants.utils import tenant_context

from dashboards.models import CommitteeAction
from dashboards.reports.committee import committee_pack
from tenants.audit.models import AuditEvent
from tenants.demo import DEMO_PASSWORD
from tenants.models import Organisation
from tests.conftest import client_for, sign_in

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    return out.getvalue()


def test_the_demo_icb_has_an_action_plan_for_one_provider() -> None:
    output = _seed()
    _seed()
    icb = Organisation.objects.get(slug="northshire-icb")
    coastal = Organisation.objects.get(slug="coastal-ambulance")
    with tenant_context(icb):
        actions = list(CommitteeAction.objects.all())
        assert {a.member_id for a in actions} == {coastal.pk}
        assert AuditEvent.objects.filter(action="dashboards.committee_action").count() == 3
    today = timezone.localdate()
    assert sorted(a.status for a in actions) == ["done", "open", "open"]
    assert [a.due_on < today for a in actions if a.status == "open"].count(True) == 1
    assert "Committee action plan:" in output and "Open, overdue: Reply to the stories" in output

    network_id = actions[0].network_id
    client = client_for(icb)
    assert sign_in(client, "member@northshire-icb.example", DEMO_PASSWORD).status_code == 302
    csv = client.get(f"/reports/committee.csv?network={network_id}&provider={coastal.pk}")
    assert csv.status_code == 200
    text = csv.content.decode()
    assert text.count("action plan,") == 3 and ',"Open, overdue"' in text
    page = client.get(f"/reports/committee/actions/?network={network_id}&member={coastal.pk}")
    assert (
        page.status_code == 200
        and "Name a responder for each ambulance station" in page.content.decode()
    )

    # Another member looking at Coastal's pack never sees Coastal's plan.
    pack = committee_pack(
        _network(network_id),
        coastal,
        today.replace(day=1),
        today,
        viewer=Organisation.objects.get(slug="harbourside-hospice"),
    )
    assert pack.actions is None and not [r for r in pack.rows() if r[0] == "action plan"]


def _network(pk: int):  # noqa: ANN202
    from tenants.models import Network

    return Network.objects.select_related("lead").get(pk=pk)
