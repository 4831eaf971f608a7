"""Which proxies are trusted to say who the client is, and what they say.

TRUSTED_PROXIES (settings, from the environment) lists the addresses or networks of our own
reverse proxies; empty, the default, trusts nobody. A request from anywhere else is taken
as it arrived: its X-Forwarded-* headers are removed (`ForwardedHeadersMiddleware`) and its
address is the connection's own. gunicorn reads the same variable (config/gunicorn.py).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Request headers only a trusted proxy may set.
FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PROTOCOL",
    "HTTP_X_FORWARDED_SSL",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """`10.0.0.0/8`, `192.0.2.7`, `::1`: each a network; anything else stops start-up."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES must list IP addresses or networks, not {entry!r}"
            ) from None
    return tuple(networks)


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(entries)


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 192.0.2.1:443
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_trusted(address: str) -> bool:
    parsed = _address(address)
    return parsed is not None and any(parsed in network for network in trusted_networks())


def client_address(meta: Mapping[str, str]) -> str:
    """The client's address: the connection's own, unless it is one of our proxies.

    From a trusted proxy, X-Forwarded-For is read from the right (each proxy appends the
    peer it saw), skipping our own proxies; the first address that is not ours is the
    client. Everything to its left is whatever the client chose to send.
    """
    remote = (meta.get("REMOTE_ADDR") or "").strip()
    if not remote or not is_trusted(remote):
        return remote or "unknown"
    hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if _address(hop) is None:
            # Garbage in the chain: the last hop we could trust is the one that passed it.
            return remote
        if not is_trusted(hop):
            return str(_address(hop))
        remote = hop
    return remote


class ForwardedHeadersMiddleware:
    """X-Forwarded-* from anyone but a trusted proxy are removed before anything reads them.

    Django honours SECURE_PROXY_SSL_HEADER from every client; after this middleware only a
    trusted proxy can make a request count as https. First in MIDDLEWARE.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # A malformed TRUSTED_PROXIES stops start-up here, not on the first request.
        networks = trusted_networks()
        if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and not networks:
            logger.warning(
                "BEHIND_TLS_PROXY is on but TRUSTED_PROXIES is empty: X-Forwarded-Proto is "
                "ignored from every address. Set TRUSTED_PROXIES to the proxy's addresses."
            )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_trusted(request.META.get("REMOTE_ADDR", "")):
            for name in FORWARDED_HEADERS:
                request.META.pop(name, None)
        return self.get_response(request)
