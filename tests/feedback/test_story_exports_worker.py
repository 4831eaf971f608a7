"""A story export made by a real Celery worker from the real broker: asked for from the inbox,
its progress polled to 100, the Excel file downloaded through its signed link in the
organisation's own workspace, and nothing of it on another's."""

from __future__ import annotations

import io
import time

from django.test import override_settings
from django_tenants.utils import tenant_context
from openpyxl import load_workbook

from feedback.models import StoryExport
from tests.conftest import Cast, client_for, forget_published_stories, sign_in, tell_and_publish


def poll(client, status_url: str) -> list[dict]:  # noqa: ANN001
    seen: list[dict] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = client.get(status_url).json()
        seen.append(status)
        if status["finished"]:
            break
        time.sleep(0.05)
    return seen


def test_an_export_is_made_by_a_worker_with_progress_and_downloaded_in_its_workspace(
    cast: Cast,
    committed_db: None,
    celery_worker_thread: object,
    tmp_path,  # noqa: ANN001
) -> None:
    ids = [
        tell_and_publish(cast, [cast.ward_a], title=f"Worker export story {n}").public_story.pk
        for n in range(3)
    ]
    try:
        with override_settings(MEDIA_ROOT=tmp_path):
            client = client_for(cast.org_a)
            assert sign_in(client, cast.member_a.email).status_code == 302
            response = client.post("/stories/export/", {"format": "xlsx", "q": "worker export"})
            assert response.status_code == 302
            page = client.get(response["Location"])
            assert "<progress" in page.content.decode()
            assert "/static/feedback/export-progress.js" in page.content.decode()
            seen = poll(client, page.context["status_url"])
            assert seen[-1]["state"] == "done" and seen[-1]["percent"] == 100, seen[-1]
            assert seen[-1]["rows"] == 3
            assert [s["percent"] for s in seen] == sorted(s["percent"] for s in seen)
            export = page.context["export"]
            path = tmp_path / "exports" / cast.org_a.schema_name / f"{export.token}.xlsx"
            assert path.is_file()
            download = client.get(seen[-1]["download"])
            assert download.status_code == 200
            assert download["Content-Disposition"].startswith("attachment; filename=")
            book = load_workbook(io.BytesIO(b"".join(download.streaming_content)))
            titles = sorted(
                row[2] for row in book["Stories"].iter_rows(min_row=2, values_only=True)
            )
            assert titles == [f"Worker export story {n}" for n in range(3)]
            # B's staff, on B's domain, with A's token and link: nothing.
            other = client_for(cast.org_b)
            assert sign_in(other, cast.admin_b.email).status_code == 302
            for url in (
                f"/exports/{export.token}/",
                f"/exports/{export.token}/status/",
                seen[-1]["download"],
                f"/media/exports/{cast.org_a.schema_name}/{export.token}.xlsx",
            ):
                assert other.get(url).status_code == 404, url
            assert (
                client.get(
                    f"/media/exports/{cast.org_a.schema_name}/{export.token}.xlsx"
                ).status_code
                == 404
            )
    finally:
        with tenant_context(cast.org_a):
            StoryExport.objects.all().delete()
        forget_published_stories([cast.org_a], ids)
