"""Authors' contact details are encrypted with real Fernet keys, newest first; the keys are
checked at start-up and rotated with `manage.py rotate_contact_key`."""

from __future__ import annotations

import base64
import hashlib
import secrets
from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_context

from config import embedded
from feedback.hub.models import Submission
from feedback.moderation import reject_submission
from tenants.audit.models import AuditEvent
from tests.conftest import AUTHOR_EMAIL, AUTHOR_POSTCODE, Cast, tell
from tests.feedback.notices import send_notice

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def stored(submission_id: int) -> tuple[str, str]:
    """The email and postcode columns as the database holds them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT email, postcode FROM public.hub_submission WHERE id = %s", [submission_id]
        )
        return cursor.fetchone()


def overwrite_stored(submission_id: int, email: str, postcode: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE public.hub_submission SET email = %s, postcode = %s WHERE id = %s",
            [email, postcode, submission_id],
        )


def rotate() -> str:
    out = StringIO()
    call_command("rotate_contact_key", batch_size=2, stdout=out)
    return out.getvalue()


def test_contact_details_are_fernet_tokens_of_the_configured_key(cast: Cast) -> None:
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        submission_id = tell([cast.ward_a])
        email, postcode = stored(submission_id)
        assert AUTHOR_EMAIL not in email and AUTHOR_POSTCODE not in postcode
        # The key is the configured Fernet key itself, not something derived from it.
        assert Fernet(NEW_KEY).decrypt(email.encode()).decode() == AUTHOR_EMAIL
        assert Fernet(NEW_KEY).decrypt(postcode.encode()).decode() == AUTHOR_POSTCODE
        submission = Submission.objects.get(pk=submission_id)
        assert (submission.email, submission.postcode) == (AUTHOR_EMAIL, AUTHOR_POSTCODE)


def test_rotation_re_encrypts_every_row_so_the_old_key_can_be_dropped(cast: Cast) -> None:
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        ids = [tell([cast.ward_a], email=f"author{n}@example.net") for n in range(3)]
        without_email = tell([cast.ward_a], email="", postcode="")

    # 1. The new key goes in front; 2. rotate; 3. the old key is dropped.
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        output = rotate()
        # The three emails and postcodes, and the receipt notice each author with an email
        # is waiting for in the outbox (address, subject, text and HTML bodies).
        assert "re-encrypted 18 values in 6 rows" in output
        # Idempotent: a second run finds nothing left under an old key.
        assert "re-encrypted 0 values in 0 rows" in rotate()
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        for n, submission_id in enumerate(ids):
            submission = Submission.objects.get(pk=submission_id)
            assert submission.email == f"author{n}@example.net"
            assert submission.postcode == AUTHOR_POSTCODE
            email, _ = stored(submission_id)
            with pytest.raises(InvalidToken):
                Fernet(OLD_KEY).decrypt(email.encode())
        assert stored(without_email) == ("", "")
    with schema_context("public"):
        first, second = AuditEvent.objects.filter(action="platform.contact_key_rotated").order_by(
            "id"
        )
    assert first.actor is None and first.actor_label == "platform: manage.py rotate_contact_key"
    assert (first.detail["values"], first.detail["rows"]) == (18, 6)
    assert (second.detail["values"], second.detail["rows"]) == (0, 0)
    for event in (first, second):
        assert OLD_KEY not in str(event.detail) + event.summary
        assert NEW_KEY not in str(event.detail) + event.summary


def test_after_rotation_new_stories_reach_their_authors_with_only_the_new_key(
    cast: Cast,
) -> None:
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        tell([cast.ward_a])
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        rotate()
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        submission_id = tell([cast.ward_a], email="later.author@example.net")
        reject_submission(submission_id, moderator=cast.moderator, reason="spam")
        mail.outbox.clear()
        assert send_notice("rejection", submission_id)
        assert [message.to for message in mail.outbox] == [["later.author@example.net"]]


def test_values_under_the_old_derived_key_decrypt_while_the_old_secret_is_named(
    cast: Cast,
) -> None:
    """Before Fernet keys, any text was turned into a key through SHA-256."""
    old_text = "the-text-that-used-to-be-FIELD_ENCRYPTION_KEY"
    legacy = Fernet(base64.urlsafe_b64encode(hashlib.sha256(old_text.encode()).digest()))
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        submission_id = tell([cast.ward_a])
    overwrite_stored(
        submission_id,
        legacy.encrypt(AUTHOR_EMAIL.encode()).decode(),
        legacy.encrypt(AUTHOR_POSTCODE.encode()).decode(),
    )
    with (
        override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY], FIELD_ENCRYPTION_LEGACY_SECRET=""),
        pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_LEGACY_SECRET"),
    ):
        Submission.objects.get(pk=submission_id)
    with override_settings(
        FIELD_ENCRYPTION_KEYS=[NEW_KEY], FIELD_ENCRYPTION_LEGACY_SECRET=old_text
    ):
        assert Submission.objects.get(pk=submission_id).email == AUTHOR_EMAIL
        assert "re-encrypted 2 values in 1 rows" in rotate()
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY], FIELD_ENCRYPTION_LEGACY_SECRET=""):
        assert Submission.objects.get(pk=submission_id).postcode == AUTHOR_POSTCODE


def test_rotation_stops_with_a_message_when_a_value_matches_no_key(cast: Cast) -> None:
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        submission_id = tell([cast.ward_a])
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        out = StringIO()
        with pytest.raises(Exception, match="cannot be decrypted with any configured key"):
            call_command("rotate_contact_key", stdout=out)
    # Nothing was lost: the old key still reads it.
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        assert Submission.objects.get(pk=submission_id).email == AUTHOR_EMAIL


@pytest.mark.parametrize(
    ("keys", "legacy", "message"),
    [
        ([], "", "FIELD_ENCRYPTION_KEYS is not set"),
        ([], "some old text", "FIELD_ENCRYPTION_KEYS is not set"),
        (["not-a-fernet-key"], "", "FIELD_ENCRYPTION_KEYS: key 1 of 1 is not a Fernet key"),
        ([NEW_KEY, "f" * 43], "", "FIELD_ENCRYPTION_KEYS: key 2 of 2 is not a Fernet key"),
    ],
)
def test_a_missing_or_invalid_key_stops_start_up_with_a_message(
    keys: list[str], legacy: str, message: str
) -> None:
    with (
        override_settings(FIELD_ENCRYPTION_KEYS=keys, FIELD_ENCRYPTION_LEGACY_SECRET=legacy),
        pytest.raises(SystemCheckError) as raised,
    ):
        call_command("check")
    text = str(raised.value)
    assert message in text
    assert "Fernet.generate_key()" in text
    assert "not-a-fernet-key" not in text and "f" * 43 not in text


def test_the_check_passes_with_valid_keys() -> None:
    out = StringIO()
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("check", stdout=out)
    assert "no issues" in out.getvalue()


def test_a_make_run_data_directory_from_before_fernet_keys_still_reads_its_stories(
    cast: Cast, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in (*embedded.CONTACT_KEY_VARIABLES, "FIELD_ENCRYPTION_LEGACY_SECRET"):
        monkeypatch.delenv(variable, raising=False)
    # What an earlier `make run` left in .data/: random text, used through SHA-256.
    old_text = secrets.token_urlsafe(32)
    (tmp_path / "field_encryption_key").write_text(old_text)
    legacy = Fernet(base64.urlsafe_b64encode(hashlib.sha256(old_text.encode()).digest()))
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        submission_id = tell([cast.ward_a])
    overwrite_stored(
        submission_id,
        legacy.encrypt(AUTHOR_EMAIL.encode()).decode(),
        legacy.encrypt(AUTHOR_POSTCODE.encode()).decode(),
    )

    local = embedded.local_contact_keys(tmp_path, "field_encryption_keys")
    assert local["FIELD_ENCRYPTION_LEGACY_SECRET"] == old_text
    assert embedded.local_contact_keys(tmp_path, "field_encryption_keys") == local  # kept
    with override_settings(
        FIELD_ENCRYPTION_KEYS=[local["FIELD_ENCRYPTION_KEYS"]],
        FIELD_ENCRYPTION_LEGACY_SECRET=local["FIELD_ENCRYPTION_LEGACY_SECRET"],
    ):
        assert Submission.objects.get(pk=submission_id).email == AUTHOR_EMAIL
        out = StringIO()
        call_command("check", stdout=out)
        assert "no issues" in out.getvalue()
    # The environment's own key wins, and nothing is made for it.
    monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", NEW_KEY)
    assert embedded.local_contact_keys(tmp_path / "other", "field_encryption_keys") == {}
