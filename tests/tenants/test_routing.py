from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import OrganisationStatus
from tenants.routing import forget_routes
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db


def _search_path_sets(client: object, path: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    sets = [q for q in queries.captured_queries if q["sql"].startswith("SET search_path")]
    return len(sets), response.status_code


def test_a_workspace_request_sets_the_search_path_at_most_once(cast: Cast) -> None:
    client = client_for(cast.org_a)
    sign_in(client, cast.admin_a.email)
    client.get("/")  # warm the routing cache
    assert _search_path_sets(client, "/") == (1, 200)
    assert _search_path_sets(client, "/staff/") == (1, 200)


def test_a_hub_page_needs_no_search_path_change_once_routed(cast: Cast) -> None:
    client = client_for(None)
    client.get("/")
    sets, status = _search_path_sets(client, "/")
    assert status == 200
    assert sets <= 1


def test_routing_follows_a_status_change_at_once_in_this_process(cast: Cast) -> None:
    client = client_for(cast.org_b)
    assert client.get("/accounts/login/").status_code == 200
    cast.org_b.status = OrganisationStatus.SUSPENDED
    cast.org_b.save(update_fields=["status"])
    try:
        response = client.get("/accounts/login/")
        assert response.status_code == 403
        assert "suspended" in response.content.decode()
    finally:
        cast.org_b.status = OrganisationStatus.ACTIVE
        forget_routes()


def test_a_workspace_being_provisioned_answers_503(cast: Cast) -> None:
    cast.org_b.status = OrganisationStatus.PROVISIONING
    cast.org_b.save(update_fields=["status"])
    try:
        response = client_for(cast.org_b).get("/")
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
    finally:
        cast.org_b.status = OrganisationStatus.ACTIVE
        forget_routes()
