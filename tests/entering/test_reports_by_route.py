"""The stories summary counts the organisation's stories by route, and those entered by its
own staff, on the page, in the CSV and in the PDF."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from dashboards.filters import tenant_scope
from dashboards.reports.summary import stories_by_route, stories_summary
from feedback.entering import EnteredStory, enter_story
from feedback.moderation import Decision, publish_submission
from tenants.staff import set_story_taker
from tests.conftest import Cast, client_for, sign_in, tell_and_publish

pytestmark = pytest.mark.django_db


def scope_of(cast: Cast, service: object = None):  # noqa: ANN201
    today = timezone.localdate()
    return tenant_scope(
        cast.org_a.pk,
        start=(today - timedelta(days=29)).isoformat(),
        end=today.isoformat(),
        service=service,
        criticality=None,
        today=today,
    )


def entered_and_published(cast: Cast, route: str, *, by_staff: bool) -> None:
    entry = EnteredStory(
        title=f"A {route} story",
        what_was_good="The nurses were kind.",
        what_could_be_improved="",
        how_it_felt="",
        author_role="patient",
        author_age_group="not said",
        nickname="",
        route=route,
        consent_given="said yes in person",
        consent_confirmed=True,
        # Both services: the story is still counted once.
        listings=[cast.ward_a, cast.clinic_a],
    )
    if by_staff:
        with tenant_context(cast.org_a):
            set_story_taker(cast.member_a, True, actor=cast.admin_a)
            cast.member_a.refresh_from_db()
            submission = enter_story(entry, entered_by=cast.member_a, organisation=cast.org_a)
    else:
        submission = enter_story(entry, entered_by=cast.moderator)
    publish_submission(
        submission.pk,
        moderator=cast.moderator,
        decision=Decision("mildly critical", [], [cast.ward_a, cast.clinic_a]),
    )


def test_the_summary_counts_stories_by_route_and_those_entered_by_staff(cast: Cast) -> None:
    tell_and_publish(cast, [cast.ward_a])
    tell_and_publish(cast, [cast.ward_a], route="kiosk")
    entered_and_published(cast, "paper", by_staff=True)
    entered_and_published(cast, "in person", by_staff=True)
    entered_and_published(cast, "phone", by_staff=False)
    tell_and_publish(cast, [cast.ward_b])  # another organisation's: never counted here

    with tenant_context(cast.org_a):
        counts = {key: n for key, _, n in stories_by_route(scope_of(cast))}
        summary = stories_summary(scope_of(cast))
        only_clinic = {
            key: n for key, _, n in stories_by_route(scope_of(cast, cast.clinic_a.service_id))
        }
    assert counts == {
        "web": 1,
        "widget": 0,
        "kiosk": 1,
        "assisted": 0,
        "phone": 1,
        "paper": 1,
        "in person": 1,
        "entered by staff": 2,
    }
    assert sum(n for key, n in counts.items() if key != "entered by staff") == summary.stories
    assert only_clinic["paper"] == 1 and only_clinic["web"] == 0

    client = client_for(cast.org_a)
    sign_in(client, cast.member_a.email)
    page = client.get("/reports/").content.decode()
    assert 'id="route-in-person">1<' in page and 'id="route-entered-by-staff">2<' in page
    rows = list(csv.reader(io.StringIO(client.get("/reports/summary.csv").content.decode())))
    assert ["route", "paper", "1"] in rows and ["route", "entered by staff", "2"] in rows
    pdf = client.get("/reports/summary.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
