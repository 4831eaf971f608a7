"""`manage.py seed_demo`: load the demo (idempotent) and print where to sign in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from billing.demo import describe_billing, seed_billing_demo
from dashboards.demo import seed_dashboards_demo
from dashboards.reports.demo import seed_reports_demo
from feedback.demo import seed_feedback_demo
from onboarding.demo import describe_onboarding, seed_onboarding_demo
from tenants.demo import DEMO_PASSWORD, NETWORK_NAME, seed_demo
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
        providers = seed_dashboards_demo(NETWORK_NAME, scale=min(1.0, options["stories"] / 5000))
        billing, billing_where = seed_billing_demo(organisations)
        onboarding = seed_onboarding_demo()
        reports = seed_reports_demo(organisations)
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
        out.write(
            f"\n  Stories: {stories.stories} published, {stories.responses} responses, "
            f"{stories.pending} waiting for moderation "
            f"at {public_url(settings.BASE_DOMAIN, '/moderation/')}"
        )
        trust = organisations[0]
        privacy = stories.privacy
        hub = public_url(settings.BASE_DOMAIN)
        out.write("\n  Privacy and safeguarding:")
        out.write(
            f"    safeguarding concern waiting for acknowledgement at {hub}moderation/safeguarding/"
            f"\n      and in {trust.name}'s workspace at {trust.workspace_url('/safeguarding/')}"
            f"\n      (safeguarding contact: {privacy.contact_email}; it escalates to the "
            "administrators and platform staff if nobody acknowledges it)"
        )
        if privacy.withdrawn_public_id:
            out.write(
                f"    a story withdrawn at its author's request: "
                f"{hub}stories/{privacy.withdrawn_public_id}/"
            )
        out.write(f"    authors' requests to verify: {hub}moderation/requests/")
        if privacy.your_story_url:
            out.write(f'    one author\'s "Your story" page: {privacy.your_story_url}')
        out.write(f"    privacy notice: {hub}privacy/")
        lead = next(o for o in organisations if o.kind == "ccg/icb")
        out.write(
            f"\n  Dashboards: live at {trust.workspace_url('/dashboards/live/')}\n"
            f"    network comparison ({NETWORK_NAME}, {len(providers)} more providers) at "
            f"{lead.workspace_url('/dashboards/network/')}"
        )
        out.write("\n  Reports:")
        for line in reports:
            out.write(f"    {line}")
        out.write(f"\n  Billing (in {billing_where}):")
        for line in describe_billing(billing):
            out.write(f"    {line}")
        out.write("\n  Onboarding:")
        for line in describe_onboarding(onboarding):
            out.write(f"    {line}")
        out.write(
            "\n  Read API (network lead's key):\n"
            f"    curl -H 'Authorization: SUBSCRIPTION_KEY {stories.api_key}' "
            f"'{public_url(settings.BASE_DOMAIN, '/api/v2/opinions?take=5')}'\n"
        )
