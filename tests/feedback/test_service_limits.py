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
from tenants.accounts.models import User
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
    refused = client.get("/services/")
    assert refused.status_code == 403
    assert "limited to some of its services" in refused.content.decode()
    # The network comparison's Dash callback too, and a post.
    assert (
        client.post(
            "/dashboards/network/_dash-update-component", "{}", content_type="application/json"
        ).status_code
        == 403
    )
    assert client.post("/services/sites/add/", {}).status_code == 403
    # Their colleague without a limit is not held up.
    admin = client_for(cast.org_a)
    assert sign_in(admin, cast.admin_a.email).status_code == 302
    assert admin.get("/services/").status_code == 200


def test_the_inbox_and_story_pages_hold_only_their_services(
    cast: Cast, limited: dict[str, int]
) -> None:
    client = responder(cast)
    inbox = client.get("/stories/").content.decode()
    assert "About the ward" in inbox and "About the clinic" not in inbox
    assert "<strong>1</strong> story" in inbox
    assert cast.clinic_a.name not in inbox  # nor in the service filter
    assert 'href="/services/"' not in inbox  # the menu offers only what they may open
    assert 'href="/dashboards/"' in inbox
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
    assert responder(cast).get("/services/").status_code == 200  # limit lifted
    member = client_for(cast.org_a)
    assert sign_in(member, cast.member_a.email).status_code == 302
    assert member.get("/services/limits/").status_code == 403
    # Another organisation's administrator: A's staff are not theirs to limit.
    other = client_for(cast.org_b)
    assert sign_in(other, cast.admin_b.email).status_code == 302
    elsewhere = other.get(f"/services/limits/{cast.responder_a.pk}/")  # B's own account, if any
    assert cast.responder_a.full_name not in elsewhere.content.decode()


def test_the_dashboard_and_reports_count_only_their_services(
    cast: Cast, limited: dict[str, int]
) -> None:
    from django.utils import timezone

    from tests.dashboards.dash_client import LIVE, call, csrf_token, live_filters, result

    client = responder(cast)
    today = timezone.localdate().isoformat()
    token = csrf_token(client, LIVE)
    swarm = result(
        call(
            client,
            LIVE,
            ("swarm", "figure"),
            [*live_filters(today, today), ("swarm-colour", "value", "criticality")],
            token=token,
        ),
        "swarm",
        "figure",
    )
    texts = str(swarm)
    assert "About the ward" in texts and "About the clinic" not in texts
    # Asking for the clinic by its id gives nothing: it is not theirs.
    with tenant_context(cast.org_a):
        clinic_id = Story.objects.get(pk=limited["clinic"]).services.get().pk
    asked = result(
        call(
            client,
            LIVE,
            ("swarm", "figure"),
            [*live_filters(today, today, service=clinic_id), ("swarm-colour", "value", "x")],
            token=token,
        ),
        "swarm",
        "figure",
    )
    assert "About the clinic" not in str(asked)
    page = client.get(f"/reports/?start={today}&end={today}").content.decode()
    assert cast.clinic_a.name not in page  # the service filter offers only theirs

    def stories(who: Client) -> str:
        text = who.get(f"/reports/summary.csv?start={today}&end={today}").content.decode()
        return next(
            row[2] for row in csv.reader(io.StringIO(text)) if row[:2] == ["volume", "stories"]
        )

    everyone = client_for(cast.org_a)
    assert sign_in(everyone, cast.admin_a.email).status_code == 302
    assert int(stories(client)) == int(stories(everyone)) - 1  # the clinic's story is not theirs


