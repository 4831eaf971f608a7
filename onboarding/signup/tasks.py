"""Celery wrappers for the sign-up wizard."""

from __future__ import annotations

from config.celery import app
from onboarding.signup import wizard


@app.task(name="signup.provision", acks_late=True)
def provision_signup(signup_id: int) -> str:
    return wizard.provision_signup(signup_id).step


@app.task(name="signup.sweep")
def sweep_signups() -> int:
    """Move paid sign-ups on if a payment was confirmed while nobody was watching (the
    webhook came after the payer left), retry ones whose provisioning message was lost,
    and forget abandoned ones."""
    from datetime import timedelta

    from django.utils import timezone

    from onboarding.signup.models import Signup, Step

    moved = 0
    for signup in Signup.objects.filter(step=Step.PAYMENT):
        moved += wizard.note_payment(signup)
    stuck = timezone.now() - timedelta(minutes=5)
    for signup in Signup.objects.filter(
        step=Step.PROVISIONING, organisation__isnull=True, updated_at__lt=stuck
    ):
        provision_signup.delay(signup.pk)
    wizard.expire_signups()
    return moved
