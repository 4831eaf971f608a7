"""QuickSelect (feedback/quick_widgets.py) draws the same select as Django's template-drawn
one, with every value and label escaped."""

from __future__ import annotations

import pytest
from django import forms
from django.test.html import parse_html

from feedback.forms import InboxForm
from feedback.quick_widgets import QuickSelect

CHOICES = [
    ("", "Any"),
    (1, "Ward 7 (St Mary's)"),
    (2, '<script>alert("x")</script> & "quotes"'),
    ("a&b", "Value & label"),
]


@pytest.mark.parametrize("value", [None, "", 1, "1", 2, "a&b", "not a choice"])
@pytest.mark.parametrize("attrs", [None, {"id": "id_service", "required": True, "disabled": False}])
def test_it_draws_what_djangos_select_draws(value: object, attrs: dict | None) -> None:
    quick = QuickSelect(choices=CHOICES).render("service", value, attrs=attrs)
    django = forms.Select(choices=CHOICES).render("service", value, attrs=attrs)
    assert parse_html(quick) == parse_html(django)


def test_labels_and_values_are_escaped() -> None:
    drawn = QuickSelect(choices=CHOICES).render("service", None)
    assert "<script>" not in drawn
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;" in drawn
    assert 'value="a&amp;b"' in drawn


@pytest.mark.django_db
def test_the_inbox_form_draws_the_same_with_either_widget(cast: object) -> None:
    from django_tenants.utils import tenant_context

    with tenant_context(cast.org_a):  # type: ignore[attr-defined]
        data = {"criticality": "mildly critical", "responded": "no", "q": "<b>"}
        quick = InboxForm(data)
        plain = InboxForm(data)
        for field in plain.fields.values():
            if isinstance(field.widget, QuickSelect):
                field.widget = forms.Select(choices=field.choices)
        assert quick.is_valid()
        assert plain.is_valid()
        for name in quick.fields:
            assert parse_html(str(quick[name])) == parse_html(str(plain[name])), name
