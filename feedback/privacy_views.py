"""The public privacy notice at /privacy/ (hub only): what Carevoice keeps about the people
who tell their stories, for how long, who sees it, and how to use each right.

The retention periods come from the same settings the nightly retention task uses
(feedback/retention.py), so the notice and the task cannot disagree."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_safe

ICO_COMPLAINTS_URL = "https://ico.org.uk/make-a-complaint/"
ICO_HELPLINE = "0303 123 1113"


def period(days: int) -> str:
    """A number of days as people say it: "a year", "2 years", "90 days"."""
    if days % 365 == 0:
        years = days // 365
        if years == 1:
            return gettext("a year")
        return ngettext("%(count)d year", "%(count)d years", years) % {"count": years}
    if days == 1:
        return gettext("a day")
    return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}


@require_safe
def privacy_notice(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "hub/privacy.html",
        {
            "contact_period": period(settings.AUTHOR_CONTACT_RETENTION_DAYS),
            "contact_days": settings.AUTHOR_CONTACT_RETENTION_DAYS,
            "rejected_period": period(settings.REJECTED_TEXT_RETENTION_DAYS),
            "rejected_days": settings.REJECTED_TEXT_RETENTION_DAYS,
            "controller": settings.DATA_CONTROLLER,
            "privacy_contact": settings.PRIVACY_CONTACT,
            "ico_url": ICO_COMPLAINTS_URL,
            "ico_helpline": ICO_HELPLINE,
        },
    )
