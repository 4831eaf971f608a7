"""The one gate (tenants/gate.py): every app asks it what an organisation may do, billing
answers it. Unrestricted with no provider; views declare the capability they need; seat
limits are refused through it; one organisation's answer never stands for another's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client, RequestFactory
from django.urls import resolve
from django_tenants.utils import tenant_context

from alerts.gate import alerts_enabled
from billing.models import Subscription
from billing.plans import ESSENTIALS, NETWORK
from billing.provider import BillingProvider
from billing.subscriptions import BillingError
from tenants import gate
from tenants.gate import Capability, SeatLimitReached, Standing
from tenants.networks import create_network
from tests.billing.conftest import activate, local_stripe, plans  # noqa: F401 - fixtures
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db

# Every workspace page that needs a capability of the plan (what billing's FEATURE_PATHS
# used to list by prefix): the path, how it is asked for, and the capability.
GATED_PAGES = [
    ("GET", "/api-keys/", Capability.API_ACCESS),
    ("POST", "/api-keys/999999/revoke/", Capability.API_ACCESS),
    ("GET", "/widget/", Capability.WIDGET),
    ("GET", "/dashboards/network/", Capability.NETWORK_COMPARISON),
    ("POST", "/dashboards/network/_dash-update-component", Capability.NETWORK_COMPARISON),
    ("GET", "/dashboards/network/_dash-layout", Capability.NETWORK_COMPARISON),
    ("GET", "/reports/committee/", Capability.NETWORK_COMPARISON),
    ("GET", "/reports/committee.csv", Capability.NETWORK_COMPARISON),
    ("GET", "/reports/committee.pdf", Capability.NETWORK_COMPARISON),
    ("GET", "/network/stories/", Capability.NETWORK_COMPARISON),
    ("GET", "/network/stories/999999/", Capability.NETWORK_COMPARISON),
    ("POST", "/network/stories/999999/", Capability.NETWORK_COMPARISON),
    ("GET", "/network/log/", Capability.NETWORK_COMPARISON),
    ("GET", "/network/log.csv", Capability.NETWORK_COMPARISON),
    ("GET", "/network/stories/999999/discussion/", Capability.NETWORK_COMPARISON),
]


@pytest.fixture
def no_provider() -> Iterator[None]:
    """As if billing were not installed: nobody answers the gate."""
    previous = gate.register_provider(None)
    yield
    gate.register_provider(previous)


def admin_of_a(cast: Cast) -> Client:
    client = client_for(cast.org_a)
    assert sign_in(client, cast.admin_a.email).status_code == 302
    return client


def ask(client: Client, method: str, path: str):  # noqa: ANN201
    if method == "POST":
        return client.post(path, "{}", content_type="application/json")
    return client.get(path)


def refused_by_plan(response) -> bool:  # noqa: ANN001
    return response.status_code == 403 and "is not in your plan" in response.content.decode()


def test_billing_registers_itself_as_the_provider() -> None:
    assert isinstance(gate._provider, BillingProvider)


def test_with_no_provider_everything_is_allowed(cast: Cast, plans, no_provider) -> None:  # noqa: ANN001, F811
    # Even an organisation whose subscription would restrict it: nobody says so.
    activate(cast.org_a, plan=ESSENTIALS)
    Subscription.objects.filter(organisation=cast.org_a).update(status="unpaid")

    standing = gate.standing_for(cast.org_a)
    assert standing is gate.UNRESTRICTED and standing.standing is Standing.FULL
    assert all(gate.has_capability(cast.org_a, capability) for capability in Capability)
    assert gate.allows_writes(cast.org_a) and gate.alerts_allowed(cast.org_a)
    with tenant_context(cast.org_a):
        assert alerts_enabled()
    assert gate.seat_limit(cast.org_a) is None
    gate.check_seat_available(cast.org_a, 10_000)
    network = create_network(lead=cast.org_a, name="Alpha Network")
    assert gate.network_member_limit(network) is None
    gate.check_network_member_available(network)

    admin = admin_of_a(cast)
    for method, path, _ in GATED_PAGES:
        assert not refused_by_plan(ask(admin, method, path)), path
    assert admin.get("/api-keys/").status_code == 200
    assert admin.post("/accounts/profile/", {"full_name": "Ann Admin"}).status_code != 403


def test_every_gated_view_declares_its_capability() -> None:
    for _, path, capability in GATED_PAGES:
        view = resolve(path, urlconf="config.urls_tenant").func
        assert getattr(view, "required_capability", None) == capability, path


def test_the_decorator_refuses_what_the_plan_lacks_and_allows_what_it_has(
    cast: Cast,
    plans,  # noqa: ANN001, F811
) -> None:
    activate(cast.org_a, plan=ESSENTIALS)  # the widget, but no API and no network comparison
    admin = admin_of_a(cast)
    for method, path, capability in GATED_PAGES:
        response = ask(admin, method, path)
        if capability == Capability.WIDGET:
            assert response.status_code == 200, path
        else:
            assert refused_by_plan(response), path
            page = response.content.decode()
            assert f"{capability.label} is not in your plan" in page
            assert "Your organisation's Essentials plan does not include" in page
            assert "Change plan on the Billing page" in page  # an administrator's link
    # Pages that need nothing of the plan stay open.
    assert admin.get("/reports/").status_code == 200

    # A plan with the capability opens them.
    Subscription.objects.filter(organisation=cast.org_a).update(plan=NETWORK.key)
    assert admin.get("/api-keys/").status_code == 200
    assert not refused_by_plan(admin.get("/dashboards/network/"))
    assert not refused_by_plan(admin.get("/reports/committee/"))


def test_seat_limits_are_refused_through_the_gate_with_billings_message(
    cast: Cast,
    plans,  # noqa: ANN001, F811
) -> None:
    activate(cast.org_a, plan=ESSENTIALS)
    assert gate.seat_limit(cast.org_a) == ESSENTIALS.staff_seats == 10
    gate.check_seat_available(cast.org_a, 9)
    with pytest.raises(SeatLimitReached) as refused:
        gate.check_seat_available(cast.org_a, 10)
    assert str(refused.value) == (
        "The Essentials plan includes 10 active staff accounts and 10 are in use. Deactivate "
        "an account, or an administrator can change plan on the Billing page."
    )
    assert not isinstance(refused.value, BillingError)  # the gate's own, for every app

    network = create_network(lead=cast.org_a, name="Alpha Network")
    assert gate.network_member_limit(network) == 0
    with pytest.raises(SeatLimitReached, match="Essentials plan allows 0 member organisations"):
        gate.check_network_member_available(network)

    # Organisation B has no subscription: its own answer, no limit.
    assert gate.seat_limit(cast.org_b) is None
    gate.check_seat_available(cast.org_b, 10_000)


def test_one_organisations_standing_never_answers_for_another(
    cast: Cast,
    plans,  # noqa: ANN001, F811
    django_assert_num_queries,  # noqa: ANN001
) -> None:
    activate(cast.org_a, plan=ESSENTIALS)
    Subscription.objects.filter(organisation=cast.org_a).update(status="unpaid")

    assert gate.standing_for(cast.org_a).is_read_only
    assert not gate.allows_writes(cast.org_a) and not gate.alerts_allowed(cast.org_a)
    assert not gate.has_capability(cast.org_a, Capability.API_ACCESS)
    assert gate.standing_for(cast.org_b) is gate.UNRESTRICTED
    assert gate.allows_writes(cast.org_b) and gate.alerts_allowed(cast.org_b)
    assert gate.has_capability(cast.org_b, Capability.API_ACCESS)

    # The per-request answer is kept for the request's organisation only.
    request = RequestFactory().get("/")
    request.tenant = cast.org_a
    assert gate.request_standing(request).is_read_only
    with django_assert_num_queries(0):
        assert gate.request_standing(request).is_read_only  # kept
    request.tenant = cast.org_b
    assert gate.request_standing(request) is gate.UNRESTRICTED  # asked again, not A's
    request.tenant = cast.org_a
    assert gate.request_standing(request).is_read_only

    # Through the pages, each workspace gets its own answer, whichever asked first.
    admin_a = admin_of_a(cast)
    admin_b = client_for(cast.org_b)
    assert sign_in(admin_b, cast.admin_b.email).status_code == 302
    assert refused_by_plan(admin_a.get("/api-keys/"))
    assert admin_b.get("/api-keys/").status_code == 200
    assert "billing-banner" in admin_a.get("/").content.decode()
    assert "billing-banner" not in admin_b.get("/").content.decode()
    assert admin_b.post("/accounts/profile/", {"full_name": "Bea Admin"}).status_code != 403
    assert admin_a.post("/accounts/profile/", {"full_name": "Ann Admin"}).status_code == 403
