"""The workspace's Billing page and the hub's local card page; one organisation's billing
never shows or changes another's."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from billing import stripe_api
from billing.checkout import local_card_url, read_local_payment, start_payment
from billing.models import Subscription, SubscriptionStatus, WebhookEvent
from billing.plans import ORGANISATION, Interval
from billing.subscriptions import BillingError
from tenants.audit.models import AuditEvent
from tests.billing.conftest import (
    activate,
    deliver,
    process_received,
    refreshed,
    row_for,
    stripe_event,
)
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db

CARD = {"name": "Alex Morgan", "number": "4242 4242 4242 4242", "expiry": "12/31", "cvc": "123"}


def _admin(cast: Cast, organisation=None) -> Client:  # noqa: ANN001
    organisation = organisation or cast.org_a
    client = client_for(organisation)
    email = cast.admin_a.email if organisation == cast.org_a else cast.admin_b.email
    assert sign_in(client, email).status_code == 302
    return client


def _card_page_path(url: str) -> str:
    assert url.startswith("http://localhost:8000/billing/pay/"), url
    return url.removeprefix("http://localhost:8000")


def _start_paying(client: Client, plan: str = "organisation", interval: str = "monthly") -> str:
    response = client.post("/billing/pay/", {"plan": plan, "interval": interval})
    assert response.status_code == 302, response.content.decode()[-2000:]
    return _card_page_path(response["Location"])


def _subscription_events_for(row: Subscription) -> None:
    """What the local server sends once the card page has paid (delivered here by hand)."""
    subscription = stripe_api.list_subscriptions(row.stripe_customer_id)[0]
    deliver(stripe_event("customer.subscription.created", subscription))
    invoice = stripe_api.retrieve_invoice(subscription["latest_invoice"])
    deliver(stripe_event("invoice.payment_succeeded", invoice))
    process_received()


def test_only_administrators_see_billing(cast: Cast) -> None:
    member = client_for(cast.org_a)
    sign_in(member, cast.member_a.email)
    assert member.get("/billing/").status_code == 403
    assert member.post("/billing/pay/", {"plan": "organisation"}).status_code == 403
    anonymous = client_for(cast.org_a)
    assert anonymous.get("/billing/").status_code == 302
    page = _admin(cast).get("/billing/").content.decode()
    assert "set up before billing and keeps every feature" in page
    assert "Staff accounts: 3 active." in page


def test_paying_on_the_local_card_page_then_the_webhook_makes_it_active(cast: Cast, plans) -> None:
    admin = _admin(cast)
    path = _start_paying(admin, "organisation", "annual")
    hub = client_for(None)
    page = hub.get(path)
    assert page.status_code == 200
    body = page.content.decode()
    assert cast.org_a.name in body and "£3,990" in body and "4242 4242 4242 4242" in body
    assert "form-action 'self' http://alpha.localhost:8000" in page["Content-Security-Policy"]

    paid = hub.post(path, CARD)
    assert paid.status_code == 302
    assert paid["Location"] == "http://alpha.localhost:8000/billing/?paid=1"
    row = refreshed(cast.org_a)
    assert row.stripe_customer_id.startswith("cus_")
    assert row.status == SubscriptionStatus.NONE  # the webhook, not the page, activates it
    assert admin.get("/billing/?paid=1").status_code == 200

    _subscription_events_for(row)
    row.refresh_from_db()
    assert (row.status, row.plan, row.interval) == ("active", "organisation", "annual")
    page = admin.get("/billing/").content.decode()
    assert "Organisation</strong>, paid annual" in page and "Status: <strong>Active" in page
    assert "Staff accounts: 3 active of 100 in the plan." in page
    assert "£3,990" in page and "Paid" in page  # the first invoice
    with tenant_context(cast.org_a):
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"billing.payment_started", "billing.card_payment", "billing.status_changed"} <= actions


def test_bad_card_details_get_a_clear_400(cast: Cast, plans) -> None:
    path = _start_paying(_admin(cast))
    hub = client_for(None)
    cases = [
        ({"number": "4242 4242 4242 4241"}, "not a valid card number"),
        ({"number": "1234"}, "16 digits"),
        ({"expiry": "13/30"}, "between 01 and 12"),
        ({"expiry": "01/20"}, "This card has expired"),
        ({"expiry": "soon"}, "MM/YY"),
        ({"cvc": "12"}, "3 digits"),
        ({"name": ""}, "This field is required"),
        ({"number": "4000 0000 0000 0341"}, "declined"),
        ({"number": "4000 0000 0000 0002"}, "declined"),
    ]
    for change, message in cases:
        response = hub.post(path, {**CARD, **change})
        assert response.status_code == 400, change
        assert message in response.content.decode(), change
    assert refreshed(cast.org_a).status == SubscriptionStatus.NONE
    # A declined first payment leaves no running subscription behind.
    customer = refreshed(cast.org_a).stripe_customer_id
    assert all(s["status"] == "canceled" for s in stripe_api.list_subscriptions(customer))


def test_the_card_page_escapes_names_and_refuses_a_tampered_link(cast: Cast, plans) -> None:
    row = row_for(cast.org_a)
    Subscription.objects.filter(pk=row.pk).update(billing_name="<script>alert(1)</script> Trust")
    url = local_card_url(
        row,
        ORGANISATION,
        Interval.MONTHLY,
        "http://alpha.localhost:8000/billing/?paid=1",
        "http://alpha.localhost:8000/billing/",
    )
    hub = client_for(None)
    body = hub.get(_card_page_path(url)).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Trust" in body
    bad = hub.post(_card_page_path(url)[:-3] + "xyz/", CARD)
    assert bad.status_code == 400 and "not valid" in bad.content.decode()
    assert hub.get("/billing/pay/nonsense/").status_code == 400


def test_payment_only_sends_people_back_to_carevoice(cast: Cast, plans) -> None:
    with pytest.raises(BillingError, match="only be sent back to Carevoice"):
        start_payment(
            cast.org_a, "organisation", "monthly", "https://evil.example/", "http://localhost/"
        )
    with pytest.raises(Exception, match="not one of our plans"):
        start_payment(cast.org_a, "gold", "monthly", "http://localhost/", "http://localhost/")
    admin = _admin(cast)
    response = admin.post("/billing/pay/", {"plan": "gold", "interval": "weekly"}, follow=True)
    assert "Choose one of the plans" in response.content.decode()


def test_changing_plan_and_interval_cancelling_and_resuming(cast: Cast, plans) -> None:
    activate(cast.org_a)
    admin = _admin(cast)
    page = admin.post("/billing/change/", {"plan": "essentials", "interval": "annual"}, follow=True)
    assert "You are now on the Essentials plan, paid annual" in page.content.decode()
    row = refreshed(cast.org_a)
    assert (row.plan, row.interval) == ("essentials", "annual")
    stripe_sub = stripe_api.retrieve_subscription(row.stripe_subscription_id)
    assert stripe_sub["items"]["data"][0]["plan"]["id"] == "carevoice-essentials-annual"

    page = admin.post("/billing/cancel/", {"when": "period_end"}, follow=True).content.decode()
    assert "will end at the end of the period" in page
    assert "The subscription ends on" in page  # the banner
    assert refreshed(cast.org_a).cancel_at_period_end
    admin.post("/billing/resume/")
    assert not refreshed(cast.org_a).cancel_at_period_end

    page = admin.post("/billing/cancel/", {"when": "now"}, follow=True).content.decode()
    assert "This workspace is read-only" in page
    assert refreshed(cast.org_a).status == SubscriptionStatus.CANCELED
    with tenant_context(cast.org_a):
        actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert {"billing.plan_changed", "billing.cancelled", "billing.resumed"} <= set(actions)
    # Paying again from the read-only workspace: the billing pages still accept it.
    assert "/billing/pay/" in _start_paying(admin)


def test_check_with_stripe_repairs_what_a_missed_webhook_left(cast: Cast, plans) -> None:
    admin = _admin(cast)
    path = _start_paying(admin)
    client_for(None).post(path, CARD)  # paid; no webhook arrives
    assert refreshed(cast.org_a).status == SubscriptionStatus.NONE
    page = admin.post("/billing/refresh/", follow=True).content.decode()
    assert "Checked with Stripe: updated." in page
    assert refreshed(cast.org_a).status == SubscriptionStatus.ACTIVE


def test_real_stripe_uses_checkout_and_the_customer_portal(
    cast: Cast, plans, seam, settings
) -> None:
    activate(cast.org_a)
    card_page = _card_page_path(
        local_card_url(
            refreshed(cast.org_a),
            ORGANISATION,
            Interval.MONTHLY,
            "http://alpha.localhost:8000/billing/",
            "http://alpha.localhost:8000/billing/",
        )
    )
    settings.STRIPE_API_BASE = ""  # Stripe itself (the seam answers for it)
    admin = _admin(cast)
    page = admin.get("/billing/")
    assert "https://checkout.stripe.com" in page["Content-Security-Policy"]
    assert "customer portal" in page.content.decode()
    portal = admin.post("/billing/portal/")
    assert portal.status_code == 302
    assert portal["Location"].startswith("https://billing.stripe.com/p/session/test_")
    _, _, params = next(c for c in seam.calls if c[1] == "/v1/billing_portal/sessions")
    assert params["customer"] == refreshed(cast.org_a).stripe_customer_id
    assert params["return_url"] == "http://alpha.localhost:8000/billing/"
    # The local card page is for the local server only.
    assert client_for(None).get(card_page).status_code == 400

    # Once the subscription has ended, paying again goes through Checkout.
    Subscription.objects.filter(organisation=cast.org_a).update(status="canceled")
    response = admin.post("/billing/pay/", {"plan": "organisation", "interval": "monthly"})
    assert response.status_code == 302
    assert response["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    _, _, params = next(c for c in seam.calls if c[1] == "/v1/checkout/sessions")
    assert params["customer"] == refreshed(cast.org_a).stripe_customer_id
    assert params["success_url"] == "http://alpha.localhost:8000/billing/?paid=1"


def test_one_organisations_billing_never_shows_or_changes_anothers(cast: Cast, plans) -> None:
    subscription_a = activate(cast.org_a)
    row_b = row_for(cast.org_b)
    # A's session on B's host is nobody; B's admin sees only B.
    admin_a = _admin(cast)
    admin_a.defaults["HTTP_HOST"] = "beta.localhost"
    assert admin_a.get("/billing/").status_code == 302
    page_b = _admin(cast, cast.org_b).get("/billing/").content.decode()
    assert subscription_a["id"] not in page_b and "Status:" not in page_b
    assert "set up before billing" not in page_b  # B has a row (no subscription yet)

    # An event about A's subscription changes A only, whatever it carries.
    deliver(stripe_event("customer.subscription.updated", subscription_a))
    process_received()
    row_b.refresh_from_db()
    assert (row_b.status, row_b.stripe_subscription_id) == ("", "")

    # A subscription of B's customer that names A's reference is refused, not applied to A.
    customer_b = stripe_api.create_customer(name="Beta", email="", reference=row_b.reference)
    Subscription.objects.filter(pk=row_b.pk).update(stripe_customer_id=customer_b["id"])
    card = stripe_api.create_card_payment_method(
        number="4242424242424242", exp_month=12, exp_year=2031, cvc="123", name="B"
    )
    stripe_api.attach_payment_method(card["id"], customer_b["id"])
    confused = stripe_api.create_subscription(
        customer_id=customer_b["id"],
        plan_id=ORGANISATION.stripe_plan_id(Interval.MONTHLY),
        reference=refreshed(cast.org_a).reference,
    )
    deliver(stripe_event("customer.subscription.created", confused))
    assert process_received() == ["failed"]
    assert (
        "belongs to customer"
        in WebhookEvent.objects.get(stripe_event_id__isnull=False, state="failed").outcome
    )
    assert refreshed(cast.org_a).stripe_subscription_id == subscription_a["id"]

    # A's local card link pays for A, never B.
    payment = read_local_payment(
        local_card_url(
            refreshed(cast.org_a),
            ORGANISATION,
            Interval.MONTHLY,
            "http://alpha.localhost:8000/billing/",
            "http://alpha.localhost:8000/billing/",
        ).rsplit("/", 2)[1]
    )
    assert payment.reference == f"organisation:{cast.org_a.pk}"
