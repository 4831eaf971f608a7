"""Billing tells us when a subscription changes; a paid sign-up then moves on at once rather
than at the progress page's next poll."""

from __future__ import annotations

from typing import Any

from billing.models import Subscription
from billing.signals import subscription_changed
from onboarding.signup import wizard
from onboarding.signup.models import Signup, Step


def on_subscription_changed(sender: Any, subscription: Subscription, **kwargs: Any) -> None:
    prefix = "signup:"
    if not subscription.reference.startswith(prefix) or not subscription.is_live:
        return
    try:
        pk = int(subscription.reference.removeprefix(prefix))
    except ValueError:
        return
    signup = Signup.objects.filter(pk=pk, step=Step.PAYMENT).first()
    if signup is not None:
        wizard.note_payment(signup)


subscription_changed.connect(on_subscription_changed, dispatch_uid="signup.on_subscription")
