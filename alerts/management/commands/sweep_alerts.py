"""`manage.py sweep_alerts`: queue the alerts sweep for every organisation now, rather than at
beat's next tick (run at start-up, so nothing lost while the platform was down waits)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from alerts.tasks import dispatch_sweeps


class Command(BaseCommand):
    help = "Queue the alerts sweep for every ready organisation now."

    def handle(self, *args: Any, **options: Any) -> None:
        dispatch_sweeps.delay()
        self.stdout.write("Queued the alerts sweep.")
