"""The demo's thanks: Northshire Hospitals' directory, a published story whose thanks went to
a nurse by email and to a healthcare assistant through the ward's manager (in the outbox,
with nothing about the author), a story waiting in moderation with its suggestion; seeding
again adds nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from feedback.models import StaffMember, Thanks, ThanksRoute
from feedback.thanks_demo import PUBLISHED_TITLE
from tenants.demo import DEMO_PASSWORD
from tenants.models import Organisation, OutboxMessage
from tests.conftest import client_for, sign_in, sign_in_demo_moderator

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    return out.getvalue()


def test_the_demo_passes_thanks_on_and_shows_a_suggestion() -> None:
    output = _seed()
    trust = Organisation.objects.get(slug="northshire-hospitals")
    with tenant_context(trust):
        routes = {t.staff_name: t.route for t in Thanks.objects.all()}
        entries = StaffMember.objects.count()
    assert routes == {"Sarah Okoye": ThanksRoute.PERSON, "Tom Fletcher": ThanksRoute.MANAGER}
    mails = OutboxMessage.objects.filter(kind="feedback.thanks")
    assert sorted(m.recipient for m in mails) == [
        "responder@northshire-hospitals.example",
        "sarah.okoye@northshire-hospitals.example",
    ]
    assert all(PUBLISHED_TITLE in m.subject or "Tom Fletcher" in m.subject for m in mails)
    assert trust.workspace_url("/thanks/") in output and "/moderation/" in output

    staff = client_for(trust)
    assert sign_in(staff, "member@northshire-hospitals.example", DEMO_PASSWORD).status_code == 302
    page = staff.get("/thanks/").content.decode()
    assert "Sarah Okoye" in page and "Tom Fletcher" in page

    moderator = client_for(None)
    sign_in_demo_moderator(moderator)
    waiting = next(line for line in output.splitlines() if "waiting in moderation" in line)
    path = "/moderation/" + waiting.rsplit("/moderation/", 1)[1]
    suggestion = moderator.get(path).content.decode()
    assert "Amir Haddad" in suggestion and "Dr Haddad" in suggestion

    _seed()
    with tenant_context(trust):
        assert Thanks.objects.count() == 2 and StaffMember.objects.count() == entries
