"""Story text: composing the Markdown body from the author's answers, and rendering it.

Authors type plain text. Anything that looks like HTML is escaped before Markdown sees it,
so it shows as the characters typed, and the result is sanitised again on the way out.
"""

from __future__ import annotations

import html

import markdown
import nh3
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

SECTIONS = (
    ("what_was_good", _("What was good")),
    ("what_could_be_improved", _("What could be improved")),
    ("how_it_felt", _("How it made me feel")),
)
ALLOWED_TAGS = {"p", "strong", "em", "h3", "ul", "ol", "li", "br", "blockquote"}


def compose_body(answers: dict[str, str], language: str = "en") -> str:
    """The story's Markdown body from the three prompts, skipping empty ones; its headings in
    the story's own language (feedback/languages.py)."""
    from feedback.languages import interface_language

    parts = []
    with translation.override(interface_language(language)):
        for field, heading in SECTIONS:
            text = (answers.get(field) or "").strip()
            if text:
                parts.append(f"### {heading}\n\n{text}")
    return "\n\n".join(parts)


def render_markdown(text: str) -> SafeString:
    rendered = markdown.markdown(html.escape(text, quote=False), output_format="html")
    return mark_safe(nh3.clean(rendered, tags=ALLOWED_TAGS, attributes={}))  # noqa: S308


def excerpt(text: str, words: int = 40) -> str:
    """Plain text, the first `words` words, without Markdown headings."""
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    tokens = " ".join(lines).split()
    return " ".join(tokens[:words]) + ("…" if len(tokens) > words else "")
