from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and response targets"

    def ready(self) -> None:
        from alerts import receivers  # noqa: F401 - listens for published stories
