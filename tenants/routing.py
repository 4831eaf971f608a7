"""Tenant routing: which organisation a request's host name belongs to.

django-tenants looks the host up in the public schema on every request, which costs a
query and a second `SET search_path`. Host → organisation changes rarely, so each process
keeps a short-lived copy; saves of organisations and domains clear it at once in the
saving process, and other processes see the change within the TTL.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_tenants.middleware.main import TenantMainMiddleware

from tenants.models import Domain, Organisation

_MISSING = object()
_lock = threading.Lock()
_by_host: dict[str, tuple[float, Any]] = {}


def tenant_for_host(hostname: str) -> Organisation:
    """The organisation serving `hostname`; raises Domain.DoesNotExist for unknown hosts."""
    now = time.monotonic()
    with _lock:
        cached = _by_host.get(hostname)
    if cached is not None and cached[0] > now:
        if cached[1] is _MISSING:
            raise Domain.DoesNotExist(hostname)
        # A copy: request.tenant must not be shared between concurrent requests.
        return copy.copy(cached[1])
    try:
        tenant = Domain.objects.select_related("tenant").get(domain=hostname).tenant
    except Domain.DoesNotExist:
        with _lock:
            _by_host[hostname] = (now + settings.TENANT_ROUTING_MISS_SECONDS, _MISSING)
        raise
    with _lock:
        _by_host[hostname] = (now + settings.TENANT_ROUTING_CACHE_SECONDS, tenant)
    return copy.copy(tenant)


def forget_routes() -> None:
    with _lock:
        _by_host.clear()


@receiver(post_save, sender=Organisation)
@receiver(post_delete, sender=Organisation)
@receiver(post_save, sender=Domain)
@receiver(post_delete, sender=Domain)
def _forget_routes_on_change(**kwargs: Any) -> None:
    forget_routes()


class CachedTenantMiddleware(TenantMainMiddleware):
    def get_tenant(self, domain_model: type[Domain], hostname: str) -> Organisation:
        return tenant_for_host(hostname)
