from __future__ import annotations

from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = "Dashboards and reports"

    def ready(self) -> None:
        from dashboards import withdrawals  # noqa: F401 - listens for withdrawn stories
