"""A change claim ("we planned / made a change") on a public response is the publisher's to
make, or an administrator's: a colleague responder cannot rewrite it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from feedback.choices import ChangeStatus
from feedback.hub.models import PublicResponse
from feedback.models import Response, Story
from feedback.responding import Draft, RespondingError, publish_response, record_change
from tenants.accounts.models import Role, User
from tenants.audit.models import AuditEvent
from tests.conftest import PASSWORD, Cast, client_for, sign_in, tell_and_publish

pytestmark = pytest.mark.django_db

REPLY = (
    "I am sorry the wait for a bed on Alpha Ward One was so long, and thank you for telling "
    "us how kind the nurses were. We are looking at how beds free up earlier in the day. "
    "Rita Responder, Ward Manager"
)


@pytest.fixture
def published(cast: Cast) -> Response:
    """Rita's response, with a planned change, published over half an hour ago."""
    made = tell_and_publish(cast, [cast.ward_a], criticality="moderately critical")
    with tenant_context(cast.org_a):
        story = Story.objects.get(public_id=made.public_story.pk)
        response = publish_response(
            story,
            Draft(REPLY, ChangeStatus.PLANNED, "A discharge coordinator"),
            responder=cast.responder_a,
            written_by=cast.responder_a,
        )
        Response.objects.filter(pk=response.pk).update(
            published_at=timezone.now() - timedelta(hours=2)
        )
        response.refresh_from_db()
    return response


@pytest.fixture
def colleague(cast: Cast) -> User:
    with tenant_context(cast.org_a):
        return User.objects.create_user(
            "colin@alpha.example", PASSWORD, full_name="Colin Colleague", role=Role.RESPONDER
        )


def _post_change(cast: Cast, email: str, response: Response, description: str):  # noqa: ANN202
    client = client_for(cast.org_a)
    sign_in(client, email)
    return client.post(
        f"/responses/{response.pk}/edit/",
        {
            "action": "change",
            "body": response.body,
            "change_status": ChangeStatus.MADE,
            "change_description": description,
        },
    )


def _claim(cast: Cast, response: Response) -> tuple[tuple[str, str], tuple[str, str], int]:
    """(the workspace's claim, the hub's public claim, change audit rows)."""
    with tenant_context(cast.org_a):
        row = Response.objects.get(pk=response.pk)
        audits = AuditEvent.objects.filter(action="response.change_recorded").count()
    public = PublicResponse.objects.get(pk=row.public_id)
    return (
        (row.change_status, row.change_description),
        (public.change_status, public.change_description),
        audits,
    )


def test_a_colleague_responder_cannot_rewrite_the_change_claim(
    cast: Cast, published: Response, colleague: User
) -> None:
    before = _claim(cast, published)
    page = _post_change(cast, colleague.email, published, "Nothing, actually")
    assert page.status_code == 403
    assert "Only the person who published a response" in page.content.decode()
    assert (
        _claim(cast, published)
        == before
        == (
            ("planned", "A discharge coordinator"),
            ("planned", "A discharge coordinator"),
            0,
        )
    )
    with tenant_context(cast.org_a), pytest.raises(RespondingError, match="Only the person"):
        record_change(published, ChangeStatus.MADE, "Nothing, actually", actor=colleague)
    assert _claim(cast, published) == before


def test_the_publisher_records_the_change_after_the_edit_window(
    cast: Cast, published: Response
) -> None:
    page = _post_change(cast, cast.responder_a.email, published, "The coordinator is in post")
    assert page.status_code == 302
    assert _claim(cast, published) == (
        ("made", "The coordinator is in post"),
        ("made", "The coordinator is in post"),
        1,
    )


def test_an_administrator_records_the_change_for_a_colleague(
    cast: Cast, published: Response
) -> None:
    page = _post_change(cast, cast.admin_a.email, published, "The coordinator is in post")
    assert page.status_code == 302
    assert _claim(cast, published)[1] == ("made", "The coordinator is in post")
    with tenant_context(cast.org_a):
        event = AuditEvent.objects.get(action="response.change_recorded")
        assert event.actor_id == cast.admin_a.pk
