"""The whole sign-up in Chromium, over real HTTP: the pricing page, organisation details,
the account and its emailed confirmation link, a plan, the card page of the local Stripe
server, Stripe's webhooks delivered by that server to the running product and processed on
a real Celery worker, provisioning on the worker, and signing in to the new workspace."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django_tenants.utils import schema_context
from playwright.sync_api import Page, expect

from billing.models import Subscription, WebhookEvent
from config.embedded import register_local_webhook
from onboarding.signup.models import Signup
from tenants.messages import send_due_messages
from tenants.models import Organisation
from tests.browser.conftest import LiveSite, PageProblems, browser_sign_in

PASSWORD = "a-long-enough-passphrase-42"
SLUG = "browser-signup-hospice"


@pytest.fixture
def stripe_webhooks_to_live_site(live_site: LiveSite) -> Iterator[None]:
    """The local Stripe server posts its events to the live product, as in `make run`."""
    register_local_webhook(
        settings.STRIPE_API_BASE,
        f"{live_site.hub_url}/billing/webhooks/stripe/",
        settings.STRIPE_WEBHOOK_SECRET,
        name="browser-tests",
    )
    yield
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        signups = list(Signup.objects.filter(slug__startswith=SLUG))
        references = [s.reference for s in signups]
        for subscription in Subscription.objects.filter(reference__in=references):
            WebhookEvent.objects.filter(subscription=subscription).delete()
            subscription.invoices.all().delete()
            subscription.delete()
        for signup in signups:
            organisation = signup.organisation
            signup.delete()
            if organisation is not None:
                organisation.delete(force_drop=True)
        Organisation.objects.filter(slug__startswith=SLUG).delete()


def test_an_organisation_signs_itself_up_and_lands_in_its_ready_workspace(
    live_site: LiveSite,
    page: Page,
    page_problems: PageProblems,
    stripe_webhooks_to_live_site: None,
    celery_worker_thread: object,
    artefacts_dir: Path,
) -> None:
    page.goto(f"{live_site.hub_url}/pricing/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Plans and prices")
    page.get_by_role("link", name="Start with Essentials").click()

    page.get_by_label("Organisation name").fill("Browser Sign-up Hospice")
    page.get_by_label("What kind of organisation").select_option("hospice")
    page.get_by_label("Workspace address").fill(SLUG)
    page.get_by_role("button", name="Continue").click()

    page.get_by_label("Your name").fill("Robin Carter")
    page.get_by_label("Your work email address").fill("robin@browser-signup.example")
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_label("The password again").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email address")

    send_due_messages()  # the outbox sends the confirmation the sign-up wrote
    (message,) = [m for m in mail.outbox if "robin@browser-signup.example" in m.to]
    link = re.search(r"http://\S+/signup/verify/\S+/", message.body).group(0)
    page.goto(link.replace(f"http://{settings.BASE_DOMAIN}/", f"{live_site.hub_url}/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a plan")
    page.get_by_label("Annual").check()
    page.get_by_role("button", name="Continue to payment").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Payment")
    page.get_by_role("button", name="Pay by card").click()
    page.get_by_label("Name on the card").fill("Robin Carter")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM/YY)").fill("12/30")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name=re.compile("^Pay")).click()

    # The progress page waits for Stripe's webhook, then for provisioning on the worker.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Setting up")
    go = page.get_by_role("link", name="Go to your workspace")
    expect(go).to_be_visible(timeout=60_000)
    page.screenshot(path=artefacts_dir / "signup-ready.png", full_page=True)
    go.click()

    workspace = f"http://{SLUG}.{settings.BASE_DOMAIN}:{live_site.port}"
    expect(page).to_have_url(re.compile(rf"^{re.escape(workspace)}/accounts/login/"))
    # The first administrator sets up a second factor as part of signing in.
    browser_sign_in(page, workspace, "robin@browser-signup.example", PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Browser Sign-up Hospice")
    page_problems.assert_none()

    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        signup = Signup.objects.get(slug=SLUG)
        assert signup.organisation is not None and signup.organisation.is_ready
        subscription = Subscription.objects.get(reference=signup.reference)
        assert subscription.organisation == signup.organisation
        assert subscription.status == "active" and subscription.plan == "essentials"
        # The state came from Stripe's own webhooks, stored and processed once each.
        events = WebhookEvent.objects.filter(subscription=subscription)
        assert events.filter(type="customer.subscription.created").exists()
        assert all(e.state in ("processed", "ignored") for e in events)
