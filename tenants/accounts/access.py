"""Who may do what in an organisation's workspace. Every tenant view checks access here."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from tenants.accounts.models import Role


def require_role(request: HttpRequest, role: Role | str) -> None:
    """Raise PermissionDenied unless the signed-in account holds `role` (or a higher one)."""
    user = request.user
    if not user.is_authenticated or not user.has_role(role):
        raise PermissionDenied(f"This needs the {Role(role).label.lower()} role.")


def role_required(
    role: Role | str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Sign-in first (redirect), then the role (403)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            require_role(request, role)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
