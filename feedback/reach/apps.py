from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from tenants.demo_steps import DemoContext


class ReachConfig(AppConfig):
    """Leaflets, posters, the paper form, campaign codes and waiting-room screens (public
    schema): see feedback/reach/README.md."""

    name = "feedback.reach"
    label = "reach"
    verbose_name = "Reaching people: leaflets, posters and waiting-room screens"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tenants.demo_steps import register_demo_step

        register_demo_step(
            "feedback.reach",
            order=14,
            after=("feedback",),
            seed=_seed_demo,
            describe=_describe_demo,
        )


# Loaded only when `seed_demo` runs (tenants/demo_steps.py).
def _seed_demo(context: DemoContext) -> object:
    from feedback.reach.demo import seed_reach_step

    return seed_reach_step(context)


def _describe_demo(context: DemoContext) -> list[str]:
    from feedback.reach.demo import describe_reach_demo

    return describe_reach_demo(context)
