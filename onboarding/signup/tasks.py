"""Celery wrappers for the sign-up wizard."""

from __future__ import annotations

from celery import shared_task

from onboarding.signup import wizard


@shared_task(name="signup.provision", acks_late=True)
def provision_signup(signup_id: int) -> str:
    return wizard.provision_signup(signup_id).step


@shared_task(name="signup.sweep")
def sweep_signups() -> int:
    return wizard.sweep_signups()
