from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and response targets"

    def ready(self) -> None:
        # receivers: published stories; safeguarding: safeguarding concerns.
        from alerts import receivers, safeguarding  # noqa: F401