def test_their_alert_rules_are_their_own_about_their_services(
    cast: Cast, limited: dict[str, int]
) -> None:
    with tenant_context(cast.org_a):
        ward = cast.ward_a.service_id
        clinic = cast.clinic_a.service_id
        colleagues = AlertRule.objects.create(name="The admin's rule", owner=cast.admin_a)
    client = responder(cast)
    rule = {"name": "My ward", "min_criticality": "not critical", "frequency": "instant"}
    everything = client.post("/alerts/new/", rule)
    assert everything.status_code == 400 and "Choose the services to watch" in (
        everything.content.decode()
    )
    not_theirs = client.post("/alerts/new/", {**rule, "services": [clinic]})
    assert not_theirs.status_code == 400
    saved = client.post("/alerts/new/", {**rule, "services": [ward]})
    assert saved.status_code == 302
    with tenant_context(cast.org_a):
        mine = AlertRule.objects.get(name="My ward")
        assert mine.owner_id == cast.responder_a.pk
        assert list(mine.recipients.values_list("pk", flat=True)) == [cast.responder_a.pk]
    listed = client.get("/alerts/").content.decode()
    assert "My ward" in listed and "The admin&#x27;s rule" not in listed
    assert "The admin's rule" not in listed
    assert client.get(f"/alerts/{colleagues.pk}/").status_code == 403


@pytest.fixture
def service_admin(cast: Cast, limited: dict[str, int]) -> Client:
    """The member made service administrator of the ward (the responder is limited to it)."""
    with tenant_context(cast.org_a):
        ward = Service.objects.get(pk=cast.ward_a.service_id)
        set_limit(cast.member_a, [ward], actor=cast.admin_a, manages=True)
    client = client_for(cast.org_a)
    assert sign_in(client, cast.member_a.email).status_code == 302
    return client


def test_a_service_administrator_manages_the_staff_and_rules_of_their_services(
    cast: Cast, service_admin: Client
) -> None:
    page = service_admin.get("/services/limits/").content.decode()
    assert cast.responder_a.full_name in page  # limited within the ward
    assert cast.admin_a.full_name not in page  # sees every service: not theirs to manage
    # Moving the responder among the ward's services is theirs; the clinic, lifting the
    # limit or making a service administrator are not.
    ward, clinic = cast.ward_a.service_id, cast.clinic_a.service_id
    url = f"/services/limits/{cast.responder_a.pk}/"
    assert service_admin.post(url, {"services": [clinic]}).status_code == 400
    lifted = service_admin.post(url, {})
    assert (
        lifted.status_code == 400 and "only an administrator can widen" in lifted.content.decode()
    )
    assert service_admin.post(url, {"services": [ward], "manages": "on"}).status_code == 302
    with tenant_context(cast.org_a):
        limit = ServiceLimit.objects.get(user=cast.responder_a)
        assert not limit.manages and list(limit.services.values_list("pk", flat=True)) == [ward]
    assert service_admin.get(f"/services/limits/{cast.admin_a.pk}/").status_code == 404
    # Alert rules about the ward (anyone's) are theirs to manage; others are not.
    with tenant_context(cast.org_a):
        about_ward = AlertRule.objects.create(name="Ward rule", owner=cast.admin_a)
        about_ward.services.set([ward])
        about_all = AlertRule.objects.create(name="All rule", owner=cast.admin_a)
    listed = service_admin.get("/alerts/").content.decode()
    assert "Ward rule" in listed and "All rule" not in listed
    assert service_admin.get(f"/alerts/{about_ward.pk}/").status_code == 200
    assert service_admin.get(f"/alerts/{about_all.pk}/").status_code == 403
    # The responder, limited but no service administrator, manages nobody.
    assert responder(cast).get("/services/limits/").status_code == 403


