"""The demo's leaflet, poster and waiting-room screen: printed links that work, and seeding
twice adds nothing."""

from __future__ import annotations

import re
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from feedback.reach.models import Campaign, DisplayScreen
from tenants.demo import DEMO_PASSWORD, email_domain_of
from tenants.models import Organisation
from tests.conftest import client_for, sign_in

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    return out.getvalue()


def test_the_demo_has_a_leaflet_a_poster_and_a_screen_link() -> None:
    output = _seed()
    assert "Leaflets, posters and screens" in output
    leaflet = re.search(r"A5 leaflet \(code (\w+)\): (\S+)", output)
    poster = re.search(r"A4 poster \(code (\w+)\): (\S+)", output)
    screen = re.search(r"waiting-room screen \(no sign-in\): (\S+)", output)
    assert leaflet and poster and screen

    trust = Organisation.objects.get(pk=Campaign.objects.get(code=leaflet.group(1)).organisation_id)
    staff = client_for(trust)
    email = f"responder@{email_domain_of(trust)}"
    assert sign_in(staff, email, DEMO_PASSWORD).status_code == 302
    for found in (leaflet, poster):
        url = urlsplit(found.group(2))
        pdf = staff.get(f"{url.path}?{url.query}")
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    page = client_for(None).get(urlsplit(screen.group(1)).path)
    assert page.status_code == 200
    assert "<svg" in page.content.decode()

    counts = (Campaign.objects.count(), DisplayScreen.objects.count())
    again = _seed()
    assert (Campaign.objects.count(), DisplayScreen.objects.count()) == counts
    assert screen.group(1) in again
