"""One organisation never reaches another's pages, data, sessions, cache or tasks."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import tenant_context

from tenants import ratelimit
from tenants.audit.models import AuditEvent
from tests.conftest import PASSWORD, Cast, client_for, sign_in

pytestmark = pytest.mark.django_db


def tenant_url_paths(pk: int) -> list[str]:
    """Every URL of the workspace, with `pk` wherever a URL takes an id."""
    paths: list[str] = []

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            route = str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + route)
            elif isinstance(pattern, URLPattern):
                route = (
                    route.replace("<int:pk>", str(pk))
                    .replace("<uidb64>", "MQ")
                    .replace("<token>", "set-password")
                )
                paths.append("/" + prefix + route)

    walk(get_resolver("config.urls_tenant").url_patterns, "")
    return paths


def test_the_cast_has_overlapping_ids_across_organisations(cast: Cast) -> None:
    assert cast.admin_a.pk == cast.admin_b.pk
    assert cast.responder_a.pk == cast.responder_b.pk
    assert cast.admin_a.email != cast.admin_b.email


def test_a_session_from_one_organisation_is_anonymous_on_another(
    cast: Cast, admin_a_client: object
) -> None:
    assert admin_a_client.get("/").status_code == 200
    # The test client sends its cookies to any host: exactly the case to prove safe.
    admin_a_client.defaults["HTTP_HOST"] = "beta.localhost"
    response = admin_a_client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_session_cookie_is_host_only_secure_httponly_and_samesite(cast: Cast) -> None:
    client = client_for(cast.org_a)
    sign_in(client, cast.admin_a.email)
    cookie = client.cookies["sessionid"]
    assert cookie["domain"] == ""
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


# The same text on every host, for anyone: where to report a security problem.
PUBLIC_ON_EVERY_HOST = {"/.well-known/security.txt", "/security/"}


@pytest.mark.parametrize("path", tenant_url_paths(pk=1))
def test_staff_of_a_cannot_reach_any_page_of_b(
    cast: Cast, admin_a_client: object, path: str
) -> None:
    admin_a_client.defaults["HTTP_HOST"] = "beta.localhost"
    for method in (admin_a_client.get, admin_a_client.post):
        response = method(path)
        body = response.content.decode()
        for secret in (cast.admin_b.email, cast.responder_b.email, "Beta Private Ward"):
            assert secret not in body, (path, secret)
        if "/accounts/" not in path and path not in PUBLIC_ON_EVERY_HOST:
            assert response.status_code in (302, 403, 404, 405), (path, response.status_code)


@pytest.mark.parametrize("path", [p for p in tenant_url_paths(pk=1) if "/staff/1/" in p])
def test_an_id_from_b_shows_a_own_row_on_a(cast: Cast, admin_a_client: object, path: str) -> None:
    response = admin_a_client.get(path)
    if response.status_code == 200:
        body = response.content.decode()
        assert cast.admin_a.email in body
        assert cast.admin_b.email not in body


def test_credentials_of_a_do_not_sign_in_on_b(cast: Cast) -> None:
    client = client_for(cast.org_b)
    response = sign_in(client, cast.admin_a.email)
    assert response.status_code == 200
    assert "do not match" in response.content.decode()


def test_hub_admin_is_not_served_on_an_organisation_domain(cast: Cast) -> None:
    assert client_for(cast.org_a).get("/admin/").status_code == 404


def test_organisation_staff_cannot_sign_in_to_the_hub_admin(cast: Cast) -> None:
    client = client_for(None)
    response = client.post(
        "/admin/login/?next=/admin/", {"username": cast.admin_a.email, "password": PASSWORD}
    )
    assert response.status_code == 200
    assert "/admin/" not in response.get("Location", "")
    assert client.get("/admin/").status_code == 302


def test_an_unknown_host_is_not_served(cast: Cast) -> None:
    response = Client(HTTP_HOST="nobody.localhost").get("/")
    assert response.status_code == 404


def test_cache_keys_are_per_schema(cast: Cast) -> None:
    limit = ratelimit.Limit("probe", 3, 60)
    with tenant_context(cast.org_a):
        for _ in range(3):
            ratelimit.hit(limit, "same-identity")
        assert ratelimit.is_limited(limit, "same-identity")
        cache.set("shared-name", "a's value")
    with tenant_context(cast.org_b):
        assert not ratelimit.is_limited(limit, "same-identity")
        assert cache.get("shared-name") is None


def test_audit_rows_land_in_the_acting_organisation_only(
    cast: Cast, admin_a_client: object
) -> None:
    with tenant_context(cast.org_a):
        assert AuditEvent.objects.filter(
            action="auth.login", actor_label=cast.admin_a.email
        ).exists()
    with tenant_context(cast.org_b):
        assert not AuditEvent.objects.filter(actor_label=cast.admin_a.email).exists()


def test_overlapping_service_and_story_ids_show_only_a_own_rows(cast: Cast, admin_a_client) -> None:
    from tests.conftest import tell_and_publish

    story_b = tell_and_publish(cast, [cast.ward_b], title="Beta own story").stories[0][1]
    tell_and_publish(cast, [cast.ward_a], title="Alpha own story")
    # B's id on A's host is A's own story of that id, or nothing; never B's.
    response = admin_a_client.get(f"/stories/{story_b}/")
    assert response.status_code in (200, 404)
    assert "Beta own story" not in response.content.decode()
    body = admin_a_client.get("/stories/").content.decode()
    assert "Beta own story" not in body
    with tenant_context(cast.org_b):
        from feedback.models import Service

        beta_service = Service.objects.get(name="Beta Private Ward").pk
    body = admin_a_client.get(f"/services/{beta_service}/").content.decode()
    assert "Beta Private Ward" not in body


def test_api_keys_of_b_are_neither_listed_nor_revocable_from_a(cast: Cast, admin_a_client) -> None:
    from feedback.apikeys import create_api_key

    key_b = create_api_key(cast.org_b, name="Beta analysts key").api_key
    assert "Beta analysts key" not in admin_a_client.get("/api-keys/").content.decode()
    assert admin_a_client.post(f"/api-keys/{key_b.pk}/revoke/").status_code == 404
    key_b.refresh_from_db()
    assert key_b.revoked_at is None


def test_a_rate_limit_window_always_expires(cast: Cast) -> None:
    """The counter and its expiry are set together, so a window cannot outlive itself."""
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache
    from redis.client import Pipeline, Redis

    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        pytest.skip("CACHE_URL names no Redis server (the launcher always starts one)")
    limit = ratelimit.Limit("expiry-probe", 5, 1)
    assert ratelimit.hit(limit, "someone") == 1
    # One MULTI: the window's expiry and the count in one round trip, never two commands.
    with (
        patch.object(Redis, "execute_command", side_effect=AssertionError("a lone command")),
        patch.object(Pipeline, "execute", autospec=True, side_effect=Pipeline.execute) as multi,
    ):
        assert ratelimit.hit(limit, "someone") == 2
    assert multi.call_count == 1
    full_key = backend.make_and_validate_key(ratelimit._key(limit, "someone"))
    ttl = backend._cache.get_client(full_key).ttl(full_key)
    assert 0 < ttl <= 1
    import time

    time.sleep(1.1)
    assert ratelimit.hit(limit, "someone") == 1
