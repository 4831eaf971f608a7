"""Controls from the clinical-safety hazard log (docs/clinical-safety/hazard-log.md) that no
other suite proves directly: an alert goes only to the organisation a story is about, and a
response lands on its own story even where organisations' ids overlap."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context, tenant_context

from alerts.evaluation import evaluate_story
from alerts.models import AlertDelivery, AlertRule
from feedback.hub.models import PublicResponse
from feedback.models import Story
from feedback.responding import Draft, publish_response
from tenants.accounts.models import User
from tests.conftest import AUTHOR_EMAIL, Cast, tell_and_publish
from tests.outbox_mail import sent_mail

pytestmark = pytest.mark.django_db

REPLY = (
    "I am sorry the wait on the ward was so long, and thank you for telling us how kind the "
    "nurses were. We have added a discharge coordinator so beds free up earlier in the day."
)


def _local_story(cast: Cast, organisation, public_id: int) -> Story:  # noqa: ANN001
    with tenant_context(organisation):
        return Story.objects.get(public_id=public_id)


def _everything_rule(cast: Cast, organisation, owner: User) -> None:  # noqa: ANN001
    with tenant_context(organisation):
        rule = AlertRule.objects.create(
            owner=owner, name="Everything (hazard H2)", min_criticality="not critical"
        )
        rule.recipients.set([owner])


def test_h2_an_alert_reaches_only_the_organisation_the_story_names(cast: Cast) -> None:
    # Both organisations alert on everything, so only the story's services decide.
    _everything_rule(cast, cast.org_a, cast.responder_a)
    _everything_rule(cast, cast.org_b, cast.responder_b)
    published = tell_and_publish(cast, [cast.ward_a], criticality="severely critical")
    story = _local_story(cast, cast.org_a, published.public_story.pk)
    with tenant_context(cast.org_a):
        assert evaluate_story(story.pk) >= 1
    with tenant_context(cast.org_b):
        assert not Story.objects.filter(public_id=published.public_story.pk).exists()
        assert not AlertDelivery.objects.exists()
    with tenant_context(cast.org_b):
        b_addresses = {user.email.lower() for user in User.objects.all()}
    # Every email the outbox sends (the alerts, not the author's own notices).
    to_staff = [m for m in sent_mail() if m.to != [AUTHOR_EMAIL]]
    sent_to = {address.lower() for message in to_staff for address in message.to}
    assert sent_to and not sent_to & b_addresses
    with tenant_context(cast.org_a):
        a_addresses = {user.email.lower() for user in User.objects.all()}
    assert sent_to <= a_addresses


def test_h2_a_story_naming_two_organisations_alerts_each_in_its_own_schema(cast: Cast) -> None:
    _everything_rule(cast, cast.org_a, cast.responder_a)
    _everything_rule(cast, cast.org_b, cast.responder_b)
    published = tell_and_publish(cast, [cast.ward_a, cast.ward_b], criticality="severely critical")
    for organisation, responder in ((cast.org_a, cast.responder_a), (cast.org_b, cast.responder_b)):
        story = _local_story(cast, organisation, published.public_story.pk)
        with tenant_context(organisation):
            evaluate_story(story.pk)
            recipients = set(AlertDelivery.objects.values_list("recipient", flat=True))
            own = {user.email for user in User.objects.all()}
        assert responder.email in recipients and recipients <= own


def test_h5_a_response_lands_on_its_own_story_where_local_ids_overlap(cast: Cast) -> None:
    first = tell_and_publish(cast, [cast.ward_a], criticality="moderately critical")
    second = tell_and_publish(cast, [cast.ward_b], criticality="moderately critical")
    story_a = _local_story(cast, cast.org_a, first.public_story.pk)
    story_b = _local_story(cast, cast.org_b, second.public_story.pk)
    with tenant_context(cast.org_b):
        responder_b = User.objects.get(pk=cast.responder_b.pk)
        response = publish_response(
            story_b, Draft(body=REPLY), responder=responder_b, written_by=responder_b
        )
    with schema_context("public"):
        public = PublicResponse.objects.get(pk=response.public_id)
        assert public.public_story_id == second.public_story.pk
        assert public.organisation_id == cast.org_b.pk
        assert not PublicResponse.objects.filter(public_story_id=first.public_story.pk).exists()
    with tenant_context(cast.org_a):
        assert not Story.objects.get(pk=story_a.pk).responses.exists()
