"""Fault: the media directory is not writable when a photo is uploaded.

The one upload is a staff member's photo, on their profile (/accounts/profile/: the name,
job title and photo published beside their responses). Stories have no photos.

How the directory is made unwritable: MEDIA_ROOT is a fresh directory, chmod 0555, and
where the organisation's photo folder must go (`profiles/`) there is a file, not a
directory. TRICKY: the suite may run as root, for whom chmod stops no write; the file
in the way stops root too (creating `profiles/<schema>/` fails with "not a directory"), so
the fault is the same whoever runs the tests. The fixture checks that the folder really
cannot be made before the test relies on it.

What a person would expect, and what the product does: the form comes back (503: the
fault is ours, and passes) with what they typed still in it and a message saying the photo
could not be stored and nothing was saved; their profile is as it was, no audit row says
it changed, and no file is left behind. Saving all-or-nothing keeps one answer to "did my
change go through?"; once the directory is writable the same form saves once.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection
from django.test import Client, override_settings
from django_tenants.utils import tenant_context
from PIL import Image

from tenants.accounts.models import User
from tenants.audit.models import AuditEvent
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db

FORM = {
    "full_name": "Rita Responder-Okafor",
    "job_title": "Ward Sister (nights)",
    "department": "Surgery",
}


def picture() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 94, 184)).save(buffer, format="PNG")
    return buffer.getvalue()


def save_profile(client: Client) -> object:
    photo = SimpleUploadedFile("me.png", picture(), content_type="image/png")
    return client.post("/accounts/profile/", {**FORM, "photo": photo})


def files_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@pytest.fixture
def media(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "media"
    root.mkdir()
    with override_settings(MEDIA_ROOT=root):
        yield root


@pytest.fixture
def unwritable(media: Path) -> Iterator[Path]:
    """MEDIA_ROOT read-only, and a file where the photo folders go (see the docstring)."""
    (media / "profiles").write_text("in the way of the photo folders\n")
    media.chmod(0o555)
    with pytest.raises(OSError):
        os.makedirs(media / "profiles" / "org_alpha", exist_ok=True)
    yield media
    media.chmod(0o755)


def make_writable(media: Path) -> None:
    media.chmod(0o755)
    (media / "profiles").unlink()


@pytest.fixture
def responder(cast: Cast) -> Client:
    client = client_for(cast.org_a)
    assert sign_in(client, cast.responder_a.email).status_code == 302
    return client


def stored(cast: Cast) -> User:
    with tenant_context(cast.org_a):
        return User.objects.get(pk=cast.responder_a.pk)


def profile_changes(cast: Cast) -> int:
    with tenant_context(cast.org_a):
        return AuditEvent.objects.filter(action="staff.profile_changed").count()


def test_the_form_comes_back_with_their_text_and_a_clear_message_and_nothing_is_saved(
    cast: Cast, responder: Client, unwritable: Path
) -> None:
    before = stored(cast)
    response = save_profile(responder)

    assert response.status_code == 503
    page = response.content.decode()
    assert "Your photo could not be stored just now" in page and "nothing was saved" in page
    # What they typed is still in the form.
    assert 'value="Rita Responder-Okafor"' in page and 'value="Ward Sister (nights)"' in page
    # No picture that does not exist is shown as theirs.
    assert "me.png" not in page and '<img src="/media/' not in page
    # Nothing half-written: the row as it was, no audit row, no file.
    after = stored(cast)
    assert (after.full_name, after.job_title, after.photo.name) == (
        before.full_name,
        before.job_title,
        before.photo.name,
    )
    assert profile_changes(cast) == 0
    assert files_under(unwritable) == ["profiles"]


def test_once_the_directory_is_writable_the_same_form_saves_once(
    cast: Cast, responder: Client, unwritable: Path
) -> None:
    assert save_profile(responder).status_code == 503
    make_writable(unwritable)

    response = save_profile(responder)
    assert response.status_code == 302
    after = stored(cast)
    assert (after.full_name, after.job_title) == (FORM["full_name"], FORM["job_title"])
    assert after.photo.name.startswith("profiles/org_alpha/")
    # One file, the one the row names; one audit row.
    assert files_under(unwritable) == [after.photo.name]
    assert profile_changes(cast) == 1
    assert client_for(None).get(f"/media/{after.photo.name}").status_code == 200


def test_a_photo_written_before_the_row_fails_is_not_left_behind(
    cast: Cast, responder: Client, media: Path
) -> None:
    """The other way a file could be orphaned: it is stored, then PostgreSQL refuses the
    row (a trigger raising, in this test's transaction). The request fails, and the file
    it wrote is removed with the rows."""
    with tenant_context(cast.org_a), connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_profile() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'the database refused the profile'; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_profile BEFORE UPDATE ON accounts_user "
            "FOR EACH ROW EXECUTE FUNCTION refuse_profile()"
        )
    before = stored(cast)
    with pytest.raises(DatabaseError, match="refused the profile"):
        save_profile(responder)
    assert files_under(media) == []
    assert stored(cast).photo.name == before.photo.name
