"""Long reports: a PDF over a long period is made by a real worker in the organisation's
schema, with progress to 100, a download in the workspace, and nothing on another's."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from dashboards.reports import long_reports
from tests.conftest import Cast, client_for, sign_in


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


def test_a_long_report_is_made_by_a_worker_and_served_only_in_its_workspace(
    cast: Cast, committed_db: None, celery_worker_thread: object, tmp_path
) -> None:  # noqa: ANN001
    with override_settings(MEDIA_ROOT=tmp_path):
        client = client_for(cast.org_a)
        assert sign_in(client, cast.member_a.email).status_code == 302
        today = timezone.localdate()
        start = (today - timedelta(days=364)).isoformat()
        page = client.get(f"/reports/?start={start}&end={today.isoformat()}").content.decode()
        assert 'action="/reports/pdf/"' in page and "/reports/summary.pdf" not in page
        response = client.post(
            "/reports/pdf/", {"kind": "summary", "start": start, "end": today.isoformat()}
        )
        assert response.status_code == 302
        progress_page = client.get(response["Location"])
        body = progress_page.content.decode()
        assert "<progress" in body and "/static/reports/report-progress.js" in body
        seen = poll(client, progress_page.context["status_url"])
        assert seen[-1]["state"] == "done" and seen[-1]["percent"] == 100, seen[-1]
        assert [s["percent"] for s in seen] == sorted(s["percent"] for s in seen)
        token = progress_page.context["token"]
        path = tmp_path / "reports" / cast.org_a.schema_name / f"{token}.pdf"
        assert path.is_file()
        with tenant_context(cast.org_a):
            assert long_reports.file_path(token) == path

        download = client.get(seen[-1]["download"])
        assert download.status_code == 200
        assert download["Content-Disposition"].startswith("attachment; filename=")
        content = b"".join(download.streaming_content)
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
        assert cast.org_a.name in " ".join(text.split())

        # Idempotent: delivered again, the task keeps the file it made.
        with tenant_context(cast.org_a):
            before = path.stat().st_mtime_ns
            long_reports.build(token, "summary", start, today.isoformat(), None)
            assert path.stat().st_mtime_ns == before

        # B's staff, on B's domain, with A's token: nothing, for every URL.
        other = client_for(cast.org_b)
        assert sign_in(other, cast.admin_b.email).status_code == 302
        for url in (
            f"/reports/pdf/{token}/",
            f"/reports/pdf/{token}/status/",
            f"/reports/pdf/{token}/report.pdf",
            f"/media/reports/{cast.org_a.schema_name}/{token}.pdf",
        ):
            assert other.get(url).status_code == 404, url
        # A's own /media/ never serves it either; only the signed-in download does.
        assert client.get(f"/media/reports/{cast.org_a.schema_name}/{token}.pdf").status_code == 404
        anonymous = client_for(cast.org_a)
        refused = anonymous.get(f"/reports/pdf/{token}/report.pdf")
        assert refused.status_code == 302 and "/accounts/login/" in refused["Location"]
        path.unlink()


@pytest.mark.django_db
def test_the_start_validates_like_the_pages(cast: Cast) -> None:
    client = client_for(cast.org_a)
    assert sign_in(client, cast.member_a.email).status_code == 302
    assert client.post("/reports/pdf/", {"kind": "nonsense"}).status_code == 400
    assert client.post("/reports/pdf/", {"kind": "summary", "end": "2999-01-01"}).status_code == 400
    assert client.post("/reports/pdf/", {"kind": "summary", "service": "x"}).status_code == 400
    assert client.get("/reports/pdf/").status_code == 405
    for url in ("/reports/pdf/../../etc/", "/reports/pdf/" + "a" * 32 + "/report.pdf"):
        assert client.get(url).status_code == 404
    with pytest.raises(ValueError):
        long_reports.file_path("../../x")
    short = timezone.localdate() - timedelta(days=30)
    page = client.get(f"/reports/?start={short.isoformat()}").content.decode()
    assert "/reports/summary.pdf" in page and 'action="/reports/pdf/"' not in page


def test_old_report_files_are_removed(tmp_path) -> None:  # noqa: ANN001
    import os

    old, new, part = tmp_path / "a.pdf", tmp_path / "b.pdf", tmp_path / "c.1.part"
    for path in (old, new, part):
        path.write_bytes(b"%PDF")
    stale = time.time() - long_reports.KEEP_SECONDS - 60
    os.utime(old, (stale, stale))
    os.utime(part, (stale, stale))
    assert long_reports.remove_old(tmp_path) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["b.pdf"]
