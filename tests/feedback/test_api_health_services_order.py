"""API v2 answers every unknown address with a JSON 404, and lists health services in the
order of their codes as it shows them: a generated code (CV and the listing's id, for a
service without one) sorts among the others, as its characters say, not first because the
stored code is empty."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from feedback.apikeys import create_api_key
from feedback.hub.models import ServiceListing
from feedback.models import Service
from feedback.sites_and_services import create_site, save_service
from tests.conftest import Cast
from tests.feedback.test_api import call

pytestmark = pytest.mark.django_db


def test_health_services_come_in_the_order_of_their_codes(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        site = create_site(name="Order Test Site", code="")
        for name, code in (("Zeta Clinic", "ZZ9"), ("Beta Clinic", "BB1"), ("No Code", "")):
            save_service(Service(site=site, name=name, code=code, type="clinic"))
    key = create_api_key(cast.org_a, name="Order", actor=cast.admin_a)
    shown = [item["nacs"] for item in call(key, "healthservices", {"take": 100}).json()]
    assert shown == sorted(shown)
    generated = [
        f"CV{pk}"
        for pk in ServiceListing.objects.filter(code="", is_active=True).values_list(
            "pk", flat=True
        )
    ]
    assert generated and set(generated) <= set(shown)
    # Not first: a generated code stands where its characters put it.
    assert "BB1" in shown and "ZZ9" in shown
    assert shown.index("BB1") < shown.index(generated[0]) < shown.index("ZZ9")
    # Paging follows the same order.
    pages = [
        item["nacs"]
        for skip in range(0, len(shown), 2)
        for item in call(key, "healthservices", {"skip": skip, "take": 2}).json()
    ]
    assert pages == shown


@pytest.mark.parametrize("path", ["nope", "opinions/not-a-number", "healthservices/AW1/extra"])
def test_a_404_on_an_api_path_answers_json_not_the_hubs_page(cast: Cast, path: str) -> None:
    key = create_api_key(cast.org_a, name="Paths", actor=cast.admin_a)
    response = call(key, path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == 404 and "/api/v2/openapi.json" in body["message"]
    assert b"<html" not in response.content
