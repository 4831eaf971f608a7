from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("host", ["localhost", "alpha.localhost", "10.1.2.3", "unknown.example"])
def test_healthz_reports_database_and_broker_on_any_host(cast: object, host: str) -> None:
    response = Client(HTTP_HOST=host).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert response["Cache-Control"] == "no-store"


def test_healthz_is_503_when_the_broker_is_unreachable(settings: object, tmp_path: object) -> None:
    settings.CELERY_BROKER_URL = f"redis+socket://{tmp_path}/no-such.sock"
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error:")


@pytest.mark.parametrize("host", ["localhost", "alpha.localhost", "10.1.2.3"])
def test_livez_answers_without_the_database_or_the_broker(
    cast: object, host: str, settings: object, tmp_path: object, django_assert_num_queries: object
) -> None:
    settings.CELERY_BROKER_URL = f"redis+socket://{tmp_path}/no-such.sock"
    with django_assert_num_queries(0):
        response = Client(HTTP_HOST=host).get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert response["Cache-Control"] == "no-store"
