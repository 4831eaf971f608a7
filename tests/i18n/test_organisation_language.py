"""An organisation's default language: set by its administrators on the Widget page,
audited, used for its own public pages only."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from tenants.audit.models import AuditEvent
from tenants.models import Organisation
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db

ACTION = "organisation.default_language_changed"


def signed_in(cast: Cast, email: str) -> Client:
    client = client_for(cast.org_a)
    assert sign_in(client, email).status_code == 302
    return client


def audited(organisation: Organisation) -> int:
    with tenant_context(organisation):
        return AuditEvent.objects.filter(action=ACTION).count()


def test_an_administrator_makes_welsh_the_default_and_it_is_audited(cast: Cast) -> None:
    admin = signed_in(cast, cast.admin_a.email)
    assert 'name="default_language"' in admin.get("/widget/").content.decode()
    response = admin.post("/widget/", {"form": "language", "default_language": "cy"})
    assert response.status_code == 302
    assert Organisation.objects.get(pk=cast.org_a.pk).default_language == "cy"
    assert audited(cast.org_a) == 1
    assert audited(cast.org_b) == 0
    # Saving the same again records nothing new; the hosts are untouched.
    admin.post("/widget/", {"form": "language", "default_language": "cy"})
    assert audited(cast.org_a) == 1
    assert list(Organisation.objects.get(pk=cast.org_a.pk).embed_hosts) == []
    page = client_for(None).get("/o/alpha/widget/", HTTP_ACCEPT_LANGUAGE="en-GB")
    assert '<html lang="cy">' in page.content.decode()
    # Beta's pages are not affected.
    beta = client_for(None).get("/o/beta/widget/", HTTP_ACCEPT_LANGUAGE="en-GB")
    assert '<html lang="en-gb">' in beta.content.decode()


def test_a_bad_language_is_a_400_and_nothing_changes(cast: Cast) -> None:
    admin = signed_in(cast, cast.admin_a.email)
    response = admin.post("/widget/", {"form": "language", "default_language": "fr"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert Organisation.objects.get(pk=cast.org_a.pk).default_language == ""
    assert audited(cast.org_a) == 0


def test_only_an_administrator_may_set_the_language(cast: Cast) -> None:
    responder = signed_in(cast, cast.responder_a.email)
    response = responder.post("/widget/", {"form": "language", "default_language": "cy"})
    assert response.status_code == 403
    assert Organisation.objects.get(pk=cast.org_a.pk).default_language == ""
    assert audited(cast.org_a) == 0
