"""Celery wrappers for the sign-up wizard."""

from __future__ import annotations

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError, close_old_connections

from onboarding.signup import wizard

# A provisioning whose database connection was lost has rolled back whole; it is tried again
# after 5, 10, 20, 40 and 60 seconds, before the sweeper (minutes) would find it.
PROVISION_RETRIES = 5


@shared_task(name="signup.provision", bind=True, acks_late=True, max_retries=PROVISION_RETRIES)
def provision_signup(self: Task, signup_id: int) -> str:
    try:
        return wizard.provision_signup(signup_id).step
    except (OperationalError, InterfaceError) as exc:
        close_old_connections()  # the dead connection goes; the retry opens a new one
        raise self.retry(exc=exc, countdown=min(5 * 2**self.request.retries, 60)) from exc


@shared_task(name="signup.sweep")
def sweep_signups() -> int:
    return wizard.sweep_signups()
