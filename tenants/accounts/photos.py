"""Staff photos, shown beside their public responses.

Only PNG and JPEG under 2 MB, judged by what the file contains, not by its name. Each is
stored under the organisation's own folder, `profiles/<schema>/`, with a random name.

Photos are published on the hub, so nothing a camera or editor wrote into the file (EXIF
with GPS position, device and time; XMP; ICC profiles; comments; PNG text chunks) is kept:
every upload is decoded and written afresh from its pixels alone, turned upright first, and
at most MAX_SIDE pixels on its longer side."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection
from PIL import Image, ImageOps, UnidentifiedImageError

logger = logging.getLogger(__name__)

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 4000 * 4000
MAX_SIDE = 1024
# Pillow's format name: the extension it is stored under. MPO is the multi-picture JPEG
# some phones write; it is stored as a plain JPEG of its first picture.
FORMATS = {"PNG": "png", "JPEG": "jpg", "MPO": "jpg"}
OUTPUT = {"png": "PNG", "jpg": "JPEG"}


# What the person is told when the photo cannot be written where photos are kept.
NOT_STORED = (
    "Your photo could not be stored just now (a fault on our side), so nothing was saved. "
    "Your details are still here: save them without the photo, or choose the photo again "
    "in a few minutes."
)


class PhotoNotStored(Exception):
    """The photo could not be written to the media storage (the directory is not writable,
    the disk is full): nothing of the profile was saved."""


def new_photo_name(extension: str) -> str:
    """Where a new photo goes: the organisation's folder, a random name."""
    return f"profiles/{connection.schema_name}/{uuid.uuid4().hex}.{extension}"


def photo_path(instance: Any, filename: str) -> str:
    # The name the uploader gave is discarded: it could say anything. The form names the
    # file when it checks it (`_photo_name`), so a failed save knows what to remove.
    name = getattr(instance, "_photo_name", "")
    return name or new_photo_name(getattr(instance, "_photo_extension", "img"))


@contextmanager
def photo_stored_or_nothing(instance: Any, stored_photo: Any) -> Iterator[None]:
    """Around saving a profile whose rows are written in a transaction inside: if the save
    fails, the new photo's file is removed (no file is left that no row names, nor a half
    written one) and `instance` shows `stored_photo` again. A photo that could not be
    written raises PhotoNotStored (its message is NOT_STORED), for the person to be told."""
    name = getattr(instance, "_photo_name", "")
    try:
        yield
    except Exception as exc:
        if name:
            with suppress(OSError):
                instance.photo.storage.delete(name)
        instance.photo = stored_photo
        if isinstance(exc, OSError):
            logger.warning("staff photo not stored (%s); nothing saved", exc.__class__.__name__)
            raise PhotoNotStored(NOT_STORED) from exc
        raise


def check_photo(upload: UploadedFile) -> str:
    """Check the photo and rewrite the upload in place as a clean copy of its pixels (see
    `clean_picture`); return the file extension for its format, or raise ValidationError."""
    if upload.size is not None and upload.size > MAX_BYTES:
        raise ValidationError("Choose a photo under 2 MB.", code="photo_too_big")
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            detected = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise ValidationError(
            "That file is not a PNG or JPEG picture.", code="photo_format"
        ) from None
    finally:
        upload.seek(0)
    if detected not in FORMATS:
        raise ValidationError("Choose a PNG or JPEG picture.", code="photo_format")
    if width * height > MAX_PIXELS:
        raise ValidationError("Choose a smaller picture (at most 4000 by 4000).", code="photo_big")
    extension = FORMATS[detected]
    try:
        upload.seek(0)
        cleaned = clean_picture(upload.read(), extension)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            "That picture could not be read: it may be damaged. Try saving it again.",
            code="photo_format",
        ) from None
    _replace_content(upload, cleaned)
    return extension


def clean_picture(content: bytes, extension: str) -> bytes:
    """The picture in `content` written afresh in the format `extension` names: turned
    upright by its EXIF orientation, scaled to at most MAX_SIDE pixels on its longer side,
    and carrying no metadata at all (the new image is made from pixels alone and saved with
    no exif, xmp, icc_profile, comment or pnginfo)."""
    output = OUTPUT[extension]
    with Image.open(io.BytesIO(content)) as opened:
        opened.load()  # decodes now: a damaged or truncated file fails here
        image = ImageOps.exif_transpose(opened)
    keep = ("RGB", "L") if output == "JPEG" else ("RGB", "RGBA", "L", "LA")
    if image.mode not in keep:
        image = image.convert("RGBA" if output == "PNG" and _has_alpha(image) else "RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    buffer = io.BytesIO()
    if output == "JPEG":
        clean.save(buffer, format="JPEG", quality=88, optimize=True)
    else:
        clean.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info


def _replace_content(upload: UploadedFile, content: bytes) -> None:
    # TRICKY: rewritten in place rather than swapped for a new file object: a large upload is
    # a temporary file that storage moves by its path, which must hold the clean copy too.
    upload.file.seek(0)
    upload.file.truncate()
    upload.file.write(content)
    upload.file.flush()
    upload.file.seek(0)
    upload.size = len(content)


def strip_stored_photos(media_root: Path) -> int:
    """Clean photos stored before uploads were cleaned, in place, under the same names (so
    every reference stays good). Safe to run again; returns how many photos it wrote. Run
    once on each deployment's media volume: `manage.py strip_photo_metadata`."""
    written = 0
    for path in sorted(Path(media_root).glob("profiles/*/*")):
        extension = path.suffix.lstrip(".")
        if extension not in OUTPUT or not path.is_file():
            continue
        try:
            cleaned = clean_picture(path.read_bytes(), extension)
        except (
            UnidentifiedImageError,
            OSError,
            SyntaxError,
            ValueError,
            Image.DecompressionBombError,
        ):
            continue  # not a picture we can read: leave it for a person to look at
        temporary = path.with_suffix(".cleaning")
        temporary.write_bytes(cleaned)
        temporary.replace(path)
        written += 1
    return written
