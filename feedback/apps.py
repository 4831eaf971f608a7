from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from tenants.demo_steps import DemoContext


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = "Stories and services (each organisation's schema)"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        # Its receiver deletes exports made with a story withdrawn (`story_withdrawn`).
        import feedback.exporting  # noqa: F401
        from feedback.apikeys import forget_key_access
        from feedback.hub.models import ApiKey
        from tenants.demo_steps import register_demo_step
        from tenants.models import Network, NetworkMembership, Organisation

        # What an API key may read is remembered (feedback/apikeys.py) until one of these
        # changes.
        for model in (ApiKey, Organisation, Network, NetworkMembership):
            for signal in (post_save, post_delete):
                signal.connect(
                    forget_key_access, sender=model, dispatch_uid=f"api-access-{model.__name__}"
                )

        # The demo's stories, moderation queue and privacy cases; its read API key, last.
        register_demo_step("feedback", order=10, seed=_seed_demo, describe=_describe_demo)
        register_demo_step(
            "feedback.read_api", order=61, after=("feedback",), describe=_describe_read_api
        )
        # A story taker, and a paper story with its scan waiting in moderation.
        register_demo_step(
            "feedback.entering",
            order=12,
            after=("feedback",),
            seed=_seed_entering,
            describe=_describe_entering,
        )
        # Bulk exports ready on /exports/ (after the network follow-ups: the ICB's members'
        # stories are all in by then).
        register_demo_step(
            "feedback.exports",
            order=33,
            after=("feedback", "feedback.network_follow_ups"),
            seed=_seed_exports,
            describe=_describe_exports,
        )
        # Thanks passed on to named staff (after the stories and the alert rules, so the new
        # story is alerted like any other).
        register_demo_step(
            "feedback.thanks",
            order=35,
            after=("feedback",),
            seed=_seed_thanks,
            describe=_describe_thanks,
        )
        # Themes learned from each provider's stories (after the emerging-theme demo).
        register_demo_step(
            "feedback.topics",
            order=39,
            after=("feedback", "alerts"),
            seed=_seed_topics,
            describe=_describe_topics,
        )
        # A responder limited to one ward.
        register_demo_step(
            "feedback.service_limits",
            order=36,
            after=("feedback",),
            seed=_seed_service_limit,
            describe=_describe_service_limit,
        )
        # Welsh: a Welsh-default organisation and a story told and published in Welsh (after
        # dashboards, which makes Harbourside Hospice and its services).
        register_demo_step(
            "feedback.languages",
            order=34,
            after=("feedback", "dashboards"),
            seed=_seed_languages,
            describe=_describe_languages,
        )
        # The ICB's story log: offline follow-ups of its members' stories.
        register_demo_step(
            "feedback.network_follow_ups",
            order=32,
            after=("feedback",),
            seed=_seed_network_follow_ups,
            describe=_describe_network_follow_ups,
        )


# The demo's module is loaded only when `seed_demo` runs (tenants/demo_steps.py).
def _seed_demo(context: DemoContext) -> object:
    from feedback.demo import seed_feedback_step

    return seed_feedback_step(context)


def _describe_demo(context: DemoContext) -> list[str]:
    from feedback.demo import describe_feedback_demo

    return describe_feedback_demo(context)


def _describe_read_api(context: DemoContext) -> list[str]:
    from feedback.demo import describe_read_api

    return describe_read_api(context)


def _seed_network_follow_ups(context: DemoContext) -> object:
    from feedback.network_demo import seed_network_follow_ups_step

    return seed_network_follow_ups_step(context)


def _describe_network_follow_ups(context: DemoContext) -> list[str]:
    from feedback.network_demo import describe_network_follow_ups

    return describe_network_follow_ups(context)


def _seed_entering(context: DemoContext) -> object:
    from feedback.entering_demo import seed_entering_step

    return seed_entering_step(context)


def _describe_entering(context: DemoContext) -> list[str]:
    from feedback.entering_demo import describe_entering

    return describe_entering(context)


def _seed_languages(context: DemoContext) -> object:
    from feedback.languages_demo import seed_languages_step

    return seed_languages_step(context)


def _describe_languages(context: DemoContext) -> list[str]:
    from feedback.languages_demo import describe_languages

    return describe_languages(context)


def _seed_exports(context: DemoContext) -> object:
    from feedback.exports_demo import seed_exports_step

    return seed_exports_step(context)


def _describe_exports(context: DemoContext) -> list[str]:
    from feedback.exports_demo import describe_exports

    return describe_exports(context)


def _seed_thanks(context: DemoContext) -> object:
    from feedback.thanks_demo import seed_thanks_step

    return seed_thanks_step(context)


def _describe_thanks(context: DemoContext) -> list[str]:
    from feedback.thanks_demo import describe_thanks

    return describe_thanks(context)


def _seed_topics(context: DemoContext) -> object:
    from feedback.topics_demo import seed_topics_step

    return seed_topics_step(context)


def _describe_topics(context: DemoContext) -> list[str]:
    from feedback.topics_demo import describe_topics

    return describe_topics(context)


def _seed_service_limit(context: DemoContext) -> object:
    from feedback.service_limits_demo import seed_service_limit_step

    return seed_service_limit_step(context)


def _describe_service_limit(context: DemoContext) -> list[str]:
    from feedback.service_limits_demo import describe_service_limit

    return describe_service_limit(context)
