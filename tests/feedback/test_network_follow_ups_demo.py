"""The demo's network story log: the ICB has followed some of its members' stories up
offline, each entry about a consenting member's published story, in the ICB's schema only;
seeding again adds nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from feedback.hub.models import PublicStoryOrganisation
from feedback.models import NetworkFollowUp
from feedback.network_inbox import network_members
from tenants.demo import DEMO_PASSWORD
from tenants.models import Organisation
from tests.conftest import client_for, sign_in

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    return out.getvalue()


def test_the_icb_has_a_story_log_of_offline_follow_ups() -> None:
    output = _seed()
    icb = Organisation.objects.get(slug="northshire-icb")
    members = network_members(icb)
    with tenant_context(icb):
        entries = list(NetworkFollowUp.objects.all())
    assert 2 <= len(entries) <= 3
    for entry in entries:
        assert entry.member_id in {m.pk for m in members}
        assert PublicStoryOrganisation.objects.filter(
            publicstory_id=entry.public_story_id, organisation_id=entry.member_id
        ).exists()
    assert len({e.author_name for e in entries}) == 2
    for provider in Organisation.objects.filter(slug__startswith="northshire-").exclude(pk=icb.pk):
        with tenant_context(provider):
            assert not NetworkFollowUp.objects.exists()
    assert icb.workspace_url("/network/log/") in output

    _seed()
    with tenant_context(icb):
        assert NetworkFollowUp.objects.count() == len(entries)  # idempotent

    client = client_for(icb)
    sign_in(client, "member@northshire-icb.example", DEMO_PASSWORD)
    log = client.get("/network/log/").content.decode()
    assert all(entry.spoke_with in log for entry in entries)
