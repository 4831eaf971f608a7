"""The workspace's Widget page: an administrator lists the sites that may frame the widget
(tenants.embedding.set_embed_hosts does the writing)."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from tenants.audit.models import AuditEvent
from tenants.models import Organisation
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db

ACTION = "widget.hosts_changed"


def signed_in(cast: Cast, email: str) -> Client:
    client = client_for(cast.org_a)
    assert sign_in(client, email).status_code == 302
    return client


def stored(cast: Cast) -> list[str]:
    return list(Organisation.objects.get(pk=cast.org_a.pk).embed_hosts)


def audited(cast: Cast) -> int:
    with tenant_context(cast.org_a):
        return AuditEvent.objects.filter(action=ACTION).count()


def test_an_administrator_saves_the_hosts_and_the_widget_may_be_framed_there(cast: Cast) -> None:
    client = signed_in(cast, cast.admin_a.email)
    response = client.post("/widget/", {"hosts": "www.alpha.example\r\n*.Alpha-Trust.example\r\n"})
    assert response.status_code == 302
    assert stored(cast) == ["www.alpha.example", "*.alpha-trust.example"]
    assert audited(cast) == 1
    page = client.get("/widget/").content.decode()
    assert "www.alpha.example\n*.alpha-trust.example" in page
    policy = client_for(None).get("/o/alpha/widget/")["Content-Security-Policy"]
    assert "frame-ancestors" in policy and "*.alpha-trust.example" in policy


@pytest.mark.parametrize(
    "bad",
    ["www.alpha.example/widget", "'self' www.alpha.example", ".".join(["a" * 60] * 5) + ".uk"],
)
def test_a_bad_host_gets_a_400_naming_it_and_nothing_changes(cast: Cast, bad: str) -> None:
    client = signed_in(cast, cast.admin_a.email)
    response = client.post("/widget/", {"hosts": f"www.alpha.example\n{bad}"})
    assert response.status_code == 400
    page = response.content.decode()
    assert bad[:40] in page.replace("&#x27;", "'")
    assert "is not a host name like" in page or "longer than a host name can be" in page
    assert stored(cast) == []
    assert audited(cast) == 0


def test_only_an_administrator_may_change_the_hosts(cast: Cast) -> None:
    client = signed_in(cast, cast.responder_a.email)
    response = client.post("/widget/", {"hosts": "www.alpha.example"})
    assert response.status_code == 403
    assert stored(cast) == []
    assert audited(cast) == 0
