from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tenants.accounts"
    label = "accounts"
    verbose_name = "Staff accounts"

    def ready(self) -> None:
        # Sign-in and sign-out signals note each signed-in session.
        from tenants.accounts import signed_in_sessions  # noqa: F401
