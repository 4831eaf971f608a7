"""Alert rules, instant alerts, targets, escalation, digests and the sweeper (plain functions,
in the organisation's schema, with time given explicitly)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from alerts.digests import send_digests
from alerts.escalation import check_targets
from alerts.evaluation import evaluate_story
from alerts.models import AlertDelivery, AlertRule, BankHoliday, Evaluation, ResponseTarget
from alerts.rules import preview
from alerts.sweeper import unevaluated_story_ids
from alerts.working_time import UK
from feedback.models import Service, Story, Tag
from tenants.accounts.models import User
from tenants.models import OrganisationStatus
from tests.conftest import Cast, tell_and_publish
from tests.outbox_mail import sent_mail_to

pytestmark = pytest.mark.django_db


def publish(cast: Cast, criticality: str = "severely critical", **overrides: object) -> Story:
    published = tell_and_publish(
        cast, [overrides.pop("listing", cast.ward_a)], criticality=criticality, **overrides
    )
    with tenant_context(cast.org_a):
        return Story.objects.get(public_id=published.public_story.pk)


def rule(cast: Cast, **fields: object) -> AlertRule:
    services = fields.pop("services", [])
    tags = fields.pop("tags", [])
    recipients = fields.pop("recipients", [cast.responder_a])
    with tenant_context(cast.org_a):
        made = AlertRule.objects.create(
            owner=cast.admin_a, name=fields.pop("name", "Rule"), **fields
        )
        made.recipients.set(recipients)
        made.services.set(services)
        made.tags.set(tags)
    return made


def sent_to(address: str) -> list[str]:
    return [m.subject for m in sent_mail_to(address)]


def test_a_new_organisation_gets_a_default_rule_for_its_admin(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        default = AlertRule.objects.get(name="Strongly and severely critical stories")
        assert list(default.recipients.all()) == [User.objects.get(pk=cast.admin_a.pk)]
        assert default.min_criticality == "strongly critical" and default.frequency == "instant"


def test_an_instant_alert_is_sent_once_to_each_recipient(cast: Cast) -> None:
    rule(cast, name="Everything", min_criticality="not critical")
    story = publish(cast)
    with tenant_context(cast.org_a):
        assert evaluate_story(story.pk) == 2  # the responder's rule and the admin's default
        assert evaluate_story(story.pk) == 0  # a repeat sends nothing
        assert AlertDelivery.objects.filter(story=story).count() == 2
        assert Evaluation.objects.filter(story=story).exists()
        assert Story.objects.get(pk=story.pk).progress == "heard"
    subjects = sent_to(cast.responder_a.email)
    assert subjects == [f"[{cast.org_a.name}] New story: {story.title}"]
    (message,) = sent_mail_to(cast.responder_a.email)
    assert f"/stories/{story.pk}/" in message.body and "/alerts/unsubscribe/" in message.body
    assert message.alternatives and cast.org_a.name in message.alternatives[0][0]


@pytest.mark.parametrize(
    ("conditions", "matches"),
    [
        ({"min_criticality": "moderately critical"}, True),
        ({"min_criticality": "severely critical"}, False),
        ({"words": "wait, bed"}, True),
        ({"words": "parking"}, False),
    ],
)
def test_rules_match_by_criticality_and_words(cast: Cast, conditions: dict, matches: bool) -> None:
    rule(cast, recipients=[cast.member_a], **conditions)
    story = publish(cast, "strongly critical")
    with tenant_context(cast.org_a):
        evaluate_story(story.pk)
    assert bool(sent_to(cast.member_a.email)) is matches


def test_rules_match_services_with_their_children_and_tags(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        ward = Service.objects.get(name="Alpha Ward One")
        clinic = Service.objects.get(name="Alpha Eye Clinic")
        kind = Tag.objects.get(name="kind staff")
    ward_rule = rule(cast, name="Ward", recipients=[cast.member_a], services=[ward])
    tag_rule = rule(cast, name="Kind", recipients=[cast.member_a], tags=[kind])
    clinic_story = publish(cast, listing=cast.clinic_a, tags=["feelings:grateful"])
    with tenant_context(cast.org_a):
        evaluate_story(clinic_story.pk)
        assert not AlertDelivery.objects.filter(rule__in=[ward_rule, tag_rule]).exists()
        # A service inside the ward counts as the ward.
        from feedback.sites_and_services import save_service

        save_service(Service(site=ward.site, parent=ward, name="Bay 2", type="ward"))
        assert RuleScopeCheck.covers(ward_rule, clinic)
    ward_story = publish(cast, tags=["what was good:kind staff"])
    with tenant_context(cast.org_a):
        evaluate_story(ward_story.pk)
        assert AlertDelivery.objects.filter(rule=ward_rule, story=ward_story).exists()
        assert AlertDelivery.objects.filter(rule=tag_rule, story=ward_story).exists()


class RuleScopeCheck:
    @staticmethod
    def covers(rule_: AlertRule, service: Service) -> bool:
        from alerts.matching import RuleScope

        scope = RuleScope.of(rule_)
        return service.pk not in scope.service_ids and len(scope.service_ids) == 2


def test_paused_rules_and_unready_organisations_send_nothing(cast: Cast) -> None:
    rule(cast, name="Paused", is_active=False, recipients=[cast.member_a])
    story = publish(cast)
    with tenant_context(cast.org_a):
        evaluate_story(story.pk)
    assert sent_to(cast.member_a.email) == []
    cast.org_a.status = OrganisationStatus.SUSPENDED
    cast.org_a.save(update_fields=["status"])
    try:
        other = publish(cast)
        with tenant_context(cast.org_a):
            assert evaluate_story(other.pk) == 0
    finally:
        cast.org_a.status = OrganisationStatus.ACTIVE
        cast.org_a.save(update_fields=["status"])


def test_targets_set_each_storys_due_time_in_working_time(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        ResponseTarget.objects.filter(criticality="mildly critical").update(allowance="4 hours")
        BankHoliday.objects.create(date=date(2026, 12, 25), name="Christmas Day")
    submitted = datetime(2026, 12, 24, 15, 0, tzinfo=UK)  # Thursday before Christmas
    from feedback.moderation import Decision, publish_submission
    from tests.conftest import tell

    published = publish_submission(
        tell([cast.ward_a]),
        moderator=cast.moderator,
        decision=Decision("mildly critical", [], [cast.ward_a]),
        published_at=submitted,
    )
    with tenant_context(cast.org_a):
        story = Story.objects.get(public_id=published.public_story.pk)
    # 2 hours on Thursday, then Friday is Christmas Day: the other 2 on Monday morning.
    assert story.due_at == datetime(2026, 12, 28, 11, 0, tzinfo=UK)


def test_escalation_reminds_at_three_quarters_and_alerts_admins_on_breach(cast: Cast) -> None:
    rule(cast, name="Serious", min_criticality="strongly critical", recipients=[cast.member_a])
    published = datetime(2026, 11, 18, 9, 0, tzinfo=UK)  # Wednesday; due 17:00
    story = publish(cast)
    with tenant_context(cast.org_a):
        Story.objects.filter(pk=story.pk).update(
            published_at=published, due_at=datetime(2026, 11, 18, 17, 0, tzinfo=UK)
        )
        assert check_targets(now=datetime(2026, 11, 18, 14, 0, tzinfo=UK)) == 0  # 62%
        check_targets(now=datetime(2026, 11, 18, 15, 0, tzinfo=UK))  # 75%
        assert AlertDelivery.objects.filter(kind="reminder", story=story).count() == 2
        check_targets(now=datetime(2026, 11, 18, 16, 0, tzinfo=UK))  # no second reminder
        assert AlertDelivery.objects.filter(kind="reminder", story=story).count() == 2
        check_targets(now=datetime(2026, 11, 18, 17, 30, tzinfo=UK))
        breaches = AlertDelivery.objects.filter(kind="breach", story=story)
        assert [b.recipient for b in breaches] == [cast.admin_a.email]
    assert any("Response target missed" in s for s in sent_to(cast.admin_a.email))


def test_a_responded_story_is_not_escalated(cast: Cast) -> None:
    story = publish(cast)
    with tenant_context(cast.org_a):
        Story.objects.filter(pk=story.pk).update(
            first_responded_at=timezone.now(), due_at=timezone.now() - timedelta(hours=1)
        )
        check_targets()
        assert not AlertDelivery.objects.filter(
            story=story, kind__in=["breach", "reminder"]
        ).exists()


def test_a_daily_digest_groups_yesterdays_stories_by_service_once(cast: Cast) -> None:
    digest_rule = rule(cast, name="Daily", frequency="daily", recipients=[cast.member_a])
    now = timezone.now()
    for listing in (cast.ward_a, cast.ward_a, cast.clinic_a):
        story = publish(cast, "not critical", listing=listing)
        with tenant_context(cast.org_a):
            Story.objects.filter(pk=story.pk).update(published_at=now - timedelta(days=1))
    with tenant_context(cast.org_a):
        assert send_digests("daily", now=now) == 1
        assert send_digests("daily", now=now) == 0
        delivery = AlertDelivery.objects.get(rule=digest_rule)
    assert delivery.stories_count == 3
    assert delivery.body.index("Alpha Eye Clinic") < delivery.body.index("Alpha Ward One")


def test_the_sweeper_finds_stories_whose_alerts_never_ran(cast: Cast) -> None:
    story = publish(cast)
    with tenant_context(cast.org_a):
        assert story.pk in unevaluated_story_ids(grace=timedelta(0))
        evaluate_story(story.pk)
        assert story.pk not in unevaluated_story_ids(grace=timedelta(0))


def test_the_preview_counts_the_last_30_days(cast: Cast) -> None:
    preview_rule = rule(cast, min_criticality="strongly critical")
    publish(cast, "strongly critical")
    publish(cast, "not critical")
    with tenant_context(cast.org_a):
        result = preview(preview_rule)
    assert result.count == 1 and len(result.first) == 1
