"""The demo has a story taker, and a paper story with its scan waiting in moderation, entered
by them through the product's own operation; seeding again adds nothing."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from feedback.entering_demo import TITLE
from feedback.hub.models import Submission, SubmissionState
from tenants.accounts.models import User
from tenants.models import Organisation
from tests.conftest import client_for, sign_in_demo_moderator

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    return out.getvalue()


def test_the_demo_has_a_paper_story_with_its_scan_waiting_in_moderation(
    settings: object, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    output = _seed()
    trust = Organisation.objects.get(slug="northshire-hospitals")
    submission = Submission.objects.get(title=TITLE)
    assert submission.state == SubmissionState.PENDING and submission.route == "paper"
    assert submission.staff_entered and submission.entered_by_organisation_id == trust.pk
    assert submission.consent_given == "signed the paper form"
    scan = tmp_path / submission.scan
    assert submission.scan.startswith(f"scans/{trust.schema_name}/")
    assert scan.read_bytes().startswith(b"%PDF-")
    with tenant_context(trust):
        assert list(User.objects.filter(is_story_taker=True).values_list("email", flat=True)) == [
            "member@northshire-hospitals.example"
        ]
    assert trust.workspace_url("/stories/enter/") in output
    assert f"/moderation/{submission.pk}/" in output

    _seed()
    assert Submission.objects.filter(title=TITLE).count() == 1  # idempotent

    moderator = client_for(None)
    sign_in_demo_moderator(moderator)
    page = moderator.get(f"/moderation/{submission.pk}/").content.decode()
    assert "Staff-entered" in page and "Sam Jones" in page
    fetched = moderator.get(f"/moderation/{submission.pk}/scan/")
    assert fetched.status_code == 200 and fetched["Content-Type"] == "application/pdf"
