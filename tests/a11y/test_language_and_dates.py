"""Fast accessibility checks: every page declares its language, and every date a form takes
is a UK date (DD/MM/YYYY typed, or the ISO date a browser's date input sends), shown in a
date input in the only form it can show (YYYY-MM-DD; the browser displays it in the page's
language, en-GB: DD/MM/YYYY)."""

from __future__ import annotations

import importlib
import inspect
import re
from datetime import date
from pathlib import Path

import pytest
from django import forms
from django.conf import settings
from django.utils import translation

from tests.conftest import Cast, client_for

ROOT = Path(settings.BASE_DIR)
SKIPPED_DIRS = {".venv", "node_modules", "tests", ".git", "staticfiles"}
HTML_TAG = re.compile(r"<html\b[^>]*>", re.IGNORECASE)
# The product's own packages (pyproject.toml's [tool.setuptools.packages.find]).
PACKAGES = {"config", "tenants", "billing", "feedback", "dashboards", "alerts", "onboarding"}
DECLARES_LANGUAGE = re.compile(r"""\slang=["'][^"']+["']""", re.IGNORECASE)


def project_files(pattern: str) -> list[Path]:
    return sorted(
        path for path in ROOT.rglob(pattern) if not SKIPPED_DIRS & set(path.relative_to(ROOT).parts)
    )


def test_every_page_template_declares_its_language() -> None:
    pages = {}
    for path in project_files("*.html"):
        if "templates" not in path.parts:
            continue
        tag = HTML_TAG.search(path.read_text(encoding="utf-8"))
        if tag:
            pages[str(path.relative_to(ROOT))] = tag.group(0)
    # The base page, the widget's and the display screen's, and the bare error pages.
    assert len(pages) >= 4, pages
    missing = {path: tag for path, tag in pages.items() if not DECLARES_LANGUAGE.search(tag)}
    assert not missing, f"pages that do not say what language they are in: {missing}"


@pytest.mark.django_db
def test_rendered_pages_say_they_are_in_british_english(cast: Cast) -> None:
    hub = client_for(None)
    workspace = client_for(cast.org_a)
    for client, path in (
        (hub, "/"),
        (hub, "/tell/"),
        (hub, f"/o/{cast.org_a.slug}/widget/"),
        (hub, f"/o/{cast.org_a.slug}/kiosk/"),
        (workspace, "/accounts/login/"),
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        tag = HTML_TAG.search(page.content.decode())
        assert tag and re.search(r'lang="en-gb"', tag.group(0), re.IGNORECASE), (path, tag)


def _form_date_fields() -> list[tuple[str, str, forms.DateField]]:
    """Every DateField of every form class in the project's own modules."""
    found = []
    for path in project_files("*.py"):
        parts = path.relative_to(ROOT).parts
        if parts[0] not in PACKAGES or "migrations" in parts:
            continue
        text = path.read_text(encoding="utf-8")
        if "DateField(" not in text and "DateInput(" not in text:
            continue
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for name, cls in vars(module).items():
            if not (inspect.isclass(cls) and issubclass(cls, forms.BaseForm)):
                continue
            if cls.__module__ != module.__name__:
                continue
            for field_name, field in cls.base_fields.items():
                if isinstance(field, forms.DateField):
                    found.append((f"{module.__name__}.{name}", field_name, field))
    return found


DATE_FIELDS = _form_date_fields()
LANGUAGES = ["en-gb", *[code for code, _ in settings.LANGUAGES if code not in ("en-gb", "en")]]


def test_the_project_has_date_fields_to_check() -> None:
    forms_with_dates = {form for form, _, _ in DATE_FIELDS}
    # The inbox, reports, committee actions and bank holidays, at least.
    assert len(forms_with_dates) >= 4, forms_with_dates


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("form", "name", "field"), DATE_FIELDS, ids=[f"{f}.{n}" for f, n, _ in DATE_FIELDS]
)
def test_a_date_field_takes_a_uk_date(
    form: str, name: str, field: forms.DateField, language: str
) -> None:
    with translation.override(language):
        # 2 March, never 3 February.
        assert field.clean("02/03/2026") == date(2026, 3, 2)
        assert field.clean("2/3/2026") == date(2026, 3, 2)
        # What a browser's date input sends.
        assert field.clean("2026-03-02") == date(2026, 3, 2)
        with pytest.raises(forms.ValidationError):
            field.clean("13/13/2026")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("form", "name", "field"), DATE_FIELDS, ids=[f"{f}.{n}" for f, n, _ in DATE_FIELDS]
)
def test_a_date_input_shows_the_date_it_was_given(
    form: str, name: str, field: forms.DateField, language: str
) -> None:
    """A browser's date input takes its value only as YYYY-MM-DD (and shows it in the page's
    language); any other value it drops, so a chosen filter date would vanish."""
    with translation.override(language):
        html = field.widget.render(name, date(2026, 3, 2))
    if 'type="date"' in html:
        assert 'value="2026-03-02"' in html, f"{form}.{name}: {html}"
    else:  # a text date is shown the UK way
        assert 'value="02/03/2026"' in html, f"{form}.{name}: {html}"
