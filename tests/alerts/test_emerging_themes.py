"""Emerging themes (alerts/emerging.py): the control limit's arithmetic, the nightly runs over
a history, and in an organisation's schema the findings recorded once, alerted to the rules
that asked for them at their services, previewed on a rule's page, listed on their own page,
and never another organisation's."""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta
from unittest.mock import patch

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from alerts.emerging import (
    BASELINE_DAYS,
    MIN_RATIO,
    MIN_STORIES,
    QUIET_DAYS,
    TAG,
    Theme,
    alpha_for,
    expected_in_window,
    find_emerging_themes,
    limit_for,
    nights,
    poisson_upper_tail,
    preview_emerging_themes,
    uk_day,
    work_out_preview,
)
from alerts.models import AlertDelivery, DeliveryKind, EmergingTheme
from alerts.working_time import UK
from feedback.models import Service, Story
from tenants.audit.models import AuditEvent
from tests.alerts.test_alerts import rule
from tests.conftest import (
    AUTHOR_EMAIL,
    AUTHOR_POSTCODE,
    Cast,
    client_for,
    sign_in,
    tell_and_publish,
)
from tests.outbox_mail import sent_mail_to

pytestmark = pytest.mark.django_db

WAIT = "what could be improved:waiting time"


def exact_tail(observed: int, expected: float) -> float:
    return 1 - sum(math.exp(-expected) * expected**k / math.factorial(k) for k in range(observed))


@pytest.mark.parametrize(("observed", "expected"), [(3, 1.0), (5, 0.5), (12, 4.2), (1, 3.0)])
def test_the_poisson_tail_is_the_exact_one(observed: int, expected: float) -> None:
    assert poisson_upper_tail(observed, expected) == pytest.approx(
        exact_tail(observed, expected), rel=1e-9, abs=1e-15
    )


def test_the_limit_is_the_smallest_count_chance_would_almost_never_give() -> None:
    for expected in (0.05, 1.0, 7.0, 30.0):
        limit = limit_for(expected)
        assert limit >= MIN_STORIES
        assert poisson_upper_tail(limit, expected) < alpha_for(expected)
        # The smallest count meeting all three: enough stories, enough of a rise, rare enough.
        floor = max(MIN_STORIES, math.ceil(MIN_RATIO * expected))
        assert limit == floor or poisson_upper_tail(limit - 1, expected) >= alpha_for(expected)


THEME = Theme(TAG, "waiting time")


def test_a_rise_is_found_at_the_lowest_service_once_and_not_again_while_quiet() -> None:
    # One story a day at the ward (and so at its department and the whole organisation)
    # for longer than the baseline, then four a day for a week from day `rise`.
    rise = 1000 + BASELINE_DAYS + 10
    days = [*range(1000, rise), *[day for day in range(rise, rise + 7) for _ in range(4)]]
    series = {(ward, THEME): days for ward in (2, 1, None)}
    parents = {2: 1, 1: None}
    found = nights(series, rise - 20, rise + 20, parents=parents)
    assert [(b.unit, b.theme) for b in found] == [(2, THEME)]
    breach = found[0]
    assert rise < breach.night <= rise + 7
    assert breach.observed >= breach.limit
    assert breach.expected == pytest.approx(expected_in_window(BASELINE_DAYS))
    # Reported just before: not again within the quiet days.
    quiet = {(2, THEME.key): rise - 10}
    assert nights(series, rise - 20, rise + 20, parents=parents, quiet_before=quiet) == []
    # Reported longer ago than the quiet days: reported again.
    earlier = {(2, THEME.key): breach.night - QUIET_DAYS}
    again = nights(series, rise - 20, rise + 20, parents=parents, quiet_before=earlier)
    assert [b.night for b in again] == [breach.night]


def test_a_steady_theme_and_a_rare_one_break_nothing() -> None:
    steady = [day for day in range(800, 1200) for _ in range(3)]
    rare = list(range(1000, 1200, 20))
    found = nights(
        {(None, THEME): steady, (None, Theme(TAG, "parking")): rare}, 1100, 1199, parents={}
    )
    assert found == []


