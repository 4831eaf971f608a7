"""`manage.py demo_code EMAIL [--schema SLUG]`: the code a demo account's authenticator app
would show now, for trying the demo without an app. Never in production."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.demo import NotADemoAccount, demo_authenticator, demo_code


class Command(BaseCommand):
    help = "Print the current second-factor code of one of the demo's accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="a demo account, as `seed_demo` printed it")
        parser.add_argument(
            "--schema",
            metavar="SLUG",
            help="the demo organisation (default: the one the email address belongs to)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_code is for the demo only; PRODUCTION is true here.")
        try:
            where, user, device = demo_authenticator(options["email"], options["schema"])
        except NotADemoAccount as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(demo_code(device))
        self.stderr.write(
            f"{user.email} in {where}: type it within half a minute. Each code works once; "
            "if it is refused, run this again."
        )
