"""The local card page end to end, with nothing stood in for: a workspace administrator
pays on the hub's card page, the local Stripe server creates the subscription and delivers
its signed webhooks to the product served from a thread of this process, a real Celery
worker processes them, and the organisation becomes active.

Everything here is committed (the server thread and the worker have their own database
connections) and removed afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.db import connections
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.models import PlanPrice, Subscription, WebhookEvent, WebhookState
from config.embedded import register_local_webhook
from tenants.audit.models import AuditEvent
from tenants.models import Organisation
from tenants.provisioning import provision_organisation
from tests.conftest import PASSWORD, Cast, client_for, sign_in, wait_until

WEBHOOK_NAME = "billing-tests"


class _Handler(WSGIRequestHandler):
    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        finally:
            connections.close_all()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def live_hub(committed_db: None) -> Iterator[int]:
    """The product on 127.0.0.1 and a free port; yields the port."""
    from config.wsgi import application

    server = ThreadedWSGIServer(("127.0.0.1", 0), _Handler, allow_reuse_address=False)
    server.set_app(application)
    thread = threading.Thread(target=server.serve_forever, name="billing-live-hub", daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def gamma(committed_db: None) -> Iterator[Organisation]:
    """A committed organisation of its own, dropped afterwards."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        had_plans = PlanPrice.objects.exists()
        organisation = provision_organisation(
            name="Gamma Hospice",
            slug="gamma-billing",
            kind="hospice",
            admin_email="admin@gamma-billing.example",
            admin_name="Gail Gamma",
            admin_password=PASSWORD,
        ).organisation
    started = timezone.now()
    try:
        yield organisation
    finally:
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            WebhookEvent.objects.filter(received_at__gte=started).delete()
            Subscription.objects.filter(organisation=organisation).delete()
            AuditEvent.objects.filter(
                target_type="tenants.organisation", target_id=str(organisation.pk)
            ).delete()
            if not had_plans:
                PlanPrice.objects.all().delete()
            organisation.delete()


def test_paying_on_the_local_card_page_activates_the_organisation_by_webhook(
    cast: Cast, gamma: Organisation, live_hub: int, celery_worker_thread: object
) -> None:
    register_local_webhook(
        settings.STRIPE_API_BASE,
        f"http://localhost:{live_hub}/billing/webhooks/stripe/",
        settings.STRIPE_WEBHOOK_SECRET,
        name=WEBHOOK_NAME,
    )
    try:
        admin = client_for(gamma)
        assert sign_in(admin, "admin@gamma-billing.example").status_code == 302
        started = admin.post("/billing/pay/", {"plan": "essentials", "interval": "monthly"})
        assert started.status_code == 302
        card_page = started["Location"].removeprefix("http://localhost:8000")
        hub = client_for(None)
        assert "Gamma Hospice" in hub.get(card_page).content.decode()
        paid = hub.post(
            card_page,
            {"name": "Gail Gamma", "number": "4242424242424242", "expiry": "11/32", "cvc": "987"},
        )
        assert paid.status_code == 302, paid.content.decode()[-2000:]
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            assert Subscription.objects.get(organisation=gamma).status == ""

        def active() -> bool:
            with schema_context(settings.PUBLIC_SCHEMA_NAME):
                return Subscription.objects.get(organisation=gamma).status == "active"

        wait_until(active, timeout=45, what="the webhook to make the organisation active")
        time.sleep(1.5)  # the local server's last deliveries
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            wait_until(
                lambda: (
                    not WebhookEvent.objects.filter(
                        state__in=[WebhookState.RECEIVED, WebhookState.PROCESSING]
                    ).exists()
                ),
                what="the worker to finish",
            )
            row = Subscription.objects.get(organisation=gamma)
            handled = set(
                WebhookEvent.objects.filter(
                    subscription=row, state=WebhookState.PROCESSED
                ).values_list("type", flat=True)
            )
        assert (row.plan, row.interval) == ("essentials", "monthly")
        assert "customer.subscription.created" in handled
        assert "invoice.payment_succeeded" in handled
        page = admin.get("/billing/").content.decode()
        assert "Status: <strong>Active" in page and "of 10 in the plan" in page
    finally:
        # The local server keeps sending to a registered webhook: point it at nothing.
        register_local_webhook(
            settings.STRIPE_API_BASE, "http://127.0.0.1:9/", "whsec_unused", name=WEBHOOK_NAME
        )
