"""The demo's service-limited responder: Wendy Ward sees only her ward's stories, and every
other page is closed to her."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from feedback.models import Service, Story
from tenants.demo import DEMO_PASSWORD
from tenants.models import Organisation
from tests.conftest import client_for, sign_in

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_responder_limited_to_a_ward() -> None:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    trust = Organisation.objects.get(slug="northshire-hospitals")
    assert "A service-limited responder" in out.getvalue()
    client = client_for(trust)
    email = "ward.responder@northshire-hospitals.example"
    assert sign_in(client, email, DEMO_PASSWORD).status_code == 302
    with tenant_context(trust):
        ward = Service.objects.filter(type="ward").order_by("pk").first()
        outside = Story.objects.exclude(services=ward).exclude(services__parent=ward).first()
    assert client.get("/stories/").status_code == 200
    assert client.get(f"/stories/{outside.pk}/").status_code == 404
    assert client.get("/services/").status_code == 403
    # Her saved report is about her ward; a long PDF is hers to ask for.
    saved = client.get("/reports/saved/").content.decode()
    assert f"{ward.name}, the last three months" in saved
    # The ward's matron, its service administrator: its staff and her invitation.
    assert "A service administrator" in out.getvalue()
    matron = client_for(trust)
    assert (
        sign_in(matron, "ward.matron@northshire-hospitals.example", DEMO_PASSWORD).status_code
        == 302
    )
    assert "Wendy Ward" in matron.get("/services/limits/").content.decode()
    invitations = matron.get("/staff/invitations/").content.decode()
    assert "new.nurse@northshire-hospitals.example" in invitations and ward.name in invitations
    assert matron.get("/services/").status_code == 403
