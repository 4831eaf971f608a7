"""`/healthz` (readiness): is the database reachable, is the broker reachable. `/livez`
(liveness): is this process answering at all; it touches neither, so an outage of the
database takes pods out of service without restarting them in a loop. Both are answered
before tenant routing, so load balancers and probes can call them by IP address or any
host name."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def check_broker() -> str:
    from config.celery import app

    if not settings.CELERY_BROKER_URL:
        return "not configured"
    with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def health() -> tuple[bool, dict[str, str]]:
    results: dict[str, str] = {}
    healthy = True
    for name, check in (("database", check_database), ("broker", check_broker)):
        try:
            results[name] = check()
        except Exception as exc:  # noqa: BLE001 - any failure is the answer
            results[name] = f"error: {exc.__class__.__name__}"
            healthy = False
    if results["broker"] == "not configured":
        healthy = False
    return healthy, results


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/livez":
            response = JsonResponse({"status": "alive"})
            response["Cache-Control"] = "no-store"
            return response
        if request.path != "/healthz":
            return self.get_response(request)
        healthy, checks = health()
        response = JsonResponse(
            {"status": "ok" if healthy else "unavailable", "checks": checks},
            status=200 if healthy else 503,
        )
        response["Cache-Control"] = "no-store"
        return response
