"""A database connection lost in the middle of a request (the server restarted or failed
over, the connection was killed, a network blip) is answered with 503 and "nothing was saved,
try again in a moment", never a 500.

It is true that nothing was saved: every operation a view calls is one transaction, which
PostgreSQL rolls back when its connection goes. The broken connection is closed here, so the
next query (of this request's way out, or of the next request on this process) opens a new
one; trying again then works.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext, gettext_noop

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
# Marked for translation: the 503 page shows it in the visitor's language (the API's answer
# stays in English).
MESSAGE = gettext_noop(
    "Our database could not finish this just now, so nothing was saved. "
    "Please try again in a moment."
)
# The read API answers its errors in its own shape (feedback/api.py `error`).
API_PREFIX = "/api/"


class DatabaseFaultMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # InterfaceError: a query on a connection already closed; OperationalError: the
        # server went away (or refused, or gave up on a lock or a deadlock) while a query
        # ran. Either way the operation's transaction was rolled back.
        if not isinstance(exception, InterfaceError | OperationalError):
            return None
        discard_broken_connections()
        match = request.resolver_match
        # The view's name, never the path: paths can carry tokens.
        logger.warning(
            "database unavailable during %s %s (%s); answered 503",
            request.method,
            match.view_name if match else "an unrouted view",
            exception.__class__.__name__,
        )
        response = database_unavailable(request)
        # Logged above, as a warning: Django would log every 5xx again, as an error.
        response._has_been_logged = True
        return response


def discard_broken_connections() -> None:
    """Close every open connection that is not inside a transaction block (one still inside
    is rolled back and closed by that block's exit), so the next query reconnects rather than
    failing again on the dead one. Closing a healthy one only costs a reconnection."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.in_atomic_block:
            connection.close()


def database_unavailable(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        from feedback.api import error

        response = error(request, 503, MESSAGE)
    else:
        # Rendered without the request: the context processors would query the database.
        response = HttpResponse(
            render_to_string("503.html", {"message": gettext(MESSAGE)}), status=503
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
