"""The sign-up sweeper (`onboarding.signup.wizard.sweep_signups`, run every five minutes by
the `signup.sweep` task): payments nobody watched, provisioning messages lost, abandoned
sign-ups."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from billing.models import Subscription
from billing.subscriptions import refresh_from_stripe
from config.celery import app
from onboarding.signup import tasks, wizard
from onboarding.signup.models import Signup, Step
from tests.conftest import Cast
from tests.signup.test_signup import hub, pay_by_local_card, through_to_payment

pytestmark = pytest.mark.django_db

# Where the sweeper sends a lost provisioning again: the Celery seam.
QUEUE = "onboarding.signup.tasks.provision_signup.delay"


def at_payment(name: str, slug: str, client: Client | None = None) -> Signup:
    """A sign-up at the payment step, through the hub's pages."""
    mail.outbox.clear()  # through_to_payment follows the one confirmation link it finds
    return through_to_payment(client or hub(), organisation_name=name, slug=slug)


def paid_signup(name: str, slug: str) -> Signup:
    """A sign-up paid on the local Stripe server, and seen paid by billing (as the webhook
    would have it), but not yet moved on: the payer left before the webhook came."""
    client = hub()
    signup = at_payment(name, slug, client)
    pay_by_local_card(client)
    refresh_from_stripe(Subscription.objects.get(reference=signup.reference), source="test")
    return signup


def test_the_sweep_moves_on_a_sign_up_paid_while_nobody_watched(cast: Cast) -> None:
    paid = paid_signup("Paid Hospice", "paid-hospice")
    unpaid = at_payment("Unpaid Hospice", "unpaid-hospice")
    with mock.patch(QUEUE) as queued:
        assert wizard.sweep_signups() == 1
    paid.refresh_from_db()
    unpaid.refresh_from_db()
    assert paid.step == Step.PROVISIONING and paid.paid_at is not None
    assert unpaid.step == Step.PAYMENT and unpaid.paid_at is None
    # Provisioning is queued once the move commits (the test's transaction never does).
    queued.assert_not_called()


def test_the_sweep_queues_again_a_paid_sign_up_whose_provisioning_was_lost(cast: Cast) -> None:
    lost = paid_signup("Lost Hospice", "lost-hospice")
    recent = paid_signup("Recent Hospice", "recent-hospice")
    wizard.note_payment(lost)
    wizard.note_payment(recent)
    Signup.objects.filter(pk=lost.pk).update(updated_at=timezone.now() - timedelta(minutes=6))
    with mock.patch(QUEUE) as queued:
        assert wizard.sweep_signups() == 0
    queued.assert_called_once_with(lost.pk)


def test_the_sweep_forgets_abandoned_sign_ups_but_never_paid_ones(cast: Cast) -> None:
    abandoned = at_payment("Gone Hospice", "gone-hospice")
    stuck = paid_signup("Stuck Hospice", "stuck-hospice")
    wizard.note_payment(stuck)
    long_ago = timezone.now() - timedelta(days=8)
    Signup.objects.filter(pk__in=[abandoned.pk, stuck.pk]).update(updated_at=long_ago)
    with mock.patch(QUEUE) as queued:
        wizard.sweep_signups()
    assert list(Signup.objects.values_list("pk", flat=True)) == [stuck.pk]
    queued.assert_called_once_with(stuck.pk)


def test_the_beat_schedule_runs_the_sweep_under_its_old_name(cast: Cast) -> None:
    assert settings.CELERY_BEAT_SCHEDULE["signup-sweep"]["task"] == "signup.sweep"
    assert tasks.sweep_signups.name == "signup.sweep" and "signup.sweep" in app.tasks
    abandoned = at_payment("Old Hospice", "old-hospice")
    Signup.objects.filter(pk=abandoned.pk).update(updated_at=timezone.now() - timedelta(days=8))
    assert tasks.sweep_signups() == 0
    assert not Signup.objects.exists()
