"""The alerts pages in the workspace, and the unsubscribe link."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import tenant_context

from alerts.evaluation import evaluate_story
from alerts.models import AlertRule, ResponseTarget
from tests.alerts.test_alerts import publish, rule
from tests.conftest import Cast, client_for, sign_in
from tests.outbox_mail import sent_mail_to

pytestmark = pytest.mark.django_db


def signed_in(cast: Cast, who: str):  # noqa: ANN201
    client = client_for(cast.org_a)
    sign_in(client, getattr(cast, who).email)
    return client


def test_a_member_makes_a_rule_for_themselves_and_sees_its_preview(cast: Cast) -> None:
    publish(cast, "strongly critical")
    client = signed_in(cast, "member_a")
    response = client.post(
        "/alerts/new/",
        {
            "name": "My serious stories",
            "min_criticality": "strongly critical",
            "frequency": "instant",
        },
    )
    assert response.status_code == 302
    with tenant_context(cast.org_a):
        made = AlertRule.objects.get(name="My serious stories")
        assert [u.pk for u in made.recipients.all()] == [cast.member_a.pk]
        assert made.owner_id == cast.member_a.pk
    page = client.get(response["Location"]).content.decode()
    assert "would have matched <strong>1</strong> story" in page


def test_members_cannot_manage_colleagues_rules_but_admins_can(cast: Cast) -> None:
    theirs = rule(cast, name="Admin's rule")
    member = signed_in(cast, "member_a")
    assert member.get(f"/alerts/{theirs.pk}/").status_code == 403
    assert member.post(f"/alerts/{theirs.pk}/toggle/").status_code == 403
    assert "Admin&#x27;s rule" not in member.get("/alerts/").content.decode()
    admin = signed_in(cast, "admin_a")
    assert admin.post(f"/alerts/{theirs.pk}/toggle/").status_code == 302
    with tenant_context(cast.org_a):
        assert not AlertRule.objects.get(pk=theirs.pk).is_active


def test_extra_addresses_must_be_in_the_organisations_domains(cast: Cast) -> None:
    cast.org_a.email_domains = ["alpha.example"]
    cast.org_a.save(update_fields=["email_domains"])
    admin = signed_in(cast, "admin_a")
    data = {"name": "Wider", "min_criticality": "not critical", "frequency": "daily"}
    refused = admin.post("/alerts/new/", {**data, "extra": "someone@elsewhere.example"})
    assert refused.status_code == 400
    assert "not in your organisation" in refused.content.decode()
    accepted = admin.post("/alerts/new/", {**data, "extra": "ward7@alpha.example"})
    assert accepted.status_code == 302
    with tenant_context(cast.org_a):
        assert AlertRule.objects.get(name="Wider").extra_addresses == ["ward7@alpha.example"]


def test_the_unsubscribe_link_takes_one_address_off_one_rule(cast: Cast) -> None:
    made = rule(cast, name="Noisy", recipients=[cast.member_a])
    story = publish(cast)
    with tenant_context(cast.org_a):
        evaluate_story(story.pk)
    (message,) = sent_mail_to(cast.member_a.email)
    path = re.search(r"http://alpha\.localhost:8000(/alerts/unsubscribe/\S+/)", message.body).group(
        1
    )
    anonymous = client_for(cast.org_a)
    assert "Stop “Noisy”" in anonymous.get(path).content.decode()
    anonymous.post(path)
    with tenant_context(cast.org_a):
        assert not AlertRule.objects.get(pk=made.pk).recipients.exists()
    assert anonymous.get(path[:-5] + "xxxx/").status_code == 404
    # A link made for A's rule is nothing on B's domain.
    assert client_for(cast.org_b).get(path).status_code == 404


def test_the_log_breaches_and_targets_pages(cast: Cast) -> None:
    story = publish(cast)
    with tenant_context(cast.org_a):
        evaluate_story(story.pk)
    admin = signed_in(cast, "admin_a")
    log = admin.get("/alerts/sent/").content.decode()
    assert "New story" in log and cast.admin_a.email in log
    member = signed_in(cast, "member_a")
    assert cast.admin_a.email not in member.get("/alerts/sent/").content.decode()
    assert admin.get("/alerts/breaches/").status_code == 200
    assert member.post("/alerts/targets/", {"severely critical": "1 hour"}).status_code == 403
    bad = admin.post("/alerts/targets/", {t.criticality: "soon" for t in _targets(cast)})
    assert bad.status_code == 400
    good = {t.criticality: t.allowance for t in _targets(cast)} | {"severely critical": "2 hours"}
    assert admin.post("/alerts/targets/", good).status_code == 302
    with tenant_context(cast.org_a):
        assert ResponseTarget.objects.get(criticality="severely critical").allowance == "2 hours"


def _targets(cast: Cast) -> list[ResponseTarget]:
    with tenant_context(cast.org_a):
        return list(ResponseTarget.objects.all())
