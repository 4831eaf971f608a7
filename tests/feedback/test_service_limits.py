"""Staff limited to some services (feedback/service_limits.py), inside one organisation: a
responder limited to A's ward reaches only the pages that scope to services (every other
workspace page is swept and refused), sees only the ward's stories in the inbox, its story
pages and its exports, and hears only of the ward's stories in alert emails."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from alerts.matching import recipients
from alerts.models import AlertRule
from feedback import exporting
from feedback.models import Service, ServiceLimit, Story, StoryExport
from feedback.service_limits import ALLOWED_VIEWS, LimitError, allowed_for, set_limit
from feedback.tasks import build_story_export
from tenants.audit.models import AuditEvent
from tests.conftest import Cast, client_for, sign_in, tell_and_publish
from tests.tenants.test_second_factor import url_paths

pytestmark = pytest.mark.django_db


@pytest.fixture
def limited(cast: Cast) -> dict[str, int]:
    """The responder limited to the ward; a story about the ward and one about the clinic."""
    ward = tell_and_publish(cast, [cast.ward_a], title="About the ward").stories
    clinic = tell_and_publish(cast, [cast.clinic_a], title="About the clinic").stories
    with tenant_context(cast.org_a):
        set_limit(
            cast.responder_a,
            [Service.objects.get(pk=cast.ward_a.service_id)],
            actor=cast.admin_a,
        )
        schema = cast.org_a.schema_name
        return {
            "ward": dict(ward)[schema],
            "clinic": dict(clinic)[schema],
        }


def responder(cast: Cast) -> Client:
    client = client_for(cast.org_a)
    assert sign_in(client, cast.responder_a.email).status_code == 302
    return client


def test_every_other_workspace_page_is_refused(cast: Cast, limited: dict[str, int]) -> None:
    client = responder(cast)
    reached = []
    for path, name in url_paths("config.urls_tenant"):
        if name in ALLOWED_VIEWS or not name or "(?P" in path:
            continue  # (Dash's own routes: its callback is posted to below)
        response = client.get(path)
        if response.status_code != 403:
            reached.append((path, name, response.status_code))
    assert not reached, f"a limited responder reached: {reached}"
    refused = client.get("/dashboards/live/")
    assert refused.status_code == 403
    assert "limited to some of its services" in refused.content.decode()
    # A Dash callback too, and a post.
    assert (
        client.post(
            "/dashboards/live/_dash-update-component", "{}", content_type="application/json"
        ).status_code
        == 403
    )
    assert client.post("/alerts/", {}).status_code == 403
    # Their colleague without a limit is not held up.
    admin = client_for(cast.org_a)
    assert sign_in(admin, cast.admin_a.email).status_code == 302
    assert admin.get("/dashboards/live/").status_code == 200


def test_the_inbox_and_story_pages_hold_only_their_services(
    cast: Cast, limited: dict[str, int]
) -> None:
    client = responder(cast)
    inbox = client.get("/stories/").content.decode()
    assert "About the ward" in inbox and "About the clinic" not in inbox
    assert "<strong>1</strong> story" in inbox
    assert cast.clinic_a.name not in inbox  # nor in the service filter
    assert 'href="/dashboards/"' not in inbox  # the menu offers only what they may open
    searched = client.get("/stories/?q=clinic").content.decode()
    assert "About the clinic" not in searched
    assert client.get(f"/stories/{limited['ward']}/").status_code == 200
    assert client.get(f"/stories/{limited['clinic']}/").status_code == 404
    assert (
        client.post(
            f"/stories/{limited['clinic']}/triage/", {"action": "note", "text": "x"}
        ).status_code
        == 404
    )
    # Another member of staff without a limit sees both.
    admin = client_for(cast.org_a)
    assert sign_in(admin, cast.admin_a.email).status_code == 302
    both = admin.get("/stories/").content.decode()
    assert "About the ward" in both and "About the clinic" in both


def test_an_export_holds_only_their_services(
    cast: Cast,
    limited: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    settings,  # noqa: ANN001
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    settings.MEDIA_ROOT = tmp_path
    sent: list[int] = []
    monkeypatch.setattr(build_story_export, "delay", lambda pk: sent.append(pk))
    client = responder(cast)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/stories/export/", {"format": "csv"}).status_code == 302
    with tenant_context(cast.org_a):
        exporting.build_export(sent[0])
        export = StoryExport.objects.get(pk=sent[0])
        assert export.filters["within"] and "Only the services" in export.description
        rows = list(csv.DictReader(io.StringIO(exporting.file_path(export).read_text("utf-8-sig"))))
    assert [r["Title"] for r in rows] == ["About the ward"]
    # A forged `within` in the post is not read: the form has no such field.
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/stories/export/", {"format": "csv", "within": "999"})
    with tenant_context(cast.org_a):
        assert StoryExport.objects.get(pk=sent[0]).filters["within"] != [999]


def test_alert_emails_reach_them_only_for_their_services(
    cast: Cast, limited: dict[str, int]
) -> None:
    with tenant_context(cast.org_a):
        rule = AlertRule.objects.create(name="Everything", owner=cast.admin_a)
        rule.recipients.set([cast.responder_a, cast.admin_a])
        ward, clinic = (
            list(Story.objects.get(pk=limited[k]).services.values_list("pk", flat=True))
            for k in ("ward", "clinic")
        )
        assert set(recipients(rule, ward)) == {cast.responder_a.email, cast.admin_a.email}
        assert recipients(rule, clinic) == [cast.admin_a.email]
        assert recipients(rule, None) == [cast.admin_a.email]  # a digest: many services
        assert allowed_for([cast.responder_a.pk], ward) == {cast.responder_a.pk}


def test_administrators_set_limits_and_one_always_sees_everything(
    cast: Cast, limited: dict[str, int]
) -> None:
    admin = client_for(cast.org_a)
    assert sign_in(admin, cast.admin_a.email).status_code == 302
    page = admin.get("/services/limits/").content.decode()
    assert cast.responder_a.full_name in page and cast.ward_a.name in page
    assert (
        admin.post(f"/services/limits/{cast.responder_a.pk}/", {"services": []}).status_code == 302
    )
    with tenant_context(cast.org_a):
        assert not ServiceLimit.objects.filter(user=cast.responder_a).exists()
        assert AuditEvent.objects.filter(action="staff.services_limited").count() == 2
        with pytest.raises(LimitError):
            set_limit(
                cast.admin_a, [Service.objects.get(pk=cast.ward_a.service_id)], actor=cast.admin_a
            )
    assert responder(cast).get("/dashboards/live/").status_code == 200  # limit lifted
    member = client_for(cast.org_a)
    assert sign_in(member, cast.member_a.email).status_code == 302
    assert member.get("/services/limits/").status_code == 403
    # Another organisation's administrator: A's staff are not theirs to limit.
    other = client_for(cast.org_b)
    assert sign_in(other, cast.admin_b.email).status_code == 302
    elsewhere = other.get(f"/services/limits/{cast.responder_a.pk}/")  # B's own account, if any
    assert cast.responder_a.full_name not in elsewhere.content.decode()