def test_one_run_of_stories_is_one_finding_named_by_its_best_theme() -> None:
    from alerts.emerging import PHRASE, Breach, History, distinct_by_stories

    night = 1107
    run = [(1100 + n, 50 + n) for n in range(6)]
    themes = {
        Theme(PHRASE, "bell and nobody"): run,
        Theme(PHRASE, "call bell"): run,
        Theme(TAG, "staffing levels"): [*run, (1101, 99)],  # one story more
        Theme(PHRASE, "long time"): run[:5],  # among the tag's stories
        Theme(PHRASE, "car park"): [(1100 + n, 70 + n) for n in range(6)],  # other stories
    }
    found = History(
        series={(3, t): [d for d, _ in e] for t, e in themes.items()},
        stories={(3, t): e for t, e in themes.items()},
        parents={3: None},
    )
    breaches = [Breach(3, t, night, 6, 0.1, 5, 1e-9) for t in themes]
    kept = distinct_by_stories(found, breaches)
    assert [b.theme.text for b in kept] == ["staffing levels", "car park"]
    assert {t.text for t in kept[0].also} == {"call bell", "bell and nobody", "long time"}
    # Among phrases alone, the one without stop words inside names the run.
    alone = distinct_by_stories(found, [b for b in breaches if b.theme.kind == PHRASE][:2])
    assert [b.theme.text for b in alone] == ["call bell"]


# --- in an organisation's schema -------------------------------------------------------------


def publish_at(cast: Cast, when: datetime, *, listing=None, title: str = "Waited hours") -> Story:  # noqa: ANN001
    published = tell_and_publish(
        cast, [listing or cast.ward_a], tags=[WAIT], title=title, criticality="not critical"
    )
    with tenant_context(cast.org_a):
        story = Story.objects.get(public_id=published.public_story.pk)
        Story.objects.filter(pk=story.pk).update(published_at=when)
        return story


@pytest.fixture
def night() -> datetime:
    return datetime.combine(uk_day(timezone.now()), time.min, tzinfo=UK)


@pytest.fixture
def rising(cast: Cast, night: datetime) -> list[Story]:
    """Six stories about waiting at A's ward in the last week, none before."""
    return [publish_at(cast, night - timedelta(days=1 + n, hours=3)) for n in range(6)]


def findings(cast: Cast) -> list[tuple[str | None, str, str]]:
    with tenant_context(cast.org_a):
        return [
            (f.service.name if f.service else None, f.theme_kind, f.theme)
            for f in EmergingTheme.objects.select_related("service")
        ]


def test_a_rising_tag_is_recorded_at_its_service_and_alerted_to_a_rule_that_asked(
    cast: Cast, rising: list[Story]
) -> None:
    asked = rule(cast, name="Emerging at the ward", emerging_themes=True)
    rule(cast, name="Instant only", recipients=[cast.admin_a])
    with tenant_context(cast.org_a):
        ward = Service.objects.get(pk=cast.ward_a.service_id)
        asked.services.set([ward])
        found = find_emerging_themes()
        # The tag and the phrases the same six stories share are one finding.
        assert len(found) == 1
        (tag,) = found
        assert tag.theme_kind == TAG and "phrase:waited hours" in tag.also_themes
        assert (tag.service_id, tag.theme, tag.observed) == (ward.pk, "waiting time", 6)
        assert sorted(tag.story_ids) == sorted(s.pk for s in rising)
        delivery = AlertDelivery.objects.get(
            kind=DeliveryKind.EMERGING, rule=asked, key__contains=f"theme-{tag.pk}:"
        )
        assert delivery.recipient == cast.responder_a.email and delivery.state == "sent"
        assert delivery.stories_count == 6
        # Found at the ward, so not again for the organisation as a whole.
        assert not EmergingTheme.objects.filter(service=None, theme="waiting time").exists()
        # Run again the same night: nothing new recorded or sent.
        count = AlertDelivery.objects.count()
        find_emerging_themes()
        assert AlertDelivery.objects.count() == count
        assert EmergingTheme.objects.filter(theme="waiting time").count() == 1
        # The next night the run is still there but quiet: neither the tag nor the phrases
        # that went with it are reported again.
        assert find_emerging_themes(uk_day(timezone.now()) + timedelta(days=1)) == []
    mails = [m for m in sent_mail_to(cast.responder_a.email) if "Emerging theme" in m.subject]
    assert len([m for m in mails if "waiting time" in m.subject]) == 1
    mail = next(m for m in mails if "waiting time" in m.subject)
    assert "6 stories in the 7 days" in mail.body and "Waited hours" in mail.body
    # Never the author's details.
    assert AUTHOR_EMAIL not in mail.body and AUTHOR_POSTCODE not in mail.body
    html = "".join(str(content) for content, _ in getattr(mail, "alternatives", []))
    assert "Waited hours" in html
    assert AUTHOR_EMAIL not in html and AUTHOR_POSTCODE not in html
    # The rule without emerging themes heard nothing.
    assert not [m for m in sent_mail_to(cast.admin_a.email) if "Emerging theme" in m.subject]


