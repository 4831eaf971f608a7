"""`manage.py seed_demo`: load the demo (idempotent) and print where to sign in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from feedback.demo import seed_feedback_demo
from tenants.demo import DEMO_PASSWORD, seed_demo
from tenants.models import public_url


class Command(BaseCommand):
    help = "Create the demo organisations, network and staff if they are not there yet."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stories", type=int, default=5000, help="published stories to make the first time"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        logins, organisations = seed_demo()
        stories = seed_feedback_demo(organisations, stories=options["stories"])
        out = self.stdout
        out.write(self.style.SUCCESS("\nCarevoice demo"))
        out.write(f"  Hub:  {public_url(settings.BASE_DOMAIN)}")
        seen: set[str] = set()
        for login in logins:
            if login.where not in seen:
                seen.add(login.where)
                out.write(f"\n  {login.where}\n    {login.url}")
            out.write(f"    {login.role:<14} {login.email}")
        out.write(f"\n  Every demo account's password: {DEMO_PASSWORD}")
        out.write(
            f"\n  Stories: {stories.stories} published, {stories.responses} responses, "
            f"{stories.pending} waiting for moderation "
            f"at {public_url(settings.BASE_DOMAIN, '/moderation/')}"
        )
        out.write(
            "\n  Read API (network lead's key):\n"
            f"    curl -H 'Authorization: SUBSCRIPTION_KEY {stories.api_key}' "
            f"'{public_url(settings.BASE_DOMAIN, '/api/v2/opinions?take=5')}'\n"
        )