def test_thanks_leaflets_and_invitations_to_tell_are_of_their_services(
    cast: Cast,
    limited: dict[str, int],
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    from feedback.models import Thanks, ThanksRoute
    from onboarding.models import InvitationBatch

    with tenant_context(cast.org_a):
        for key, service, name in (
            ("ward", cast.ward_a.service_id, "Sister Ward"),
            ("clinic", cast.clinic_a.service_id, "Doctor Clinic"),
        ):
            Thanks.objects.create(
                story_id=limited[key],
                staff_name=name,
                service_id=service,
                named_as=name.split()[0],
                route=ThanksRoute.NO_ADDRESS,
                confirmed_by="Moderator",
            )
    client = responder(cast)
    thanks = client.get("/thanks/").content.decode()
    assert "Sister Ward" in thanks and "Doctor Clinic" not in thanks
    # Leaflets, posters and screens: for their services only, never the whole organisation.
    reach = client.get("/reach/").content.decode()
    assert cast.ward_a.name in reach and cast.clinic_a.name not in reach
    assert "The whole organisation</td>" not in reach.split("Stories by leaflet")[0]
    assert client.get(f"/reach/leaflet.pdf?service={cast.ward_a.pk}").status_code == 200
    assert client.get(f"/reach/leaflet.pdf?service={cast.clinic_a.pk}").status_code == 404
    assert client.get("/reach/leaflet.pdf").status_code == 404
    # Invitations to tell: about their services only.
    page = client.get("/invitations/tell/").content.decode()
    assert cast.ward_a.name in page and cast.clinic_a.name not in page
    post = {"action": "one", "address": "patient@example.org"}
    assert (
        client.post("/invitations/tell/", {**post, "service": cast.clinic_a.pk}).status_code == 400
    )
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post("/invitations/tell/", {**post, "service": cast.ward_a.pk})
    assert sent.status_code == 302
    with tenant_context(cast.org_a):
        assert [b.service_id for b in InvitationBatch.objects.all()] == [cast.ward_a.service_id]
    # An administrator's view is whole: both services' thanks, and the organisation's leaflet.
    admin = client_for(cast.org_a)
    assert sign_in(admin, cast.admin_a.email).status_code == 302
    everything = admin.get("/thanks/").content.decode()
    assert "Sister Ward" in everything and "Doctor Clinic" in everything
    assert admin.get("/reach/leaflet.pdf").status_code == 200


def test_no_live_dashboard_callback_shows_them_another_service(
    cast: Cast, limited: dict[str, int]
) -> None:
    """Every callback the live dashboard declares, called with the period that holds both
    stories: the clinic's story and name are in the unlimited administrator's figures and
    in none of the limited responder's."""
    import json

    from django.utils import timezone

    from tests.dashboards.dash_client import LIVE, csrf_token

    today = timezone.localdate().isoformat()
    values = {
        ("period", "start_date"): today,
        ("period", "end_date"): today,
        ("swarm-colour", "value"): "criticality",
    }

    def every_callback(client: Client) -> dict[str, str]:
        token = csrf_token(client, LIVE)
        found = {}
        callbacks = json.loads(client.get(f"{LIVE}_dash-dependencies").content)
        assert len(callbacks) >= 5
        for callback in callbacks:
            outputs = callback["output"].strip(".").split("...")
            body = {
                "output": callback["output"],
                "outputs": [
                    {"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]} for o in outputs
                ]
                if len(outputs) > 1
                else {"id": outputs[0].rsplit(".", 1)[0], "property": outputs[0].rsplit(".", 1)[1]},
                "inputs": [
                    {**i, "value": values.get((i["id"], i["property"]))} for i in callback["inputs"]
                ],
                "state": [
                    {**s, "value": values.get((s["id"], s["property"]))} for s in callback["state"]
                ],
                "changedPropIds": [f"{i['id']}.{i['property']}" for i in callback["inputs"][:1]],
            }
            response = client.post(
                f"{LIVE}_dash-update-component",
                data=json.dumps(body),
                content_type="application/json",
                HTTP_X_CSRFTOKEN=token,
            )
            assert response.status_code in (200, 204), (callback["output"], response.status_code)
            found[callback["output"]] = response.content.decode()
        return found

    admin = client_for(cast.org_a)
    assert sign_in(admin, cast.admin_a.email).status_code == 302
    theirs = every_callback(admin)
    assert any("About the clinic" in text for text in theirs.values())
    assert any(cast.clinic_a.name in text for text in theirs.values())
    leaked = [
        output
        for output, text in every_callback(responder(cast)).items()
        if "About the clinic" in text or cast.clinic_a.name in text
    ]
    assert not leaked, f"the limited responder saw the clinic in: {leaked}"


def test_their_alert_log_overdue_stories_and_emerging_themes_are_theirs(
    cast: Cast, limited: dict[str, int]
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from alerts.models import AlertDelivery, EmergingTheme

    with tenant_context(cast.org_a):
        for key, person in (("ward", cast.responder_a), ("clinic", cast.admin_a)):
            AlertDelivery.objects.create(
                key=f"test:{key}",
                kind="instant",
                story_id=limited[key],
                recipient=person.email,
                reason=f"Alert about the {key}",
                subject=f"Alert about the {key}",
            )
        Story.objects.filter(pk__in=limited.values()).update(
            due_at=timezone.now() - timedelta(hours=1)
        )
        found = {
            key: EmergingTheme.objects.create(
                service_id=service,
                theme_kind="phrase",
                theme=f"theme at the {key}",
                window_start=timezone.localdate() - timedelta(days=7),
                found_on=timezone.localdate(),
                observed=6,
                expected=1.0,
                limit=4,
                p_value=0.001,
                story_ids=[limited[key]],
            )
            for key, service in (
                ("ward", cast.ward_a.service_id),
                ("clinic", cast.clinic_a.service_id),
            )
        }
        clinic_alert = AlertDelivery.objects.get(key="test:clinic")
    client = responder(cast)
    sent = client.get("/alerts/sent/").content.decode()
    assert "Alert about the ward" in sent and "Alert about the clinic" not in sent
    assert client.get(f"/alerts/sent/{clinic_alert.pk}/").status_code == 403
    overdue = client.get("/alerts/breaches/").content.decode()
    assert "About the ward" in overdue and "About the clinic" not in overdue
    emerging = client.get("/alerts/emerging/").content.decode()
    assert "theme at the ward" in emerging and "theme at the clinic" not in emerging
    review = f"/alerts/emerging/{found['clinic'].pk}/review/"
    assert client.post(review, {"note": "Looked"}).status_code == 404
    # The unlimited administrator sees the whole organisation's.
    admin = client_for(cast.org_a)
    assert sign_in(admin, cast.admin_a.email).status_code == 302
    assert "Alert about the ward" in admin.get("/alerts/sent/").content.decode()
    assert "About the clinic" in admin.get("/alerts/breaches/").content.decode()
    assert "theme at the clinic" in admin.get("/alerts/emerging/").content.decode()


def test_the_learned_themes_they_see_are_of_their_stories(
    cast: Cast, limited: dict[str, int]
) -> None:
    from feedback.models import LearnedTopic, StoryTopic

    with tenant_context(cast.org_a):
        # The stored count is the organisation's (five, say); the ward's story is one.
        for number, (name, key, count) in enumerate(
            (("Shared theme", "ward", 5), ("Clinic only theme", "clinic", 1))
        ):
            topic = LearnedTopic.objects.create(
                number=number, terms=["word"], name=name, stories=count
            )
            StoryTopic.objects.create(story_id=limited[key], topic=topic, weight=0.9)
    page = responder(cast).get("/themes/").content.decode()
    assert "Shared theme" in page and "Clinic only theme" not in page
    assert "<strong>1</strong> story" in page  # counted from their stories only
    assert "About the ward" in page and "About the clinic" not in page
    assert "Rename" not in page  # the names are the organisation's
    admin = client_for(cast.org_a)
    assert sign_in(admin, cast.admin_a.email).status_code == 302
    whole = admin.get("/themes/").content.decode()
    assert "Clinic only theme" in whole and "<strong>5</strong> stories" in whole


def test_a_story_is_never_given_to_someone_who_cannot_see_it(
    cast: Cast, limited: dict[str, int]
) -> None:
    admin = client_for(cast.org_a)
    assert sign_in(admin, cast.admin_a.email).status_code == 302
    clinic, ward = limited["clinic"], limited["ward"]
    page = admin.get(f"/stories/{clinic}/").content.decode()
    assert f'<option value="{cast.responder_a.pk}"' not in page  # not offered
    assert (
        f'<option value="{cast.responder_a.pk}"' in admin.get(f"/stories/{ward}/").content.decode()
    )
    given = {"action": "assign", "assignee": cast.responder_a.pk}
    refused = admin.post(f"/stories/{clinic}/triage/", given, follow=True)
    assert "limited to other services" in refused.content.decode()
    assert admin.post(f"/stories/{ward}/triage/", given).status_code == 302
    with tenant_context(cast.org_a):
        assert Story.objects.get(pk=clinic).assigned_to_id is None
        assert Story.objects.get(pk=ward).assigned_to_id == cast.responder_a.pk


def test_exports_and_long_pdfs_open_only_within_their_services_as_they_are_now(
    cast: Cast,
    limited: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    settings,  # noqa: ANN001
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    """A colleague's export of every service, link and all, is not served to them; nor is
    their own export once their limit no longer covers it; and a limited administrator does
    not see everyone's exports."""
    from django.urls import reverse

    from dashboards.models import LongReport
    from dashboards.reports import long_reports

    settings.MEDIA_ROOT = tmp_path
    sent: list[int] = []
    monkeypatch.setattr(build_story_export, "delay", lambda pk: sent.append(pk))
    admin = client_for(cast.org_a)
    assert sign_in(admin, cast.admin_a.email).status_code == 302
    client = responder(cast)
    for who in (admin, client):
        with django_capture_on_commit_callbacks(execute=True):
            assert who.post("/stories/export/", {"format": "csv"}).status_code == 302
    with tenant_context(cast.org_a):
        for pk in sent:
            exporting.build_export(pk)
        everything, theirs = (StoryExport.objects.get(pk=pk) for pk in sent)
        links = {
            e.pk: reverse("feedback:export_download", args=[exporting.signed_link(e)])
            for e in (everything, theirs)
        }
    assert client.get(links[theirs.pk]).status_code == 200
    assert client.get(links[everything.pk]).status_code == 404  # a colleague's, forwarded
    assert client.get(f"/exports/{everything.token}/").status_code == 404
    # Moved to the clinic: their ward export is no longer theirs to open.
    with tenant_context(cast.org_a):
        clinic = Service.objects.get(pk=cast.clinic_a.service_id)
        set_limit(cast.responder_a, [clinic], actor=cast.admin_a)
        report = LongReport.objects.create(
            token="a" * 32, kind="summary", requested_by=cast.responder_a, within=None
        )
        assert not long_reports.may_open(report.token, User.objects.get(pk=cast.responder_a.pk))
    client = responder(cast)
    assert client.get(links[theirs.pk]).status_code == 404
    assert "About the ward" not in client.get("/exports/").content.decode()
    # A limited administrator sees their own exports only.
    with tenant_context(cast.org_a):
        cast.member_a.role = "administrator"
        cast.member_a.save(update_fields=["role"])
        set_limit(cast.member_a, [clinic], actor=cast.admin_a)
    limited_admin = client_for(cast.org_a)
    assert sign_in(limited_admin, cast.member_a.email).status_code == 302
    listed = limited_admin.get("/exports/").content.decode()
    assert f"/exports/{everything.token}/" not in listed
    assert f"/exports/{everything.token}/" in admin.get("/exports/").content.decode()
    assert limited_admin.get(f"/exports/{everything.token}/").status_code == 404
