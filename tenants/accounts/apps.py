from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tenants.accounts"
    label = "accounts"
    verbose_name = "Staff accounts"

    def ready(self) -> None:
        # Sign-in and sign-out signals note each signed-in session.
        from tenants.accounts import signed_in_sessions  # noqa: F401
        from tenants.demo_steps import register_demo_step

        # Single sign-on through the local provider `make run` starts.
        register_demo_step("accounts.sso", order=57, seed=_seed_sso, describe=_describe_sso)


def _seed_sso(context: object) -> object:
    from tenants.accounts.sso_demo import seed_sso_step

    return seed_sso_step(context)


def _describe_sso(context: object) -> list[str]:
    from tenants.accounts.sso_demo import describe_sso

    return describe_sso(context)
