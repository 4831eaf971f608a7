"""An alert email's unsubscribe link works only on the organisation that sent it.

Every organisation's first rule is made the same way at provisioning, so A's default rule
and B's default rule share an id; a link that named only the rule and the address would
change B's rule when opened on B's host."""

from __future__ import annotations

import re

import pytest
from django.core import signing
from django_tenants.utils import tenant_context

from alerts.emails import UNSUBSCRIBE_SALT
from alerts.evaluation import evaluate_story
from alerts.models import AlertRule
from alerts.rules import save_rule
from tenants.audit.models import AuditEvent
from tests.alerts.test_alerts import publish
from tests.conftest import Cast, client_for
from tests.outbox_mail import sent_mail_to

pytestmark = pytest.mark.django_db

SHARED = "governance.lead@nhs.example"  # someone both organisations send their alerts to
DEFAULT = "Strongly and severely critical stories"


def _add_shared_address(cast: Cast) -> dict[str, int]:
    """Both organisations copy the same person into their default rule; the rule ids."""
    ids = {}
    for organisation, admin in ((cast.org_a, cast.admin_a), (cast.org_b, cast.admin_b)):
        with tenant_context(organisation):
            default = AlertRule.objects.get(name=DEFAULT)
            default.extra_addresses = [SHARED]
            save_rule(default, actor=admin)
            ids[organisation.slug] = default.pk
    return ids


def _link_sent_by_a(cast: Cast) -> str:
    story = publish(cast, "severely critical")
    with tenant_context(cast.org_a):
        evaluate_story(story.pk)
    (message,) = sent_mail_to(SHARED)
    return re.search(r"http://alpha\.localhost:8000(/alerts/unsubscribe/\S+/)", message.body)[1]


def _extra(organisation: object) -> list[str]:
    with tenant_context(organisation):
        return AlertRule.objects.get(name=DEFAULT).extra_addresses


def _unsubscribe_audits(organisation: object) -> int:
    with tenant_context(organisation):
        return AuditEvent.objects.filter(action="alerts.unsubscribed").count()


def test_a_link_from_a_opened_on_bs_host_changes_nothing_at_b(cast: Cast) -> None:
    ids = _add_shared_address(cast)
    assert ids["alpha"] == ids["beta"], "the case this guards: both default rules share an id"
    path = _link_sent_by_a(cast)

    on_b = client_for(cast.org_b)
    page = on_b.get(path)
    assert page.status_code == 404
    assert "This link does not work" in page.content.decode()
    assert on_b.post(path).status_code == 404
    assert _extra(cast.org_b) == [SHARED]
    assert _unsubscribe_audits(cast.org_b) == 0

    # At home the same link still does its one job.
    on_a = client_for(cast.org_a)
    assert "Stop “Strongly and severely critical stories”" in on_a.get(path).content.decode()
    assert on_a.post(path).status_code == 200
    assert _extra(cast.org_a) == []
    assert _extra(cast.org_b) == [SHARED]


def test_an_old_link_without_an_organisation_is_refused_with_a_way_forward(cast: Cast) -> None:
    ids = _add_shared_address(cast)
    # The shape of the links in emails sent before links named their organisation.
    old = signing.dumps({"rule": ids["beta"], "to": SHARED}, salt=UNSUBSCRIBE_SALT)
    for organisation in (cast.org_a, cast.org_b):
        client = client_for(organisation)
        page = client.get(f"/alerts/unsubscribe/{old}/")
        assert page.status_code == 410
        text = page.content.decode()
        assert "newer alert email" in text and "/alerts/" in text and "sign in" in text
        assert client.post(f"/alerts/unsubscribe/{old}/").status_code == 410
    assert _extra(cast.org_a) == [SHARED]
    assert _extra(cast.org_b) == [SHARED]
    assert _unsubscribe_audits(cast.org_a) == _unsubscribe_audits(cast.org_b) == 0
