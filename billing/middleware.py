"""Refuse workspace requests that the organisation's subscription does not allow
(billing/access.py decides; this only answers)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from billing.access import refusal_for


class BillingAccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = refusal_for(request)
        if refusal is None:
            return self.get_response(request)
        template = (
            "billing/read_only.html" if refusal.reason == "read-only" else "billing/no_feature.html"
        )
        response = TemplateResponse(
            request,
            template,
            {
                "standing": refusal.standing,
                "feature": refusal.feature.label if refusal.feature else "",
                "grace_days": settings.BILLING_GRACE_DAYS,
            },
            status=403,
        )
        return response.render()
