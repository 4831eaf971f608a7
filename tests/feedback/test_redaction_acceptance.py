"""Accepting suggested redactions (feedback/moderation.py): which ticked suggestions take
effect, and that saving them is audited and all-or-nothing."""

from __future__ import annotations

from unittest import mock

import pytest
from django_tenants.utils import schema_context

from feedback.hub.models import Submission
from feedback.moderation import (
    MAX_REPLACEMENT_CHARACTERS,
    Edits,
    ModerationError,
    Ticked,
    accept_redactions,
    has_details_left,
    save_edits,
)
from tenants.audit.models import AuditEvent
from tests.conftest import Cast, tell

pytestmark = pytest.mark.django_db

GOOD = "Nurse Jo Bloggs was lovely. Call 07700 900123 or 07700 900123 again."
IMPROVE = "Email me at me@example.org please."


def texts() -> dict[str, str]:
    return {"what_was_good": GOOD, "what_could_be_improved": IMPROVE}


def test_ticked_suggestions_are_matched_by_their_words_in_the_text_as_left() -> None:
    accepted = accept_redactions(
        texts(),
        [
            Ticked("what_was_good", "Nurse Jo Bloggs", "  a nurse  "),
            # The same words ticked twice: the second takes their next place.
            Ticked("what_was_good", "07700 900123"),
            Ticked("what_was_good", "07700 900123", "x" * 100),
            # Words the moderator edited away, and a field not on the page: dropped.
            Ticked("what_could_be_improved", "someone@else.example"),
            Ticked("postcode", "LS1 4AP"),
        ],
    )
    assert set(accepted) == {"what_was_good"}
    name, first, second = accepted["what_was_good"]
    assert (name.text, name.replacement) == ("Nurse Jo Bloggs", "a nurse")
    assert first.text == second.text == "07700 900123" and first.start < second.start
    assert first.replacement == "[phone number removed]"
    assert second.replacement == "x" * MAX_REPLACEMENT_CHARACTERS


def test_details_left_are_those_not_redacted(cast: Cast) -> None:
    submission = Submission.objects.get(pk=tell([cast.ward_a], what_was_good=GOOD))
    everything = accept_redactions(
        texts(),
        [
            Ticked("what_was_good", "Nurse Jo Bloggs"),
            Ticked("what_was_good", "07700 900123"),
            Ticked("what_was_good", "07700 900123"),
        ],
    )
    assert not has_details_left(
        submission, Edits(texts={"what_was_good": GOOD}, redactions=everything)
    )
    some = {"what_was_good": everything["what_was_good"][:2]}
    assert has_details_left(submission, Edits(texts={"what_was_good": GOOD}, redactions=some))


def test_saving_accepted_redactions_writes_the_text_and_an_audit_row(cast: Cast) -> None:
    submission_id = tell([cast.ward_a], what_was_good=GOOD, what_could_be_improved=IMPROVE)
    redactions = accept_redactions(
        texts(),
        [
            Ticked("what_was_good", "Nurse Jo Bloggs", "a nurse"),
            Ticked("what_could_be_improved", "me@example.org"),
        ],
    )
    save_edits(
        submission_id, moderator=cast.moderator, edits=Edits(texts=texts(), redactions=redactions)
    )
    with schema_context("public"):
        submission = Submission.objects.get(pk=submission_id)
        assert submission.what_was_good.startswith("a nurse was lovely.")
        assert "me@example.org" not in submission.what_could_be_improved
        # The stored findings are those of the new text.
        assert "Bloggs" not in str(submission.findings)
        event = AuditEvent.objects.get(action="moderation.edited", target_id=str(submission_id))
    assert event.actor_id == cast.moderator.pk
    assert event.detail == {"redacted": {"name": 1, "email": 1}}
    assert "Bloggs" not in event.summary and "example.org" not in str(event.detail)


def test_redactions_that_cannot_all_be_saved_save_none(cast: Cast) -> None:
    submission_id = tell([cast.ward_a], what_was_good=GOOD, what_could_be_improved=IMPROVE)
    redactions = accept_redactions(
        texts(),
        [
            Ticked("what_was_good", "Nurse Jo Bloggs", "a nurse"),
            # A replacement may not carry a NUL, which PostgreSQL cannot store.
            Ticked("what_could_be_improved", "me@example.org", "[address\x00]"),
        ],
    )
    with pytest.raises(ModerationError, match="null character"):
        save_edits(
            submission_id,
            moderator=cast.moderator,
            edits=Edits(texts=texts(), redactions=redactions),
        )
    with schema_context("public"):
        assert Submission.objects.get(pk=submission_id).what_was_good == GOOD
        assert not AuditEvent.objects.filter(action="moderation.edited").exists()


def test_the_redacted_text_and_its_audit_row_commit_or_roll_back_together(cast: Cast) -> None:
    submission_id = tell([cast.ward_a], what_was_good=GOOD, what_could_be_improved=IMPROVE)
    redactions = accept_redactions(texts(), [Ticked("what_was_good", "Nurse Jo Bloggs")])
    with (
        mock.patch("feedback.moderation.record_audit", side_effect=RuntimeError("audit down")),
        pytest.raises(RuntimeError, match="audit down"),
    ):
        save_edits(
            submission_id,
            moderator=cast.moderator,
            edits=Edits(texts=texts(), redactions=redactions),
        )
    with schema_context("public"):
        submission = Submission.objects.get(pk=submission_id)
    assert submission.what_was_good == GOOD
    assert "Bloggs" in str(submission.findings)
