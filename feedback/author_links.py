"""Signed links that let a story's author act on one response without an account.

A link names one response of one story, expires, and cannot be bent to reach another."""

from __future__ import annotations

from django.core import signing

from feedback.hub.models import PublicResponse

SALT = "carevoice.author-response-link"
MAX_AGE_SECONDS = 60 * 24 * 60 * 60  # 60 days


def make_token(response: PublicResponse) -> str:
    return signing.dumps({"r": response.pk, "s": response.public_story_id}, salt=SALT)


def response_for_token(token: str) -> PublicResponse | None:
    """The response the token was made for, or None if it is forged, altered or expired."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict):
        return None
    return (
        PublicResponse.objects.select_related("public_story")
        .filter(pk=data.get("r"), public_story_id=data.get("s"))
        .first()
    )
