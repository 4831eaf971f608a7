"""Only TRUSTED_PROXIES may say who the client is: a forged X-Forwarded-For or
X-Forwarded-Proto from anyone else changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from config.proxies import client_address
from tests.conftest import Cast, host_of

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"
EDGE = "10.0.0.3"


def reset_request(client: Client, **headers: str) -> int:
    return client.post(
        "/accounts/password/reset/", {"email": "x@alpha.example"}, headers=headers
    ).status_code


@pytest.fixture
def behind_tls(settings: object) -> object:
    """As deployed: BEHIND_TLS_PROXY on, which used to switch on trust in X-Forwarded-For."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.PUBLIC_FORM_RATE_LIMIT = 2
    return settings


def test_a_forged_forwarded_for_from_a_direct_client_keeps_its_bucket(
    cast: Cast, behind_tls: object
) -> None:
    behind_tls.TRUSTED_PROXIES = []
    client = Client(HTTP_HOST=host_of(cast.org_a), REMOTE_ADDR="203.0.113.9")
    assert reset_request(client, x_forwarded_for="198.51.100.1") == 302
    assert reset_request(client, x_forwarded_for="198.51.100.2") == 302
    # A third address of its own invention does not buy it a fresh allowance.
    assert reset_request(client, x_forwarded_for="198.51.100.3") == 429
    assert reset_request(client, x_forwarded_for="1.1.1.1, 198.51.100.4") == 429


def test_a_direct_client_is_not_believed_even_when_a_proxy_is_configured(
    cast: Cast, behind_tls: object
) -> None:
    behind_tls.TRUSTED_PROXIES = ["10.0.0.0/8"]
    client = Client(HTTP_HOST=host_of(cast.org_a), REMOTE_ADDR="203.0.113.9")
    statuses = [reset_request(client, x_forwarded_for=f"198.51.100.{n}") for n in range(3)]
    assert statuses == [302, 302, 429]


def test_two_clients_behind_the_trusted_proxies_get_two_buckets(
    cast: Cast, behind_tls: object
) -> None:
    """client -> edge proxy (10.0.0.3) -> ingress (10.0.0.2) -> app: the client is the
    right-most address that is not one of ours, whatever it claimed to its left."""
    behind_tls.TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = Client(HTTP_HOST=host_of(cast.org_a), REMOTE_ADDR=PROXY)
    first = f"203.0.113.1, {EDGE}"
    second = f"203.0.113.2, {EDGE}"
    assert reset_request(proxy, x_forwarded_for=first) == 302
    assert reset_request(proxy, x_forwarded_for="6.6.6.6, " + first) == 302
    assert reset_request(proxy, x_forwarded_for="7.7.7.7, " + first) == 429
    assert reset_request(proxy, x_forwarded_for=second) == 302


def test_a_forged_forwarded_proto_does_not_make_a_direct_request_secure(
    cast: Cast, behind_tls: object
) -> None:
    behind_tls.TRUSTED_PROXIES = [PROXY]
    behind_tls.SECURE_SSL_REDIRECT = True
    direct = Client(HTTP_HOST=host_of(cast.org_a), REMOTE_ADDR="203.0.113.9")
    response = direct.get("/accounts/login/", headers={"x_forwarded_proto": "https"})
    assert response.status_code == 301
    assert response["Location"].startswith("https://")
    proxied = Client(HTTP_HOST=host_of(cast.org_a), REMOTE_ADDR=PROXY)
    assert (
        proxied.get("/accounts/login/", headers={"x_forwarded_proto": "https"}).status_code == 200
    )


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        ([], "203.0.113.9", "198.51.100.1", "203.0.113.9"),
        ([], "10.0.0.2", "198.51.100.1", "10.0.0.2"),
        (["10.0.0.0/8"], "10.0.0.2", "", "10.0.0.2"),
        (["10.0.0.0/8"], "10.0.0.2", "198.51.100.1", "198.51.100.1"),
        (["10.0.0.0/8"], "10.0.0.2", "1.2.3.4, 198.51.100.1, 10.0.0.3", "198.51.100.1"),
        (["10.0.0.0/8"], "10.0.0.2", "10.0.0.9, 10.0.0.3", "10.0.0.9"),
        (["10.0.0.0/8"], "10.0.0.2", "198.51.100.1, not-an-address", "10.0.0.2"),
        (["10.0.0.2", "::1"], "::1", "2001:db8::7", "2001:db8::7"),
        (["10.0.0.2"], "10.0.0.2", "198.51.100.1:51234", "198.51.100.1"),
    ],
)
def test_the_client_is_the_right_most_address_that_is_not_a_trusted_proxy(
    settings: object, trusted: list[str], remote: str, forwarded: str, expected: str
) -> None:
    settings.TRUSTED_PROXIES = trusted
    meta = {"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": forwarded}
    assert client_address(meta) == expected
