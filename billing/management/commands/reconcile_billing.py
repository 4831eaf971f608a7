"""`manage.py reconcile_billing`: what the nightly task does, now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from billing.reconciliation import reconcile_all


class Command(BaseCommand):
    help = "Compare every subscription with Stripe and repair drift."

    def handle(self, *args: Any, **options: Any) -> None:
        report = reconcile_all()
        self.stdout.write(
            f"Checked {report.checked}; repaired {len(report.repaired)}; "
            f"failed {len(report.failed)}."
        )
        for reference, fields in report.repaired.items():
            self.stdout.write(f"  repaired {reference}: {', '.join(fields)}")
        for reference, error in report.failed.items():
            self.stdout.write(f"  failed {reference}: {error}")
