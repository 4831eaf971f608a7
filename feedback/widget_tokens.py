"""What a story sent from the embedded widget carries instead of Django's CSRF cookie.

The widget lives in a frame on a trust's own website, which is another site than the hub.
Browsers do not send `SameSite=Lax` cookies (Django's CSRF cookie, the session) with a POST
from such a frame, so the widget's form needs no cookie and carries its own proof instead:

- a signed form token (`issue_form_token`): the organisation, a random nonce and, through
  `TimestampSigner`, the time it was issued. It is good for `TOKEN_LIFETIME`, for that
  organisation's widget only, and for one story (`redeem_form_token` records each nonce in
  the cache for as long as the token could be used);
- the Origin header (`is_allowed_origin`): a browser says where a POST comes from. Only the
  hub itself (the form inside the frame posts to its own origin) or a site the organisation
  listed may post; a POST that names no origin relies on the token alone.

The honeypot and the public-form rate limit apply as to every other story form.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from enum import Enum
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_noop

from tenants.models import Organisation
from tenants.schemas import public_schema

SALT = "feedback.widget.story-form"
# Long enough to write a story at one's own pace; an older form is sent again with one click.
TOKEN_LIFETIME = timedelta(hours=2)
# A real token is about 90 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 400
DEFAULT_PORTS = {"http": 80, "https": 443}
# An organisation's listed host (tenants.models.EMBED_HOST has already validated it).
LISTED_HOST = re.compile(
    r"^(?:(?P<scheme>https)://)?(?P<wildcard>\*\.)?(?P<name>[^:]+)(?::(?P<port>\d+))?$"
)


class TokenProblem(Enum):
    """Why a form token did not let a story through, in words for its author."""

    MISSING_OR_ALTERED = gettext_noop(
        "We could not check that this form came from this page. Press “Send my story” "
        "again; if this keeps happening, copy your story somewhere safe and reload the page."
    )
    EXPIRED = gettext_noop(
        "This form was open for too long, so we could not accept it. Nothing you typed is "
        "lost: check it below and press “Send my story” again."
    )
    ALREADY_USED = gettext_noop(
        "This form has already sent a story. To send another, check it below and press "
        "“Send my story” again."
    )

    @property
    def message(self) -> str:
        # In the visitor's language (feedback/languages.py).
        prefix = gettext("Your story has not been sent yet.")
        return f"{prefix} {gettext(self.value)}"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def _nonce_key(nonce: str) -> str:
    return f"widget-form-token:{nonce}"


def issue_form_token(organisation: Organisation) -> str:
    """A token for one story sent through `organisation`'s widget form."""
    return _signer().sign_object({"o": organisation.pk, "n": secrets.token_urlsafe(16)})


def redeem_form_token(token: str, organisation: Organisation) -> TokenProblem | None:
    """Spend `token` on a story for `organisation`; None if it may be sent."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return TokenProblem.MISSING_OR_ALTERED
    try:
        payload = _signer().unsign_object(token, max_age=TOKEN_LIFETIME)
    except signing.SignatureExpired:
        return TokenProblem.EXPIRED
    except signing.BadSignature:
        return TokenProblem.MISSING_OR_ALTERED
    if not isinstance(payload, dict):
        return TokenProblem.MISSING_OR_ALTERED
    nonce = payload.get("n")
    if payload.get("o") != organisation.pk or not isinstance(nonce, str):
        # Signed by us, but for another organisation's widget.
        return TokenProblem.MISSING_OR_ALTERED
    # TRICKY: `add` is atomic (SET NX on Redis): of two posts racing with one token, one wins.
    # Kept a little beyond the token's lifetime, so the record outlives the token.
    lifetime = int(TOKEN_LIFETIME.total_seconds()) + 60
    with public_schema():
        if not cache.add(_nonce_key(nonce), True, timeout=lifetime):
            return TokenProblem.ALREADY_USED
    return None


def is_allowed_origin(request: HttpRequest, organisation: Organisation) -> bool:
    """Whether a POST to `organisation`'s widget comes from somewhere allowed to send one."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    own_scheme = "https" if request.is_secure() else "http"
    if origin == f"{own_scheme}://{request.get_host()}" or origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    try:
        parts = urlsplit(origin)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return False
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.path:
        return False
    return any(
        _listed_host_matches(listed, parts.scheme, parts.hostname, port, own_scheme)
        for listed in organisation.embed_hosts
    )


def _listed_host_matches(
    listed: str, scheme: str, hostname: str, port: int | None, own_scheme: str
) -> bool:
    """The rule Content-Security-Policy applies to the same host in `frame-ancestors`."""
    match = LISTED_HOST.match(listed.lower())
    if match is None:
        return False
    # A host without a scheme means this page's own scheme, or https.
    if (match["scheme"] or own_scheme) == "https" and scheme != "https":
        return False
    listed_port = int(match["port"]) if match["port"] else DEFAULT_PORTS[scheme]
    if port != listed_port:
        return False
    name = match["name"]
    if match["wildcard"]:
        return hostname.endswith(f".{name}")
    return hostname == name
