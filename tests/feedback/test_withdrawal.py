"""Withdrawal at the author's request reaches every copy of the story: the hub's public copy,
its responses and replies, each organisation's schema, the API, the rollups and the live
dashboard, the public cache, reports made afterwards; and leaves a note where it stood, with
an audit trail in the hub and in each organisation."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import Sum
from django.test import Client, override_settings
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from dashboards import queries
from dashboards.filters import tenant_scope
from dashboards.models import LongReport, LongReportState
from dashboards.reports import long_reports
from dashboards.rollups.models import ServiceDay, ServiceDayTag
from dashboards.rollups.rebuilding import rebuild_rollups
from feedback.apikeys import create_api_key
from feedback.choices import ChangeStatus
from feedback.followup import submit_author_reply
from feedback.hub.models import (
    AuthorReply,
    AuthorRequest,
    AuthorRequestKind,
    AuthorRequestState,
    PublicResponse,
    PublicStory,
    Submission,
    SubmissionState,
    WithdrawnStory,
)
from feedback.models import Response, Story, StoryNote, StoryReading
from feedback.public_cache import public_version
from feedback.responding import Draft, publish_response
from feedback.safeguarding import acknowledge_concern, raise_concern
from feedback.triage import add_note, open_story
from feedback.withdrawal import WITHDRAWN_TITLE, WithdrawalError, withdraw_story
from feedback.your_story import make_story_token
from tenants.audit.models import AuditEvent
from tests.conftest import (
    Cast,
    client_for,
    sign_in,
    tell,
    tell_and_publish,
)
from tests.dashboards.dash_client import LIVE, call, csrf_token, live_filters, result

pytestmark = pytest.mark.django_db

TITLE = "Night staff on the stroke unit"
GOOD = "The night nurse sat with my father when he was frightened, and read to him."
REPLY = (
    "Thank you for telling us about your father's nights on the ward. I am sorry the wait "
    "for a bed was so long; we have shared your story with the ward team and the discharge "
    "coordinator, who now checks beds twice each evening."
)


def moderator_client(cast: Cast) -> Client:
    client = client_for(None)
    assert sign_in(client, cast.moderator.email).status_code == 302
    return client


def respond(cast: Cast, organisation, public_id: int, *, change: str = ChangeStatus.NONE):  # noqa: ANN001, ANN201
    responder = cast.responder_a if organisation == cast.org_a else cast.responder_b
    with tenant_context(organisation):
        story = Story.objects.get(public_id=public_id)
        publish_response(
            story,
            Draft(REPLY, change, "Beds checked twice each evening" if change != "none" else ""),
            responder=responder,
            written_by=responder,
        )
    return PublicResponse.objects.filter(public_story_id=public_id, organisation=organisation).get()


def ask_through_the_link(submission_id: int, reason: str = "I want it taken down.") -> int:
    """The author asks on their "Your story" page; returns the request's id."""
    submission = Submission.objects.get(pk=submission_id)
    page = client_for(None).post(
        f"/your-story/{make_story_token(submission)}/", {"action": "withdraw", "reason": reason}
    )
    assert page.status_code == 302, page.content.decode()[-2000:]
    return AuthorRequest.objects.get(submission_id=submission_id, state="open").pk


def confirm(cast: Cast, request_id: int, note: str = "", capture=None) -> Client:  # noqa: ANN001
    client = moderator_client(cast)
    if capture is None:
        response = client.post(
            f"/moderation/requests/{request_id}/", {"action": "withdraw", "note": note}
        )
    else:
        with capture(execute=True):
            response = client.post(
                f"/moderation/requests/{request_id}/", {"action": "withdraw", "note": note}
            )
    assert response.status_code == 302, response.content.decode()[-2000:]
    return client


def stories_counted(organisation) -> int:  # noqa: ANN001
    total = ServiceDay.objects.filter(organisation=organisation).aggregate(n=Sum("stories"))["n"]
    return total or 0


def month_scope(organisation) -> queries.Scope:  # noqa: ANN001
    today = timezone.localdate()
    return tenant_scope(
        organisation.pk,
        start=(today - timedelta(days=29)).isoformat(),
        end=today.isoformat(),
        service=None,
        criticality=None,
        today=today,
    )


def signed_in_workspace(cast: Cast, organisation) -> Client:  # noqa: ANN001
    client = client_for(organisation)
    email = cast.admin_a.email if organisation == cast.org_a else cast.admin_b.email
    assert sign_in(client, email).status_code == 302
    return client


