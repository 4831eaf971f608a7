"""A member's story reaches its network lead's rule on a real Celery worker and broker, as
the instant alerts do (test_alerts_worker.py): committed rows, cleaned up afterwards."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.core import mail
from django_tenants.utils import schema_context, tenant_context

from alerts.models import AlertDelivery, AlertRule, NetworkEvaluation, Scope
from tenants.models import Network
from tenants.networks import accept_invitation, create_network, invite_organisation
from tests.conftest import Cast, forget_published_stories, tell_and_publish, wait_until
from tests.faults.rows import forgetting_new_rows


@pytest.fixture
def network_of_a(cast: Cast, committed_db: None) -> Iterator[list[int]]:
    """A leads a network in which B consents; A has a network rule. Yields the list of
    stories to forget afterwards."""
    with schema_context("public"):
        network = create_network(lead=cast.org_a, name="Worker network probe")
        accept_invitation(invite_organisation(network, cast.org_b), benchmarking_consent=True)
    with tenant_context(cast.org_a):
        rule = AlertRule.objects.create(
            owner_id=cast.admin_a.pk, name="Members' serious stories", scope=Scope.NETWORK
        )
        rule.recipients.set([cast.admin_a.pk])
    public_ids: list[int] = []
    try:
        # The alerts' emails (in the outbox) and audit rows committed are forgotten too.
        with forgetting_new_rows([cast.org_a.schema_name, cast.org_b.schema_name]):
            yield public_ids
    finally:
        with tenant_context(cast.org_a):
            AlertDelivery.objects.filter(public_story_id__in=public_ids).delete()
            NetworkEvaluation.objects.filter(public_story_id__in=public_ids).delete()
            AlertRule.objects.filter(pk=rule.pk).delete()
        with schema_context("public"):
            Network.objects.filter(pk=network.pk).delete()
        forget_published_stories([cast.org_a, cast.org_b], public_ids)


def test_a_members_story_reaches_the_leads_network_rule_through_the_worker(
    cast: Cast, network_of_a: list[int], celery_worker_thread: object
) -> None:
    title = "Network worker alert probe"
    published = tell_and_publish(cast, [cast.ward_b], criticality="severely critical", title=title)
    network_of_a.append(published.public_story.pk)

    def to_the_lead() -> list[mail.EmailMessage]:
        return [m for m in mail.outbox if title in m.subject and cast.admin_a.email in m.to]

    wait_until(lambda: len(to_the_lead()) == 1, what="the lead's network alert")
    assert to_the_lead()[0].subject.startswith(
        f"[{cast.org_a.name}] New story at {cast.org_b.name}"
    )
    time.sleep(0.5)
    assert len(to_the_lead()) == 1
    with tenant_context(cast.org_a):
        [row] = AlertDelivery.objects.filter(public_story_id=published.public_story.pk)
        assert row.state == "sent"
        assert NetworkEvaluation.objects.filter(public_story_id=published.public_story.pk).exists()