def test_a_rule_about_other_services_hears_nothing(cast: Cast, rising: list[Story]) -> None:
    elsewhere = rule(cast, name="Clinic themes", emerging_themes=True)
    with tenant_context(cast.org_a):
        elsewhere.services.set([Service.objects.get(pk=cast.clinic_a.service_id)])
        assert find_emerging_themes()
        assert not AlertDelivery.objects.filter(kind=DeliveryKind.EMERGING).exists()


def test_a_usual_theme_is_not_emerging(cast: Cast, night: datetime) -> None:
    # As many a week for the last twelve weeks: nothing new.
    for week in range(13):
        publish_at(cast, night - timedelta(days=1 + 7 * week, hours=2))
    with tenant_context(cast.org_a):
        find_emerging_themes()
    assert ("Alpha Ward One", TAG, "waiting time") not in findings(cast)


def test_the_rule_page_previews_the_last_90_days(
    cast: Cast, rising: list[Story], admin_a_client, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    asked = rule(cast, name="Emerging everywhere", emerging_themes=True)
    # The replay reads nine months of stories: a worker works it out, once a day.
    with (
        patch("alerts.tasks.work_out_emerging_preview.delay") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        page = admin_a_client.get(f"/alerts/{asked.pk}/").content.decode()
        assert "is being worked out" in page
        admin_a_client.get(f"/alerts/{asked.pk}/")
    assert queued.call_count == 1  # asked for once, not on every view
    with tenant_context(cast.org_a):
        work_out_preview()
        previewed = preview_emerging_themes(asked)
    # Replayed night by night, it is found as soon as the fifth story is in.
    assert any(p.theme == "tag “waiting time”" and p.observed == MIN_STORIES for p in previewed)
    page = admin_a_client.get(f"/alerts/{asked.pk}/").content.decode()
    assert "Emerging themes" in page and "waiting time" in page and "Waited hours" in page
    # Another organisation's rule pages never see this one's replay (the cache key names
    # the schema).
    other = rule_of_b(cast)
    with (
        tenant_context(cast.org_b),
        patch("alerts.tasks.work_out_emerging_preview.delay"),
    ):
        assert preview_emerging_themes(other) is None


def rule_of_b(cast: Cast):  # noqa: ANN201 - an AlertRule of B's
    from alerts.models import AlertRule

    with tenant_context(cast.org_b):
        return AlertRule.objects.create(
            owner=cast.admin_b, name="B's emerging themes", emerging_themes=True
        )


def test_the_page_lists_findings_escaped_and_only_this_organisations(
    cast: Cast, rising: list[Story], admin_a_client, admin_b_client
) -> None:  # noqa: ANN001
    with tenant_context(cast.org_a):
        find_emerging_themes()
        EmergingTheme.objects.create(
            service=None,
            theme_kind=TAG,
            theme="<script>alert(1)</script>",
            window_start=uk_day(timezone.now()) - timedelta(days=7),
            found_on=uk_day(timezone.now()) - timedelta(days=40),
            observed=5,
            expected=0.1,
            limit=5,
            p_value=1e-9,
        )
    page = admin_a_client.get("/alerts/emerging/").content.decode()
    assert "waiting time" in page and "Waited hours" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    other = admin_b_client.get("/alerts/emerging/").content.decode()
    assert "waiting time" not in other and "Waited hours" not in other
    with tenant_context(cast.org_b):
        assert not EmergingTheme.objects.exists()


def test_looking_now_is_for_administrators_queued_and_audited(
    cast: Cast, admin_a_client, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    member = client_for(cast.org_a)
    sign_in(member, cast.responder_a.email)
    assert member.post("/alerts/emerging/look-now/").status_code == 403
    with (
        patch("alerts.tasks.find_emerging_themes.delay") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = admin_a_client.post("/alerts/emerging/look-now/")
    assert response.status_code == 302 and queued.call_count == 1
    with tenant_context(cast.org_a):
        assert AuditEvent.objects.filter(action="alerts.emerging_themes_asked").count() == 1


def test_a_network_rule_cannot_ask_for_emerging_themes(cast: Cast) -> None:
    from alerts.forms import AlertRuleForm

    with tenant_context(cast.org_a):
        form = AlertRuleForm(
            {
                "name": "Members",
                "scope": "network",
                "min_criticality": "not critical",
                "frequency": "instant",
                "emerging_themes": "on",
            },
            can_choose_recipients=False,
            network_members=[],
        )
        assert not form.is_valid() and "emerging_themes" in form.errors


def test_the_nightly_task_runs_in_each_organisation(cast: Cast, rising: list[Story]) -> None:
    from alerts.tasks import find_emerging_themes as task

    with tenant_context(cast.org_a):
        assert task.run() >= 1
        assert EmergingTheme.objects.filter(theme="waiting time").exists()
    # In B's schema the same task reads only B's stories: nothing of A's is found there.
    with tenant_context(cast.org_b):
        assert task.run() == 0
        assert not EmergingTheme.objects.exists()


def test_beat_runs_the_nightly_dispatch_to_every_organisation(cast: Cast) -> None:
    from django.conf import settings

    from alerts import tasks
    from config.celery import app

    app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["alerts-emerging-themes"]
    assert entry["task"] == "alerts.dispatch_emerging_themes"
    assert entry["task"] in app.tasks and "alerts.find_emerging_themes" in app.tasks
    sent = []
    with patch.object(
        tasks.find_emerging_themes,
        "apply_async",
        side_effect=lambda **kwargs: sent.append(kwargs),
    ):
        count = tasks.dispatch_emerging_themes.run()
    assert count == len(sent) >= 2  # the cast's organisations, each queued once


def test_a_responder_records_looking_into_a_finding_and_it_is_audited(
    cast: Cast, rising: list[Story], admin_b_client
) -> None:  # noqa: ANN001
    with tenant_context(cast.org_a):
        (finding,) = find_emerging_themes()
    responder = client_for(cast.org_a)
    sign_in(responder, cast.responder_a.email)
    url = f"/alerts/emerging/{finding.pk}/review/"
    # Too long a note: refused with the reason, nothing recorded.
    refused = responder.post(url, {"note": "x" * 501})
    assert refused.status_code == 400 and "500 characters" in refused.content.decode()
    note = "Ward 7's night staffing was short for a week; <b>fixed</b> from Monday."
    assert responder.post(url, {"note": note}).status_code == 302
    with tenant_context(cast.org_a):
        finding.refresh_from_db()
        assert finding.reviewed_by_id == cast.responder_a.pk and finding.review_note == note
        assert AuditEvent.objects.filter(
            action="alerts.emerging_theme_reviewed", target_id=str(finding.pk)
        ).exists()
    page = responder.get("/alerts/emerging/").content.decode()
    assert "night staffing was short" in page and "<b>fixed</b>" not in page
    # A member may read the page but not record a review; another organisation's staff
    # cannot reach this finding at all.
    member = client_for(cast.org_a)
    sign_in(member, cast.member_a.email)
    assert member.post(url, {"note": "seen"}).status_code == 403
    assert admin_b_client.post(url, {"note": "seen"}).status_code == 404
    with tenant_context(cast.org_a):
        finding.refresh_from_db()
        assert finding.review_note == note