def test_withdrawal_reaches_every_copy_and_leaves_a_note_where_it_stood(
    cast: Cast, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    kept = tell_and_publish(cast, [cast.ward_a], title="A story that stays")
    published = tell_and_publish(
        cast,
        [cast.ward_a, cast.ward_b],
        title=TITLE,
        what_was_good=GOOD,
        tags=["what was good:kind staff"],
    )
    public_id = published.public_story.pk
    submission = Submission.objects.get(public_story_id=public_id)
    schema_story = dict(published.stories)
    from_a = respond(cast, cast.org_a, public_id, change=ChangeStatus.MADE)
    respond(cast, cast.org_b, public_id)
    submit_author_reply(from_a, "Thank you, the beds are better now.")
    with tenant_context(cast.org_a):
        story_a = Story.objects.get(public_id=public_id)
        open_story(story_a, reader=cast.responder_a)
        add_note(story_a, "Discussed at the ward meeting.", author=cast.admin_a)
    key = create_api_key(cast.org_a, name="analysts", actor=cast.admin_a).secret
    hub = client_for(None)
    workspace_a = signed_in_workspace(cast, cast.org_a)
    counted = {org.pk: stories_counted(org) for org in (cast.org_a, cast.org_b)}
    with tenant_context(cast.org_a):
        reported = queries.kpis(month_scope(cast.org_a)).stories
    assert TITLE in workspace_a.get("/reports/").content.decode()
    assert TITLE in workspace_a.get("/reports/you-said-we-did.csv").content.decode()
    assert hub.get(f"/api/v2/opinions/{public_id}?key={key}").status_code == 200
    organisation_page = hub.get("/organisations/beta/").content.decode()
    version = public_version()

    request_id = ask_through_the_link(submission.pk)
    confirm(cast, request_id, capture=django_capture_on_commit_callbacks)

    # The hub: no public copy, no responses or replies; a note where it stood.
    assert not PublicStory.objects.filter(pk=public_id).exists()
    assert not PublicResponse.objects.filter(public_story_id=public_id).exists()
    assert not AuthorReply.objects.filter(body__contains="beds are better").exists()
    tombstone = WithdrawnStory.objects.get(public_id=public_id)
    assert tombstone.response_count == 2
    assert set(tombstone.organisations.all()) == {cast.org_a, cast.org_b}
    page = hub.get(f"/stories/{public_id}/")
    assert page.status_code == 410
    text = page.content.decode()
    assert "This story was withdrawn at its author's request" in text
    assert (
        "2 responses from Alpha Hospitals NHS Trust and Beta Hospitals NHS Trust were removed"
        in text
    )
    assert TITLE not in text and GOOD not in text
    assert hub.get(f"/stories/{kept.public_story.pk}/").status_code == 200
    assert hub.get("/stories/999999999/").status_code == 404
    assert TITLE not in hub.get("/stories/").content.decode()
    # The API answers as if it never existed; the organisation's page no longer counts it.
    missing = hub.get(f"/api/v2/opinions/{public_id}?key={key}")
    assert missing.status_code == 404
    assert missing["Content-Type"].startswith("application/json")
    assert missing.json()["status"] == 404
    listed = hub.get(f"/api/v2/opinions?key={key}").json()
    assert public_id not in [item["id"] for item in listed]
    assert hub.get(f"/api/v2/opinions/{public_id}/responses?key={key}").status_code == 404
    assert hub.get("/organisations/beta/").content.decode() != organisation_page
    assert public_version() > version

    # Each organisation's schema: the story, its responses, notes and readings are gone.
    for organisation in (cast.org_a, cast.org_b):
        with tenant_context(organisation):
            assert not Story.objects.filter(public_id=public_id).exists()
            story_id = schema_story[organisation.schema_name]
            assert not Response.objects.filter(story_id=story_id).exists()
            assert not StoryNote.objects.filter(story_id=story_id).exists()
            assert not StoryReading.objects.filter(story_id=story_id).exists()
            event = AuditEvent.objects.get(action="story.withdrawn", target_id=str(story_id))
            assert event.detail["public_id"] == public_id
            assert cast.moderator.email in event.actor_label
        assert stories_counted(organisation) == counted[organisation.pk] - 1
    with tenant_context(cast.org_a):
        assert queries.kpis(month_scope(cast.org_a)).stories == reported - 1
        assert Story.objects.filter(public_id=kept.public_story.pk).exists()

    # Reports and exports made afterwards do not include it.
    summary = workspace_a.get("/reports/")
    assert summary.status_code == 200 and TITLE not in summary.content.decode()
    rows = list(csv.reader(io.StringIO(workspace_a.get("/reports/summary.csv").content.decode())))
    assert TITLE not in repr(rows)
    assert TITLE not in workspace_a.get("/reports/you-said-we-did.csv").content.decode()
    # The organisation's own address for it says the same as the hub (410), not an error.
    gone = workspace_a.get(f"/stories/{schema_story[cast.org_a.schema_name]}/")
    assert gone.status_code == 410
    assert "withdrawn at its author's request" in gone.content.decode()
    assert TITLE not in workspace_a.get("/stories/").content.decode()

    # The submission keeps none of the author's words; the request is done; all audited.
    submission.refresh_from_db()
    assert submission.state == SubmissionState.WITHDRAWN
    assert submission.withdrawn_at is not None and submission.public_story_id is None
    assert submission.title == WITHDRAWN_TITLE
    assert (submission.what_was_good, submission.nickname, submission.assisted_by) == ("", "", "")
    assert submission.findings is None
    handled = AuthorRequest.objects.get(pk=request_id)
    assert handled.state == AuthorRequestState.DONE and handled.handled_by == cast.moderator
    with schema_context("public"):
        hub_event = AuditEvent.objects.get(
            action="moderation.withdrawn", target_id=str(submission.pk)
        )
    assert hub_event.actor == cast.moderator
    assert hub_event.detail["public_id"] == public_id
    assert TITLE not in hub_event.summary
    # No audit row, in the hub or in either organisation, still quotes the story; the rows
    # themselves stay (who published it, who responded, when).
    with schema_context("public"):
        published_event = AuditEvent.objects.get(
            action="moderation.published", target_id=str(submission.pk)
        )
        assert not AuditEvent.objects.filter(summary__contains=TITLE).exists()
    assert published_event.actor == cast.moderator
    for organisation in (cast.org_a, cast.org_b):
        with tenant_context(organisation):
            assert not AuditEvent.objects.filter(summary__contains=TITLE).exists()
            assert AuditEvent.objects.filter(action="response.published").exists()
    # The author's page says so.
    mine = hub.get(f"/your-story/{make_story_token(submission)}/").content.decode()
    assert "Your story was withdrawn" in mine and TITLE not in mine


def test_the_live_dashboard_stops_counting_a_withdrawn_story(
    cast: Cast, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    client = client_for(cast.org_a)
    assert sign_in(client, cast.member_a.email).status_code == 302
    token = csrf_token(client, LIVE)

    def month() -> int:
        cards = result(
            call(client, LIVE, ("kpis", "children"), live_filters(), token=token),
            "kpis",
            "children",
        )
        values = {card["props"]["children"][1]["props"]["id"]: card for card in cards}
        return int(values["kpi-month"]["props"]["children"][1]["props"]["children"])

    with django_capture_on_commit_callbacks(execute=True):
        published = tell_and_publish(cast, [cast.ward_a], title=TITLE)
    before = month()  # computed, and cached under the organisation's data version
    submission = Submission.objects.get(public_story=published.public_story)
    confirm(cast, ask_through_the_link(submission.pk), capture=django_capture_on_commit_callbacks)
    assert month() == before - 1


def test_after_a_withdrawal_the_rollups_equal_a_rebuild_from_the_stories(cast: Cast) -> None:
    for _ in range(2):
        tell_and_publish(cast, [cast.ward_a, cast.clinic_a], tags=["what was good:kind staff"])
    published = tell_and_publish(
        cast,
        [cast.ward_a, cast.clinic_a],
        criticality="severely critical",
        tags=["what could be improved:waiting time"],
    )
    respond(cast, cast.org_a, published.public_story.pk, change=ChangeStatus.PLANNED)
    submission = Submission.objects.get(public_story=published.public_story)
    withdraw_story(submission.pk, moderator=cast.moderator)

    def rows() -> tuple[list, list]:
        days = ServiceDay.objects.filter(organisation=cast.org_a).exclude(stories=0)
        tags = ServiceDayTag.objects.filter(organisation=cast.org_a).exclude(stories=0)
        return (
            sorted(
                days.values_list(
                    "service_id",
                    "day",
                    "criticality",
                    "stories",
                    "responded",
                    "changes_planned",
                    "negative_tags",
                )
            ),
            sorted(tags.values_list("service_id", "day", "tag_name", "stories")),
        )

    incremental = rows()
    assert not any(row[2] == "severely critical" for row in incremental[0])
    rebuild_rollups(cast.org_a)
    assert rows() == incremental


def test_a_long_report_made_before_the_withdrawal_is_deleted(
    cast: Cast, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    published = tell_and_publish(cast, [cast.ward_a], title=TITLE)
    today = timezone.localdate()
    with override_settings(MEDIA_ROOT=str(tmp_path)), tenant_context(cast.org_a):
        token = long_reports.new_token()
        LongReport.objects.create(token=token, kind="summary", requested_by=cast.admin_a)
        made = Path(
            long_reports.build(
                token, "summary", (today - timedelta(days=200)).isoformat(), today.isoformat(), None
            )
        )
        assert made.is_file()
        submission = Submission.objects.get(public_story=published.public_story)
        with django_capture_on_commit_callbacks(execute=True):
            withdraw_story(submission.pk, moderator=cast.moderator)
        assert not made.exists()
        assert long_reports.progress(token)["state"] == "failed"
        assert LongReport.objects.get(token=token).state == LongReportState.FAILED


def test_a_withdrawn_story_in_one_organisation_is_not_announced_in_another(cast: Cast) -> None:
    published = tell_and_publish(cast, [cast.ward_a], title=TITLE)
    story_id = published.stories[0][1]
    submission = Submission.objects.get(public_story=published.public_story)
    withdraw_story(submission.pk, moderator=cast.moderator)
    assert signed_in_workspace(cast, cast.org_a).get(f"/stories/{story_id}/").status_code == 410
    other = signed_in_workspace(cast, cast.org_b).get(f"/stories/{story_id}/")
    assert other.status_code != 410 and "withdrawn" not in other.content.decode()
    with tenant_context(cast.org_b):
        assert not AuditEvent.objects.filter(action="story.withdrawn").exists()


def test_a_story_is_withdrawn_once_and_a_request_made_without_a_link_needs_verifying(
    cast: Cast,
) -> None:
    published = tell_and_publish(cast, [cast.ward_a], title=TITLE)
    submission = Submission.objects.get(public_story=published.public_story)
    unverified = AuthorRequest.objects.create(
        kind=AuthorRequestKind.WITHDRAW, submission=submission, details="It is mine."
    )
    with pytest.raises(WithdrawalError, match="verified"):
        withdraw_story(submission.pk, moderator=cast.moderator, author_request_id=unverified.pk)
    assert PublicStory.objects.filter(pk=published.public_story.pk).exists()
    withdraw_story(
        submission.pk,
        moderator=cast.moderator,
        author_request_id=unverified.pk,
        note="They quoted the unpublished last paragraph word for word.",
    )
    with pytest.raises(WithdrawalError, match="already"):
        withdraw_story(submission.pk, moderator=cast.moderator)
    unverified.refresh_from_db()
    assert unverified.state == AuthorRequestState.DONE
    assert "word for word" in unverified.moderator_note


def test_an_unacknowledged_safeguarding_concern_holds_the_withdrawal_until_acknowledged(
    cast: Cast,
) -> None:
    submission_id = tell([cast.ward_a], title=TITLE)
    (concern,) = raise_concern(
        submission_id, moderator=cast.moderator, category="abuse", note="Describes abuse at home."
    )
    request_id = ask_through_the_link(submission_id)
    refused = moderator_client(cast).post(
        f"/moderation/requests/{request_id}/", {"action": "withdraw", "note": ""}
    )
    assert refused.status_code == 400
    assert "safeguarding concern" in refused.content.decode()
    assert Submission.objects.get(pk=submission_id).state != SubmissionState.WITHDRAWN
    with tenant_context(cast.org_a):
        acknowledge_concern(concern.pk, user=cast.admin_a, note="Our safeguarding lead has it.")
    confirm(cast, request_id)
    assert Submission.objects.get(pk=submission_id).state == SubmissionState.WITHDRAWN
    with schema_context("public"):
        assert AuditEvent.objects.filter(action="moderation.withdrawn").exists()


def test_tenant_staff_cannot_reach_the_moderators_requests(cast: Cast) -> None:
    request_id = ask_through_the_link(tell([cast.ward_a]))
    workspace = signed_in_workspace(cast, cast.org_a)
    assert workspace.get("/moderation/requests/").status_code == 404
    assert (
        workspace.post(
            f"/moderation/requests/{request_id}/", {"action": "decline", "note": "x"}
        ).status_code
        == 404
    )
    anonymous = client_for(None)
    assert anonymous.get("/moderation/requests/").status_code == 302
    refused = anonymous.post(
        f"/moderation/requests/{request_id}/", {"action": "decline", "note": "x"}
    )
    assert refused.status_code == 302 and "/admin/login/" in refused["Location"]
    assert AuthorRequest.objects.get(pk=request_id).state == AuthorRequestState.OPEN
    assert re.search(
        r"Withdraw my story", moderator_client(cast).get("/moderation/requests/").content.decode()
    )
