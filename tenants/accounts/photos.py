"""Staff photos, shown beside their public responses.

Only PNG and JPEG under 2 MB, judged by what the file contains, not by its name. Each is
stored under the organisation's own folder, `profiles/<schema>/`, with a random name."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection
from PIL import Image, UnidentifiedImageError

MAX_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 4000 * 4000
FORMATS = {"PNG": "png", "JPEG": "jpg"}


def photo_path(instance: Any, filename: str) -> str:
    # The name the uploader gave is discarded: it could say anything.
    extension = getattr(instance, "_photo_extension", "img")
    return f"profiles/{connection.schema_name}/{uuid.uuid4().hex}.{extension}"


def check_photo(upload: UploadedFile) -> str:
    """Return the file extension for the photo's real format, or raise ValidationError."""
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
    return FORMATS[detected]
