"""Serving staff photos. Only names this project makes are served, from MEDIA_ROOT only.
In production the reverse proxy serves /media/ itself (infra/)."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest

PHOTO = re.compile(
    r"^profiles/(?P<schema>[a-z0-9_]{1,63})/(?P<name>[0-9a-f]{32})\.(?P<ext>png|jpg)$"
)
TYPES = {"png": "image/png", "jpg": "image/jpeg"}


def serve_photo(request: HttpRequest, path: str) -> FileResponse:
    match = PHOTO.match(path)
    if match is None:
        raise Http404("No such file.")
    file = settings.MEDIA_ROOT / path
    if not file.is_file():
        raise Http404("No such file.")
    response = FileResponse(file.open("rb"), content_type=TYPES[match["ext"]])
    response["Cache-Control"] = "public, max-age=86400"
    return response
