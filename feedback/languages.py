"""Languages of the public pages and of stories (issue #18, "Welsh, and any other language").

Public pages (the hub, the story form, widget, kiosk, display screen, author pages and the
emails to authors) are translated with Django's machinery; the catalogues live in
``locale/<code>/LC_MESSAGES``. Which language a public page is shown in, first match wins:

1. ``?language=cy`` on the address (links in the widget and kiosk, where a cookie set inside
   another site's frame may not be kept); it is then remembered in the language cookie;
2. the visitor's own choice, remembered in the language cookie (the switch in the header);
3. for an organisation's widget, kiosk, display screen and organisation page, the
   organisation's default language (``Organisation.default_language``), if it set one;
4. the browser's ``Accept-Language``;
5. ``settings.LANGUAGE_CODE`` (British English).

Staff workspaces (each organisation's own host) stay in English: the catalogues cover only
public pages.

A story is recorded in the language it was told in (``StoryLanguage``, ISO 639-1 codes for the
API), and published in it; emails to its author are written in that language.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django_tenants.utils import get_public_schema_name


class StoryLanguage(models.TextChoices):
    ENGLISH = "en", "English"
    WELSH = "cy", "Cymraeg (Welsh)"


# Interface language (settings.LANGUAGES) for each story language, and back.
_INTERFACE_FOR_STORY = {StoryLanguage.ENGLISH: "en-gb", StoryLanguage.WELSH: "cy"}


def story_language(interface_language: str | None = None) -> str:
    """The story language for an interface language (default: the active one)."""
    code = (interface_language or translation.get_language() or "").lower()
    return StoryLanguage.WELSH if code.startswith("cy") else StoryLanguage.ENGLISH


def interface_language(story_language_code: str) -> str:
    """The interface language to write to a story's author in."""
    return _INTERFACE_FOR_STORY.get(story_language_code, settings.LANGUAGE_CODE)


def _supported(code: str | None) -> str | None:
    if not code:
        return None
    code = code.lower()
    for supported, _name in settings.LANGUAGES:
        if code == supported or code == supported.split("-")[0]:
            return supported
    return None


# Pages that belong to one organisation, on the hub: /o/<slug>/... and /organisations/<slug>/.
_ORGANISATION_PAGE = re.compile(r"^/(?:o|organisations)/(?P<slug>[-a-zA-Z0-9_]+)/")


def organisation_default_language(path: str) -> str | None:
    match = _ORGANISATION_PAGE.match(path)
    if match is None:
        return None
    from tenants.models import Organisation

    code = (
        Organisation.objects.filter(slug=match["slug"])
        .values_list("default_language", flat=True)
        .first()
    )
    return _supported(code)


# The hub's pages for organisations and platform staff, written in English only: a visitor
# who chose Welsh must not be told (<html lang="cy">) that they are in Welsh.
ENGLISH_ONLY_PATHS = ("/signup/", "/moderation/", "/admin/", "/billing/")


class PublicLocaleMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware for the hub's public pages; workspaces, sign-up, moderation
    and the platform's admin stay in English."""

    def process_request(self, request: HttpRequest) -> None:
        tenant = getattr(request, "tenant", None)
        english_only = request.path_info.startswith(ENGLISH_ONLY_PATHS)
        if english_only or (tenant is not None and tenant.schema_name != get_public_schema_name()):
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = translation.get_language()
            return
        chosen = _supported(request.GET.get("language"))
        if chosen:
            request._language_from_address = chosen
        else:
            chosen = _supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
        if not chosen:
            chosen = organisation_default_language(request.path_info)
        if chosen:
            translation.activate(chosen)
            request.LANGUAGE_CODE = translation.get_language()
            return
        super().process_request(request)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response = super().process_response(request, response)
        chosen = getattr(request, "_language_from_address", None)
        if chosen and chosen != request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME):
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                chosen,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response


def set_default_language(
    organisation: object,
    language: str,
    *,
    actor: object,
    request: HttpRequest | None = None,
) -> None:
    """An administrator sets the language of the organisation's widget, kiosk, display
    screens and organisation page for visitors who have not chosen one (blank: the
    visitor's browser decides). Audited in the organisation's schema."""
    from django.db import transaction

    from tenants.audit.recording import record_audit
    from tenants.models import Organisation

    allowed = [code for code, _ in Organisation._meta.get_field("default_language").choices]
    if language not in allowed:
        raise ValueError("Choose English, Welsh, or the visitor's own language.")
    with transaction.atomic():
        row = Organisation.objects.select_for_update().get(pk=organisation.pk)
        previous = row.default_language
        if previous == language:
            return
        row.default_language = language
        row.save(update_fields=["default_language"])
        record_audit(
            "organisation.default_language_changed",
            actor=actor,
            target=row,
            summary=f"Set the language of the public pages to {row.get_default_language_display()}",
            detail={"from": previous, "to": language},
            request=request,
        )
