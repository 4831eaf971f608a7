"""The demo's learned themes: the first provider's stories learned into themes, shown on its
Themes page and on the live dashboard's data."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from feedback.models import LearnedTopic, StoryTopic
from tenants.demo import DEMO_PASSWORD
from tenants.models import Organisation
from tests.conftest import client_for, sign_in

pytestmark = pytest.mark.django_db


def test_the_demo_learns_themes_from_each_providers_stories() -> None:
    out = StringIO()
    call_command("seed_demo", "--stories", "120", stdout=out)
    trust = Organisation.objects.get(slug="northshire-hospitals")
    with tenant_context(trust):
        learned = list(LearnedTopic.objects.all())
        placed = StoryTopic.objects.count()
    assert len(learned) >= 4 and placed > 0
    assert sum(t.stories for t in learned) == placed
    assert trust.workspace_url("/themes/") in out.getvalue()
    client = client_for(trust)
    assert sign_in(client, "member@northshire-hospitals.example", DEMO_PASSWORD).status_code == 302
    page = client.get("/themes/").content.decode()
    assert all(t.label in page for t in learned)
