from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from tenants.demo_steps import DemoContext


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = "Dashboards and reports"

    def ready(self) -> None:
        from dashboards import withdrawals  # noqa: F401 - listens for withdrawn stories
        from dashboards.freshness import refresh_after_author_mark, refresh_after_topics
        from dashboards.rollups import receivers as rollups
        from feedback.signals import (
            author_marked,
            response_changed,
            responses_published,
            stories_written,
            story_withdrawing,
            topics_fitted,
        )

        # Inside feedback's transactions, so the rollups commit or roll back with them.
        stories_written.connect(rollups.count_written_stories)
        responses_published.connect(rollups.count_answering)
        response_changed.connect(rollups.count_answering)
        story_withdrawing.connect(rollups.subtract_withdrawing_stories)
        # After commit: figures that count authors' marks are computed again.
        author_marked.connect(refresh_after_author_mark)
        topics_fitted.connect(refresh_after_topics)
        # Organisations' hub pages link to their You said, we did once it is published.
        from dashboards.reports.public import you_said_we_did_link
        from feedback.organisation_links import add_organisation_link

        add_organisation_link(you_said_we_did_link)
        # The demo's providers and rollups; its reports, once billing has set the ICB's plan.
        from tenants.demo_steps import register_demo_step

        register_demo_step(
            "dashboards",
            order=30,
            after=("feedback",),
            seed=_seed_demo,
            describe=_describe_demo,
        )
        register_demo_step(
            "network_standards",
            order=36,
            after=("dashboards",),
            seed=_seed_standards_demo,
            describe=_describe_standards_demo,
        )
        register_demo_step(
            "committee_actions",
            order=37,
            after=("network_standards",),
            seed=_seed_committee_actions_demo,
            describe=_describe_committee_actions_demo,
        )
        register_demo_step(
            "reports",
            order=60,
            after=("dashboards", "billing"),
            listed=35,
            seed=_seed_reports_demo,
            describe=_describe_reports_demo,
        )
        register_demo_step(
            "reports.member_packs",
            order=60,  # after "reports" (same order: by name), before the read API's note
            after=("reports",),
            listed=37,
            seed=_seed_member_packs_demo,
            describe=_describe_member_packs_demo,
        )
        register_demo_step(
            "reports.network_you_said_we_did",
            order=60,  # after billing (the ICB's plan), by name after "reports"
            after=("dashboards", "billing"),
            listed=38,
            seed=_seed_network_yswd_demo,
            describe=_describe_network_yswd_demo,
        )


# The demo's modules are loaded only when `seed_demo` runs (tenants/demo_steps.py).
def _seed_demo(context: DemoContext) -> object:
    from dashboards.demo import seed_dashboards_step

    return seed_dashboards_step(context)


def _describe_demo(context: DemoContext) -> list[str]:
    from dashboards.demo import describe_dashboards_demo

    return describe_dashboards_demo(context)


def _seed_reports_demo(context: DemoContext) -> object:
    from dashboards.reports.demo import seed_reports_step

    return seed_reports_step(context)


def _describe_reports_demo(context: DemoContext) -> list[str]:
    from dashboards.reports.demo import describe_reports_demo

    return describe_reports_demo(context)


def _seed_standards_demo(context: DemoContext) -> object:
    from dashboards.network_standards_demo import seed_network_standards_step

    return seed_network_standards_step(context)


def _describe_standards_demo(context: DemoContext) -> list[str]:
    from dashboards.network_standards_demo import describe_network_standards_demo

    return describe_network_standards_demo(context)


def _seed_member_packs_demo(context: DemoContext) -> object:
    from dashboards.member_packs_demo import seed_member_packs_step

    return seed_member_packs_step(context)


def _describe_member_packs_demo(context: DemoContext) -> list[str]:
    from dashboards.member_packs_demo import describe_member_packs_demo

    return describe_member_packs_demo(context)


def _seed_network_yswd_demo(context: DemoContext) -> object:
    from dashboards.reports.network_you_said_we_did_demo import (
        seed_network_you_said_we_did_step,
    )

    return seed_network_you_said_we_did_step(context)


def _describe_network_yswd_demo(context: DemoContext) -> list[str]:
    from dashboards.reports.network_you_said_we_did_demo import (
        describe_network_you_said_we_did_demo,
    )

    return describe_network_you_said_we_did_demo(context)


def _seed_committee_actions_demo(context: DemoContext) -> object:
    from dashboards.committee_actions_demo import seed_committee_actions_step

    return seed_committee_actions_step(context)


def _describe_committee_actions_demo(context: DemoContext) -> list[str]:
    from dashboards.committee_actions_demo import describe_committee_actions_demo

    return describe_committee_actions_demo(context)
