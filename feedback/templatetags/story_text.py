from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from feedback.rendering import excerpt, render_markdown

register = template.Library()


@register.filter
def story_markdown(text: str) -> SafeString:
    return render_markdown(text or "")


@register.filter
def story_excerpt(text: str, words: int = 40) -> str:
    return excerpt(text or "", int(words))
