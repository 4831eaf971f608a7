from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from tenants.demo_steps import DemoContext


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Billing answers the gate in tenants: what each organisation may do.
        from billing.provider import BillingProvider
        from tenants.gate import register_provider

        register_provider(BillingProvider())
        # The demo's subscriptions (in the local Stripe server when there is one).
        from tenants.demo_steps import register_demo_step

        register_demo_step("billing", order=40, seed=_seed_demo, describe=_describe_demo)


# The demo's module is loaded only when `seed_demo` runs (tenants/demo_steps.py).
def _seed_demo(context: DemoContext) -> object:
    from billing.demo import seed_billing_step

    return seed_billing_step(context)


def _describe_demo(context: DemoContext) -> list[str]:
    from billing.demo import describe_billing_demo

    return describe_billing_demo(context)
