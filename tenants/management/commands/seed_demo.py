"""`manage.py seed_demo`: load the demo (idempotent) and print where to sign in.

Tenants makes the organisations, staff and network; every other part of the demo is a step
an app registers in tenants/demo_steps.py, run here in order."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from tenants.demo import DEMO_PASSWORD, seed_demo
from tenants.demo_steps import DemoContext, demo_steps
from tenants.models import public_url


class Command(BaseCommand):
    help = "Create the demo organisations, network and staff if they are not there yet."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stories", type=int, default=5000, help="published stories to make the first time"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        logins, organisations = seed_demo()
        context = DemoContext(organisations, logins, stories=options["stories"])
        demo_steps.seed(context)
        out = self.stdout
        out.write(self.style.SUCCESS("\nCarevoice demo"))
        out.write(f"  Hub:  {public_url(settings.BASE_DOMAIN)}")
        out.write(f"  Sign up a new organisation: {public_url(settings.BASE_DOMAIN, '/pricing/')}")
        seen: set[str] = set()
        for login in logins:
            if login.where not in seen:
                seen.add(login.where)
                out.write(f"\n  {login.where}\n    {login.url}")
            out.write(f"    {login.role:<14} {login.email}")
            if login.totp_secret:
                out.write(f"    {'':<14} second factor: key {login.totp_secret}")
                out.write(f"    {'':<14} {login.totp_uri}")
        out.write(f"\n  Every demo account's password: {DEMO_PASSWORD}")
        out.write(
            "  Platform staff and administrators also need a code: add the key (or the otpauth://\n"
            "  link) to an authenticator app, or print the current code with\n"
            "    manage.py demo_code EMAIL"
        )
        for line in demo_steps.describe(context):
            out.write(line)
