from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from tenants.demo_steps import DemoContext


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and response targets"

    def ready(self) -> None:
        from alerts import (
            receivers,
            safeguarding,  # noqa: F401 - listens for safeguarding concerns
        )
        from feedback.signals import stories_written, story_published
        from tenants.signals import organisation_provisioned

        # Inside the sender's transaction: the rule and due times commit or roll back with it.
        organisation_provisioned.connect(receivers.make_default_rule)
        stories_written.connect(receivers.set_due_times_of_written_stories)
        # After commit.
        story_published.connect(receivers.queue_instant_alerts)
        story_published.connect(receivers.queue_network_alerts)
        # The demo's alert rules, for the providers feedback's demo step seeded.
        from tenants.demo_steps import register_demo_step

        register_demo_step(
            "alerts", order=20, after=("feedback",), seed=_seed_demo, describe=_describe_demo
        )
        # The ICB's network rules, fired by members' stories (after dashboards' step brings
        # the rest of the network's members in).
        register_demo_step(
            "alerts.network",
            order=38,
            after=("alerts", "dashboards"),
            seed=_seed_network_demo,
            describe=_describe_network_demo,
        )


# The demo's module is loaded only when `seed_demo` runs (tenants/demo_steps.py).
def _seed_demo(context: DemoContext) -> None:
    from alerts.demo import seed_alerts_step

    seed_alerts_step(context)


def _describe_demo(context: DemoContext) -> list[str]:
    from alerts.demo import describe_emerging_theme_demo

    return describe_emerging_theme_demo(context)


def _seed_network_demo(context: DemoContext) -> object:
    from alerts.network_demo import seed_network_alerts_step

    return seed_network_alerts_step(context)


def _describe_network_demo(context: DemoContext) -> list[str]:
    from alerts.network_demo import describe_network_alerts_demo

    return describe_network_alerts_demo(context)
