"""Form widgets written out in Python, for forms drawn on every request of a busy page.

Django draws a select through a template for the select and an included template for each
option: for the inbox's filter form (about eighty options) that was a fifth of the page's
time at 200,000 stories (benchmarks/inbox.py). `QuickSelect` writes the same HTML
directly, with every value and label escaped by format_html.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe


class QuickSelect(forms.Select):
    """A single-choice select without option groups, drawn like Django's own."""

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: Any = None,
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join(
            "\n",
            '  <option value="{}"{}>{}</option>',
            (
                (
                    str(option["value"]),
                    mark_safe(" selected") if option["selected"] else "",
                    option["label"],
                )
                for _, group, _ in widget["optgroups"]
                for option in group
            ),
        )
        return format_html(
            '<select name="{}"{}>\n{}\n</select>', widget["name"], flatatt(widget["attrs"]), options
        )
