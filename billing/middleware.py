"""Refuse writes to a workspace that the organisation's subscription makes read-only
(billing/access.py decides, from the gate's answer for the request; this only answers).
Pages that need a capability of the plan say so themselves (tenants.gate.requires_capability)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from billing.access import read_only_refusal
from billing.provider import refusal_page


class BillingAccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        standing = read_only_refusal(request)
        if standing is None:
            return self.get_response(request)
        return refusal_page(request, "billing/read_only.html", standing)
