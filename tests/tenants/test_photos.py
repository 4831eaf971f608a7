"""Staff photos: PNG or JPEG under 2 MB by content, stored under the organisation's folder."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context
from PIL import Image

from tenants.accounts.models import User
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db


def picture(fmt: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (0, 94, 184)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def media(settings: object, tmp_path: object) -> object:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def upload(client: object, name: str, content: bytes, content_type: str = "image/png"):  # noqa: ANN201
    return client.post(
        "/accounts/profile/",
        {
            "full_name": "Rita Responder",
            "job_title": "Ward Manager",
            "department": "Surgery",
            "photo": SimpleUploadedFile(name, content, content_type=content_type),
        },
    )


def test_a_photo_is_stored_under_the_organisations_folder_and_served(
    cast: Cast, media: object
) -> None:
    client = client_for(cast.org_a)
    sign_in(client, cast.responder_a.email)
    assert upload(client, "me.png", picture()).status_code == 302
    with tenant_context(cast.org_a):
        name = User.objects.get(pk=cast.responder_a.pk).photo.name
    assert name.startswith("profiles/org_alpha/") and name.endswith(".png")
    served = client_for(None).get(f"/media/{name}")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"


def test_the_name_does_not_decide_the_format(cast: Cast, media: object) -> None:
    client = client_for(cast.org_a)
    sign_in(client, cast.responder_a.email)
    # A JPEG called .png is stored as what it is.
    assert upload(client, "me.png", picture("JPEG")).status_code == 302
    with tenant_context(cast.org_a):
        assert User.objects.get(pk=cast.responder_a.pk).photo.name.endswith(".jpg")
    # A script called .png is refused.
    refused = upload(client, "me.png", b"<script>alert(1)</script>")
    assert refused.status_code == 400
    assert (
        "not a PNG or JPEG" in refused.content.decode() or "valid image" in refused.content.decode()
    )
    # So is a GIF, whatever it is called.
    assert upload(client, "me.jpg", picture("GIF"), "image/jpeg").status_code == 400


def test_photos_over_2_mb_are_refused(cast: Cast, media: object) -> None:
    client = client_for(cast.org_a)
    sign_in(client, cast.responder_a.email)
    big = picture() + b"\0" * (2 * 1024 * 1024)
    response = upload(client, "big.png", big)
    assert response.status_code == 400
    assert "under 2 MB" in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "../settings.py",
        "profiles/org_alpha/../../x.png",
        "profiles/org_alpha/secret.txt",
        "other/x.png",
    ],
)
def test_only_photo_names_are_served(cast: Cast, media: object, path: str) -> None:
    assert client_for(None).get(f"/media/{path}").status_code == 404
