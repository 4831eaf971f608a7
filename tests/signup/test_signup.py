"""The sign-up wizard, step by step, through the hub's pages, paying on the local Stripe
server through the official library. (tests/browser/test_signup_browser.py runs the whole
thing in Chromium with Stripe's webhooks delivered to a live server.)"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from billing.models import Subscription
from billing.subscriptions import refresh_from_stripe
from onboarding.signup import wizard
from onboarding.signup.models import Signup, Step
from tenants.accounts.models import Role, User
from tenants.messages import send_due_messages
from tenants.models import Organisation
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase-42"
DETAILS = {
    "organisation_name": "Riverside Hospice",
    "kind": "hospice",
    "ods_code": "",
    "region": "london",
    "website": "https://riverside-hospice.example",
    "slug": "",
}


def hub() -> Client:
    return Client(HTTP_HOST=settings.BASE_DOMAIN)


def verification_link() -> str:
    send_due_messages()  # the outbox sends the confirmation the sign-up wrote
    (message,) = [m for m in mail.outbox if "Confirm your email" in m.subject]
    return re.search(r"https?://\S+/signup/verify/\S+/", message.body).group(0)


def through_to_payment(client: Client, **details: str) -> Signup:
    assert client.get("/pricing/").status_code == 200
    response = client.post("/signup/", {**DETAILS, **details})
    assert response.status_code == 302 and response["Location"] == "/signup/account/"
    response = client.post(
        "/signup/account/",
        {
            "admin_name": "Robin Carter",
            "admin_email": "Robin@Riverside-Hospice.example",
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
    )
    assert response["Location"] == "/signup/check-email/"
    link = verification_link()
    assert client.get("/" + link.split("/", 3)[3])["Location"] == "/signup/plan/"
    response = client.post("/signup/plan/", {"plan": "essentials", "interval": "annual"})
    assert response["Location"] == "/signup/payment/"
    return Signup.objects.get(
        organisation_name=details.get("organisation_name", DETAILS["organisation_name"])
    )


def pay_by_local_card(client: Client) -> str:
    response = client.post("/signup/payment/")
    assert response.status_code == 302
    card_page = response["Location"]
    assert "/billing/pay/" in card_page
    path = "/" + card_page.split("/", 3)[3]
    page = client.get(path)
    assert page.status_code == 200
    form = {
        "name": "Robin Carter",
        "number": "4242 4242 4242 4242",
        "expiry": "12/30",
        "exp_month": "12",
        "exp_year": "2030",
        "cvc": "123",
    }
    paid = client.post(path, form)
    assert paid.status_code == 302, paid.content[:500]
    return paid["Location"]


def test_details_are_checked_as_a_whole_with_clear_messages(cast: Cast) -> None:
    client = hub()
    response = client.post(
        "/signup/", {**DETAILS, "kind": "gp practice", "ods_code": "RTH", "slug": "Bad Slug!"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "GP practice code" in body or "letter and five digits" in body
    assert "lower-case letters" in body
    response = client.post("/signup/", {**DETAILS, "slug": cast.org_a.slug})
    assert response.status_code == 400
    assert "is taken" in response.content.decode()
    assert not Signup.objects.exists()


def test_the_account_needs_a_good_password_and_a_confirmed_address(cast: Cast) -> None:
    client = hub()
    client.post("/signup/", DETAILS)
    weak = client.post(
        "/signup/account/",
        {
            "admin_name": "Robin",
            "admin_email": "r@x.example",
            "password": "short",
            "password_again": "short",
        },
    )
    assert weak.status_code == 400
    signup = Signup.objects.get()
    assert signup.admin_password == ""
    client.post(
        "/signup/account/",
        {
            "admin_name": "Robin",
            "admin_email": "r@x.example",
            "password": PASSWORD,
            "password_again": PASSWORD,
        },
    )
    signup.refresh_from_db()
    assert signup.step == Step.VERIFY and PASSWORD not in signup.admin_password
    # The plan step is closed until the address is confirmed.
    assert client.get("/signup/plan/")["Location"] == "/signup/check-email/"
    tampered = client.get("/signup/verify/not-a-real-token/")
    assert tampered.status_code == 400
    link = verification_link()
    other_browser = hub()
    assert other_browser.get("/" + link.split("/", 3)[3])["Location"] == "/signup/plan/"
    signup.refresh_from_db()
    assert signup.email_verified_at is not None


def test_a_network_plan_is_only_for_commissioners(cast: Cast) -> None:
    client = hub()
    signup = through_to_payment(client)
    with pytest.raises(Exception, match="commissioners"):
        wizard.choose_plan(signup, "network", "monthly")
    response = client.post("/signup/plan/", {"plan": "network", "interval": "monthly"})
    assert response.status_code == 400


def test_paying_then_provisioning_makes_a_ready_workspace(cast: Cast) -> None:
    from tenants.models import MembershipStatus, NetworkInvitation
    from tenants.networks import create_network

    network = create_network(lead=cast.org_a, name="Alpha's network")
    NetworkInvitation.objects.create(network=network, email="robin@riverside-hospice.example")
    client = hub()
    signup = through_to_payment(client)
    assert not Organisation.objects.filter(slug=signup.slug).exists()  # nothing yet

    back = pay_by_local_card(client)
    assert back.endswith("/signup/paid/")
    # Stripe's webhook would say so; here the subscription is read back from Stripe as the
    # webhook handler does (the browser test has the real webhook).
    row = Subscription.objects.get(reference=signup.reference)
    refresh_from_stripe(row, source="test")
    row.refresh_from_db()
    assert row.status == "active"

    assert wizard.note_payment(signup)
    signup.refresh_from_db()
    assert signup.step == Step.PROVISIONING
    wizard.provision_signup(signup.pk)  # what the Celery task runs
    wizard.provision_signup(signup.pk)  # and again, as a redelivered task would: no change
    signup.refresh_from_db()
    assert signup.step == Step.READY
    organisation = signup.organisation
    assert organisation.slug == "riverside-hospice" and organisation.is_ready
    row.refresh_from_db()
    assert row.organisation == organisation
    with tenant_context(organisation):
        admin = User.objects.get()
        assert admin.email == "robin@riverside-hospice.example"
        assert admin.role == Role.ADMINISTRATOR and admin.check_password(PASSWORD)
    # The network that invited it by email before it existed now waits in its workspace.
    membership = network.memberships.get(organisation=organisation)
    assert membership.status == MembershipStatus.INVITED
    status = client.get("/signup/status/").json()
    assert status["step"] == "ready" and status["workspace"].startswith(
        f"http://{organisation.slug}.{settings.BASE_DOMAIN}"
    )
    workspace = Client(HTTP_HOST=f"{organisation.slug}.{settings.BASE_DOMAIN}")
    signed_in = workspace.post(
        "/accounts/login/", {"username": "robin@riverside-hospice.example", "password": PASSWORD}
    )
    assert signed_in.status_code == 302


def test_abandoned_sign_ups_leave_nothing_and_expire(cast: Cast) -> None:
    client = hub()
    signup = through_to_payment(client)
    before = Organisation.objects.count()
    # Walk away before paying: nothing but the sign-up exists, and it expires.
    Signup.objects.filter(pk=signup.pk).update(updated_at=timezone.now() - timedelta(days=8))
    assert wizard.expire_signups() == 1
    assert Organisation.objects.count() == before
    assert not Signup.objects.exists()


def test_a_failed_provisioning_can_be_retried_with_another_address(cast: Cast) -> None:
    client = hub()
    signup = through_to_payment(client, organisation_name="Clash Hospice", slug="clash-hospice")
    pay_by_local_card(client)
    refresh_from_stripe(Subscription.objects.get(reference=signup.reference), source="test")
    wizard.note_payment(signup)
    # Someone else took the address meanwhile.
    Signup.objects.filter(pk=signup.pk).update(slug=cast.org_b.slug)
    wizard.provision_signup(signup.pk)
    signup.refresh_from_db()
    assert signup.step == Step.FAILED and "taken" in signup.error
    page = client.get("/signup/progress/")
    assert "Try again" in page.content.decode()
    assert client.post("/signup/retry/", {"slug": cast.org_a.slug}).status_code == 400
    client.post("/signup/retry/", {"slug": "clash-hospice-2"})
    wizard.provision_signup(signup.pk)
    signup.refresh_from_db()
    assert signup.step == Step.READY and signup.organisation.slug == "clash-hospice-2"


def test_a_sign_up_is_only_reachable_from_its_own_session(cast: Cast) -> None:
    client = hub()
    through_to_payment(client)
    stranger = hub()
    assert stranger.get("/signup/payment/")["Location"] == "/signup/"
    assert stranger.get("/signup/status/").status_code == 404
    # And not on an organisation's domain at all.
    on_workspace = Client(HTTP_HOST=f"{cast.org_a.slug}.{settings.BASE_DOMAIN}")
    assert on_workspace.get("/signup/").status_code == 404
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        assert Signup.objects.count() == 1
