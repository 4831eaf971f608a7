from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "tenants.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from tenants.audit import receivers  # noqa: F401 - connects the signal receivers
