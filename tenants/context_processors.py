from __future__ import annotations

from django.http import HttpRequest


def organisation(request: HttpRequest) -> dict[str, object]:
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.is_hub:
        return {"organisation": None}
    return {"organisation": tenant}
