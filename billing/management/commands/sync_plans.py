"""`manage.py sync_plans`: create or update Carevoice's products and plans in Stripe."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing import stripe_api
from billing.sync import PlanConflict, sync_plans


class Command(BaseCommand):
    help = "Make Stripe's products and plans match billing/plans.py (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = sync_plans()
        except (PlanConflict, stripe_api.StripeError) as exc:
            raise CommandError(str(exc)) from exc
        where = "the local Stripe server" if stripe_api.uses_local_server() else "Stripe"
        self.stdout.write(
            f"Plans in {where}: {len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged."
        )
        for name in report.created:
            self.stdout.write(f"  created {name}")
        for name in report.updated:
            self.stdout.write(f"  updated {name}")
