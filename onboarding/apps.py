from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from tenants.demo_steps import DemoContext


class OnboardingConfig(AppConfig):
    name = "onboarding"
    verbose_name = "Onboarding: service imports and staff invitations (each organisation's schema)"

    def ready(self) -> None:
        from onboarding.invitations import honour_invitation_at_sign_on
        from tenants.demo_steps import register_demo_step
        from tenants.signals import account_made_at_sign_on

        # A person invited who signs on first takes their invitation's role and services.
        account_made_at_sign_on.connect(
            honour_invitation_at_sign_on, dispatch_uid="onboarding.honour_invitation"
        )

        # The demo's training and invitations, for the network's providers.
        register_demo_step(
            "onboarding",
            order=50,
            after=("dashboards", "billing"),
            seed=_seed_demo,
            describe=_describe_demo,
        )
        # Invitations to tell, by email and SMS (onboarding/tell_invitations_demo.py).
        register_demo_step(
            "onboarding.tell_invitations",
            order=52,
            after=("feedback", "onboarding"),
            seed=_seed_tell_invitations,
            describe=_describe_tell_invitations,
        )
        # A service administrator of the ward-limited responder's ward, and her invitation.
        register_demo_step(
            "onboarding.service_administrators",
            order=53,
            after=("feedback.service_limits", "onboarding"),
            seed=_seed_service_administrator,
            describe=_describe_service_administrator,
        )


# The demo's module is loaded only when `seed_demo` runs (tenants/demo_steps.py).
def _seed_demo(context: DemoContext) -> object:
    from onboarding.demo import seed_onboarding_step

    return seed_onboarding_step(context)


def _describe_demo(context: DemoContext) -> list[str]:
    from onboarding.demo import describe_onboarding_demo

    return describe_onboarding_demo(context)


def _seed_tell_invitations(context: DemoContext) -> object:
    from onboarding.tell_invitations_demo import seed_tell_invitations_demo

    return seed_tell_invitations_demo(context)


def _describe_tell_invitations(context: DemoContext) -> list[str]:
    from onboarding.tell_invitations_demo import describe_tell_invitations_demo

    return describe_tell_invitations_demo(context)


def _seed_service_administrator(context: DemoContext) -> object:
    from onboarding.service_administrators_demo import seed_service_administrator_step

    return seed_service_administrator_step(context)


def _describe_service_administrator(context: DemoContext) -> list[str]:
    from onboarding.service_administrators_demo import describe_service_administrator

    return describe_service_administrator(context)
