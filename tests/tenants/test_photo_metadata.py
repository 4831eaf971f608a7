"""Staff photos are published beside responses on the hub, so what a camera wrote into the
file (GPS position, device, time, comments) must not go with them: every upload is decoded
and written afresh with no metadata, upright, and at most 1024 px on its longer side."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context
from PIL import ExifTags, Image
from PIL.PngImagePlugin import PngInfo

from tenants.accounts.models import User
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db

MAX_SIDE = 1024
SECRET_PLACE = "Flat 3, 12 Hidden Lane"
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description exif:GPSLatitude="53,48.0N"/></rdf:RDF></x:xmpmeta>'
)


def camera_exif() -> Image.Exif:
    """What a phone writes: maker, model, orientation (turn 90° to show), and where."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Pocket 9"
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.ImageDescription] = SECRET_PLACE
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (53.0, 48.0, 21.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (1.0, 32.0, 47.25)
    return exif


def phone_jpeg(size: tuple[int, int] = (60, 30)) -> bytes:
    """A JPEG as a phone saves it, sideways, with GPS, XMP and a comment."""
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (0, 94, 184))
    image.paste((255, 255, 255), (0, 0, size[0] // 2, size[1]))  # left half white
    image.save(buffer, format="JPEG", exif=camera_exif(), xmp=XMP, comment=SECRET_PLACE.encode())
    made = buffer.getvalue()
    with Image.open(io.BytesIO(made)) as check:  # the test's own premise
        gps = check.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert gps[ExifTags.GPS.GPSLatitudeRef] == "N"
    return made


def tagged_png() -> bytes:
    info = PngInfo()
    info.add_text("Comment", SECRET_PLACE)
    info.add_itxt("Location", SECRET_PLACE)
    buffer = io.BytesIO()
    Image.new("RGBA", (16, 8), (0, 94, 184, 255)).save(
        buffer, format="PNG", pnginfo=info, exif=camera_exif()
    )
    made = buffer.getvalue()
    assert b"tEXt" in made and b"iTXt" in made and b"eXIf" in made
    return made


def png_claiming(width: int, height: int) -> bytes:
    """A small PNG whose header claims other dimensions (a decompression bomb's shape)."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 94, 184)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@pytest.fixture
def media(settings: object, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def rita(cast: Cast):  # noqa: ANN201
    client = client_for(cast.org_a)
    sign_in(client, cast.responder_a.email)
    return client


def upload(client: object, name: str, content: bytes, content_type: str):  # noqa: ANN201
    return client.post(
        "/accounts/profile/",
        {
            "full_name": "Rita Responder",
            "job_title": "Ward Manager",
            "department": "Surgery",
            "photo": SimpleUploadedFile(name, content, content_type=content_type),
        },
    )


def stored_name(cast: Cast) -> str:
    with tenant_context(cast.org_a):
        return User.objects.get(pk=cast.responder_a.pk).photo.name


def assert_no_metadata(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info and "xmp" not in image.info
    assert "icc_profile" not in image.info and "comment" not in image.info
    for leak in (SECRET_PLACE.encode(), b"PhoneMaker", b"Pocket 9", b"GPSLatitude", b"Exif"):
        assert leak not in content
    return image


def test_a_phone_photo_loses_gps_and_every_other_tag_and_stays_upright(
    cast: Cast, media: Path, rita: object
) -> None:
    assert upload(rita, "IMG_0001.jpg", phone_jpeg(), "image/jpeg").status_code == 302
    name = stored_name(cast)
    assert name.endswith(".jpg")
    stored = assert_no_metadata((media / name).read_bytes())
    assert stored.format == "JPEG"
    # Orientation 6 applied: the 60×30 sideways picture is stored 30×60, white half on top.
    assert stored.size == (30, 60)
    top, bottom = stored.convert("RGB").getpixel((15, 5)), stored.getpixel((15, 55))
    assert min(top) > 200 and bottom[2] > 150 and bottom[0] < 60

    served = client_for(None).get(f"/media/{name}")
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert_no_metadata(b"".join(served.streaming_content))


def test_a_png_loses_its_text_chunks_and_exif(cast: Cast, media: Path, rita: object) -> None:
    assert upload(rita, "me.png", tagged_png(), "image/png").status_code == 302
    name = stored_name(cast)
    assert name.endswith(".png")
    content = (media / name).read_bytes()
    for chunk in (b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"iCCP"):
        assert chunk not in content
    stored = assert_no_metadata(content)
    assert stored.format == "PNG" and stored.text == {}
    served = client_for(None).get(f"/media/{name}")
    assert served.status_code == 200
    assert_no_metadata(b"".join(served.streaming_content))


def test_large_photos_are_scaled_down(cast: Cast, media: Path, rita: object) -> None:
    assert upload(rita, "big.jpg", phone_jpeg((2400, 1200)), "image/jpeg").status_code == 302
    stored = Image.open(media / stored_name(cast))
    assert stored.size == (MAX_SIDE // 2, MAX_SIDE)  # turned upright, then capped


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # Far past Pillow's decompression-bomb limit: refused before it is decoded.
        (png_claiming(60000, 60000), ("valid image", "not a PNG or JPEG")),
        # Within Pillow's limit but past ours.
        (png_claiming(6000, 6000), ("smaller picture",)),
        # A header that promises more than the file holds: refused when decoded.
        (png_claiming(900, 900), ("could not be read",)),
    ],
    ids=["bomb", "huge", "truncated"],
)
def test_pictures_that_cannot_be_safely_decoded_get_a_form_error(
    cast: Cast, media: Path, rita: object, content: bytes, message: tuple[str, ...]
) -> None:
    response = upload(rita, "me.png", content, "image/png")
    assert response.status_code == 400
    page = response.content.decode()
    assert any(words in page for words in message), page[:2000]
    assert stored_name(cast) == ""
    assert not (media / "profiles").exists()


def test_photos_stored_before_are_cleaned_in_place(media: Path) -> None:
    from tenants.accounts.photos import strip_stored_photos

    folder = media / "profiles" / "org_alpha"
    folder.mkdir(parents=True)
    (folder / ("a" * 32 + ".jpg")).write_bytes(phone_jpeg())
    (folder / ("b" * 32 + ".png")).write_bytes(tagged_png())
    assert strip_stored_photos(media) == 2
    assert Image.open(folder / ("a" * 32 + ".jpg")).size == (30, 60)
    for path in folder.iterdir():
        assert_no_metadata(path.read_bytes())
    assert strip_stored_photos(media) == 2  # harmless to run again


def test_the_command_cleans_the_media_volume(media: Path, settings) -> None:  # noqa: ANN001
    from io import StringIO

    from django.core.management import call_command

    settings.MEDIA_ROOT = media
    folder = media / "profiles" / "org_alpha"
    folder.mkdir(parents=True)
    (folder / ("c" * 32 + ".jpg")).write_bytes(phone_jpeg())
    out = StringIO()
    call_command("strip_photo_metadata", stdout=out)
    assert "Re-encoded 1 photo(s)" in out.getvalue()
    assert_no_metadata((folder / ("c" * 32 + ".jpg")).read_bytes())
