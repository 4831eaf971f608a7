from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from feedback.rendering import excerpt, render_markdown

register = template.Library()


@register.filter
def story_markdown(text: str) -> SafeString:
    return render_markdown(text or "")


KIND_LABELS = {
    "name": "name",
    "nhs_number": "NHS number",
    "phone": "phone number",
    "email": "email address",
    "postcode": "postcode",
    "date_of_birth": "date of birth",
    "url": "link",
    "record_number": "hospital or record number",
    "address": "address",
}


@register.filter
def detail_kind(kind: str) -> str:
    """How a kind of personal detail is named to a moderator."""
    return KIND_LABELS.get(str(kind), str(kind))


@register.filter
def story_excerpt(text: str, words: int = 40) -> str:
    return excerpt(text or "", int(words))
