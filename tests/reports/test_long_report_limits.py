"""Long PDF builds share one reports queue: each organisation has a few at once, each person
a few an hour, and a build whose worker died stops counting after a while."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context

from dashboards.models import LongReport, LongReportState
from dashboards.reports import long_reports
from dashboards.reports.tasks import build_long_pdf
from tenants.audit.models import AuditEvent
from tests.conftest import Cast, client_for, sign_in


def signed_in(cast: Cast, who: str) -> Client:
    client = client_for(cast.org_a)
    assert sign_in(client, getattr(cast, who).email).status_code == 302
    return client


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """The builds sent to the reports queue (the broker is the one seam not run here)."""
    sends: list[tuple] = []
    monkeypatch.setattr(build_long_pdf, "delay", lambda *args: sends.append(args))
    return sends


def start(client: Client, django_capture_on_commit_callbacks) -> object:  # noqa: ANN001
    today = timezone.localdate()
    data = {
        "kind": "summary",
        "start": (today - timedelta(days=364)).isoformat(),
        "end": today.isoformat(),
    }
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/reports/pdf/", data)


@pytest.mark.django_db
@override_settings(LONG_REPORTS_PER_ORGANISATION=2, LONG_REPORTS_PER_USER_PER_HOUR=10)
def test_an_organisation_has_a_few_builds_at_once(
    cast: Cast,
    sent: list,
    django_capture_on_commit_callbacks,  # noqa: ANN001
) -> None:
    member, admin = signed_in(cast, "member_a"), signed_in(cast, "admin_a")
    assert start(member, django_capture_on_commit_callbacks).status_code == 302
    assert start(admin, django_capture_on_commit_callbacks).status_code == 302
    refused = start(member, django_capture_on_commit_callbacks)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    page = refused.content.decode()
    assert "2 long reports are being made for your organisation" in page
    assert len(sent) == 2
    with tenant_context(cast.org_a):
        assert LongReport.objects.count() == 2
    # Another organisation's builds are its own.
    other = client_for(cast.org_b)
    assert sign_in(other, cast.admin_b.email).status_code == 302
    assert start(other, django_capture_on_commit_callbacks).status_code == 302
    assert len(sent) == 3


@pytest.mark.django_db
@override_settings(LONG_REPORTS_PER_ORGANISATION=1, LONG_REPORTS_PER_USER_PER_HOUR=10)
def test_a_finished_or_abandoned_build_frees_its_place(
    cast: Cast,
    sent: list,
    django_capture_on_commit_callbacks,  # noqa: ANN001
    tmp_path,  # noqa: ANN001
) -> None:
    member = signed_in(cast, "member_a")
    assert start(member, django_capture_on_commit_callbacks).status_code == 302
    assert start(member, django_capture_on_commit_callbacks).status_code == 429
    # The worker runs the build it was sent: done, it no longer counts.
    with override_settings(MEDIA_ROOT=tmp_path), tenant_context(cast.org_a):
        long_reports.build(*sent[0])
        assert LongReport.objects.get(token=sent[0][0]).state == LongReportState.DONE
    assert start(member, django_capture_on_commit_callbacks).status_code == 302
    assert start(member, django_capture_on_commit_callbacks).status_code == 429
    # A worker that died leaves its build "running"; after a while it stops counting.
    with tenant_context(cast.org_a):
        stuck = LongReport.objects.get(token=sent[1][0])
        long_reports.set_progress(stuck.token, 10, "running", kind="summary")
        LongReport.objects.filter(pk=stuck.pk).update(
            updated_at=timezone.now() - long_reports.STALE_AFTER - timedelta(minutes=1)
        )
    assert start(member, django_capture_on_commit_callbacks).status_code == 302
    assert len(sent) == 3


@pytest.mark.django_db
@override_settings(LONG_REPORTS_PER_ORGANISATION=100, LONG_REPORTS_PER_USER_PER_HOUR=2)
def test_one_person_has_a_few_builds_an_hour(
    cast: Cast,
    sent: list,
    django_capture_on_commit_callbacks,  # noqa: ANN001
    tmp_path,  # noqa: ANN001
) -> None:
    member = signed_in(cast, "member_a")
    for _ in range(2):
        assert start(member, django_capture_on_commit_callbacks).status_code == 302
    with override_settings(MEDIA_ROOT=tmp_path), tenant_context(cast.org_a):
        for args in sent:
            long_reports.build(*args)  # finished builds still count towards the hour
    refused = start(member, django_capture_on_commit_callbacks)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert "You have asked for 2 long reports in the last hour" in refused.content.decode()
    assert len(sent) == 2
    # Someone else in the organisation is not held up by it.
    assert (
        start(signed_in(cast, "responder_a"), django_capture_on_commit_callbacks).status_code == 302
    )


@override_settings(LONG_REPORTS_PER_ORGANISATION=1, LONG_REPORTS_PER_USER_PER_HOUR=10)
def test_two_requests_at_once_cannot_both_take_the_last_place(
    cast: Cast,
    committed_db: None,
    sent: list,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each request counts, then (slowly) inserts: without a lock both would pass."""
    counting = long_reports.builds_in_progress
    barrier = threading.Barrier(2, timeout=5)

    def slow_count(*args: object, **kwargs: object) -> int:
        found = counting(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=1)  # both have counted, if nothing made one wait
        return found

    monkeypatch.setattr(long_reports, "builds_in_progress", slow_count)
    clients = [signed_in(cast, "member_a"), signed_in(cast, "responder_a")]
    codes: list[int] = []
    today = timezone.localdate()
    data = {"kind": "summary", "start": (today - timedelta(days=364)).isoformat()}

    def post(client: Client) -> None:
        try:
            codes.append(client.post("/reports/pdf/", data).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert sorted(codes) == [302, 429]
        assert len(sent) == 1
    finally:
        with tenant_context(cast.org_a):
            LongReport.objects.all().delete()
            AuditEvent.objects.filter(action="reports.long_pdf_queued").delete()
