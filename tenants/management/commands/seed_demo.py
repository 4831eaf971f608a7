"""`manage.py seed_demo`: load the demo (idempotent) and print where to sign in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from tenants.demo import DEMO_PASSWORD, seed_demo
from tenants.models import public_url


class Command(BaseCommand):
    help = "Create the demo organisations, network and staff if they are not there yet."

    def handle(self, *args: Any, **options: Any) -> None:
        logins = seed_demo()
        out = self.stdout
        out.write(self.style.SUCCESS("\nCarevoice demo"))
        out.write(f"  Hub:  {public_url(settings.BASE_DOMAIN)}")
        seen: set[str] = set()
        for login in logins:
            if login.where not in seen:
                seen.add(login.where)
                out.write(f"\n  {login.where}\n    {login.url}")
            out.write(f"    {login.role:<14} {login.email}")
        out.write(f"\n  Every demo account's password: {DEMO_PASSWORD}\n")
