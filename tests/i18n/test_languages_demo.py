"""The demo has a Welsh-default organisation and a story told and published in Welsh, made
through the product's own operations; seeding again adds nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from feedback.hub.models import PublicStory, Submission
from feedback.languages_demo import SLUG, TITLE
from tenants.audit.models import AuditEvent
from tenants.models import Organisation
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    return out.getvalue()


def test_the_demo_has_a_welsh_organisation_and_a_welsh_story() -> None:
    output = _seed()
    hospice = Organisation.objects.get(slug=SLUG)
    assert hospice.default_language == "cy"
    with tenant_context(hospice):
        assert (
            AuditEvent.objects.filter(action="organisation.default_language_changed").count() == 1
        )
    story = PublicStory.objects.get(title=TITLE)
    assert story.language == "cy" and "### Beth oedd yn dda" in story.body
    assert f"/stories/{story.pk}/?language=cy" in output
    assert "?language=cy" in output

    _seed()
    assert Submission.objects.filter(title=TITLE).count() == 1  # idempotent
    with tenant_context(hospice):
        assert (
            AuditEvent.objects.filter(action="organisation.default_language_changed").count() == 1
        )

    page = client_for(None).get(f"/stories/{story.pk}/?language=cy").content.decode()
    assert '<html lang="cy">' in page and TITLE in page and "Ymatebion" in page
    widget = client_for(None).get(f"/o/{SLUG}/widget/", HTTP_ACCEPT_LANGUAGE="en-GB")
    assert '<html lang="cy">' in widget.content.decode()
