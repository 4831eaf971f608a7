"""A scan of the paper form holds the author's story as surely as the typed text does: it
goes when the story is withdrawn, and when retention purges a rejected story's text."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from feedback.hub.models import Submission
from feedback.moderation import Decision, publish_submission, reject_submission
from feedback.retention import apply_retention
from feedback.withdrawal import withdraw_story
from tests.conftest import Cast
from tests.entering.test_entering import (
    fields,
    make_story_taker,
    pdf_bytes,
    staff_client,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings: object, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _entered(cast: Cast, title: str) -> Submission:
    make_story_taker(cast, cast.org_a, cast.member_a)
    client = staff_client(cast.org_a, cast.member_a.email)
    response = client.post(
        "/stories/enter/",
        fields(
            [cast.ward_a.pk],
            title=title,
            scan=SimpleUploadedFile("form.pdf", pdf_bytes(), content_type="application/pdf"),
        ),
    )
    assert response.status_code == 302, response.content.decode()[:1000]
    submission = Submission.objects.get(title=title)
    assert submission.scan
    return submission


def test_withdrawing_the_story_deletes_its_scan(
    cast: Cast, media: Path, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    submission = _entered(cast, "Withdrawn with its scan")
    kept = _entered(cast, "Kept with its scan")
    file = media / submission.scan
    assert file.is_file()
    publish_submission(
        submission.pk,
        moderator=cast.moderator,
        decision=Decision("mildly critical", ["what was good:kind staff"], [cast.ward_a]),
    )
    with django_capture_on_commit_callbacks(execute=True):
        withdraw_story(submission.pk, moderator=cast.moderator, note="Checked by phone")
    assert not file.exists()
    assert Submission.objects.get(pk=submission.pk).scan == ""
    # Another story's scan stays.
    assert (media / kept.scan).is_file()


def test_retention_purges_a_rejected_storys_scan_with_its_text(
    cast: Cast, media: Path, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    submission = _entered(cast, "Rejected with its scan")
    file = media / submission.scan
    reject_submission(submission.pk, moderator=cast.moderator, reason="not about care")
    # Not yet past keeping: the scan stays.
    with django_capture_on_commit_callbacks(execute=True):
        apply_retention()
    assert file.is_file()
    days = settings.REJECTED_TEXT_RETENTION_DAYS + 1
    Submission.objects.filter(pk=submission.pk).update(
        moderated_at=timezone.now() - timedelta(days=days)
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = apply_retention()
    assert run.rejected_purged == 1
    assert not file.exists()
    assert Submission.objects.get(pk=submission.pk).scan == ""
