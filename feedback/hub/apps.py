from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from tenants.demo_steps import DemoContext


class HubConfig(AppConfig):
    name = "feedback.hub"
    label = "hub"
    verbose_name = "Hub: submissions, directory, public stories, API keys"

    def ready(self) -> None:
        from tenants.demo_steps import register_demo_step

        # The network's shared discussion: a thread between the ICB and a provider, and a
        # referred story (feedback/network_discussion_demo.py).
        register_demo_step(
            "feedback.network_discussion",
            order=34,
            after=("feedback",),
            seed=_seed_network_discussion,
            describe=_describe_network_discussion,
        )


# The demo's module is loaded only when `seed_demo` runs (tenants/demo_steps.py).
def _seed_network_discussion(context: DemoContext) -> object:
    from feedback.network_discussion_demo import seed_network_discussion_step

    return seed_network_discussion_step(context)


def _describe_network_discussion(context: DemoContext) -> list[str]:
    from feedback.network_discussion_demo import describe_network_discussion

    return describe_network_discussion(context)
