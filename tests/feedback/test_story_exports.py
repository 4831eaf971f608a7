"""Bulk exports of stories (feedback/exporting.py): asked for from the inbox with its filters,
made by a worker as CSV or Excel with progress, formula-safe, kept a week behind a signed
link that works only in the organisation's own workspace; a network lead's export of its
consenting members' published stories; limits, lost messages, withdrawals, isolation."""

from __future__ import annotations

import csv
import io
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import signing
from django.test import Client, override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context
from openpyxl import load_workbook

from feedback import exporting
from feedback.models import ExportState, Story, StoryExport
from feedback.responding import Draft, publish_response
from feedback.signals import story_withdrawn
from feedback.tasks import build_story_export
from tenants.audit.models import AuditEvent
from tenants.networks import accept_invitation, create_network, invite_organisation
from tests.conftest import (
    AUTHOR_EMAIL,
    AUTHOR_POSTCODE,
    Cast,
    client_for,
    sign_in,
    tell_and_publish,
)

pytestmark = pytest.mark.django_db

FORMULA_TITLE = "=HYPERLINK(evil) call bell"
FORMULA_TEXT = "@SUM(1+1) the call bell rang for an hour"


@pytest.fixture(autouse=True)
def media(tmp_path: Path, settings) -> Path:  # noqa: ANN001
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The builds sent to the reports queue (the broker is the one seam not run here; the
    real worker's run is tests/feedback/test_story_exports_worker.py)."""
    sends: list[int] = []
    monkeypatch.setattr(build_story_export, "delay", lambda export_id: sends.append(export_id))
    return sends


def signed_in(cast: Cast, who: str, organisation: str = "org_a") -> Client:
    client = client_for(getattr(cast, organisation))
    assert sign_in(client, getattr(cast, who).email).status_code == 302
    return client


def ask(client: Client, capture, path: str = "/stories/export/", **data: str):  # noqa: ANN001
    with capture(execute=True):
        return client.post(path, data)


def work(cast: Cast, sent: list[int], organisation: str = "org_a") -> None:
    """What the worker does with the builds it was sent."""
    with tenant_context(getattr(cast, organisation)):
        for export_id in sent:
            exporting.build_export(export_id)
    sent.clear()


def stories_of_a(cast: Cast) -> tuple[int, int]:
    """Two critical stories of A (one answered, with a change) and one positive one."""
    critical = tell_and_publish(
        cast,
        [cast.ward_a],
        title=FORMULA_TITLE,
        what_was_good=FORMULA_TEXT,
        criticality="moderately critical",
    ).public_story.pk
    tell_and_publish(cast, [cast.clinic_a], title="Lovely clinic", criticality="not critical")
    with tenant_context(cast.org_a):
        publish_response(
            Story.objects.get(public_id=critical),
            Draft(
                "I am sorry the call bell went unanswered on the ward, and thank you for "
                "telling us. We have added a second nurse at night. Ann Responder",
                change_status="made",
                change_description="A second nurse on nights",
            ),
            responder=cast.responder_a,
            written_by=cast.responder_a,
        )
    return critical, 0


def download(client: Client, export_id: int, cast: Cast) -> bytes:
    with tenant_context(cast.org_a):
        export = StoryExport.objects.get(pk=export_id)
    status = client.get(f"/exports/{export.token}/status/").json()
    assert status["state"] == "done" and status["finished"] and status["percent"] == 100
    response = client.get(status["download"])
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    return b"".join(response.streaming_content)


def test_a_filtered_csv_export_is_made_with_progress_and_downloaded(
    cast: Cast, sent: list[int], django_capture_on_commit_callbacks
) -> None:
    critical, _ = stories_of_a(cast)
    client = signed_in(cast, "member_a")
    # The inbox offers the export with its own filters.
    inbox = client.get("/stories/?criticality=moderately+critical").content.decode()
    assert 'action="/stories/export/"' in inbox
    assert '<input type="hidden" name="criticality" value="moderately critical">' in inbox
    response = ask(
        client,
        django_capture_on_commit_callbacks,
        criticality="moderately critical",
        format="csv",
    )
    assert response.status_code == 302
    assert len(sent) == 1
    with tenant_context(cast.org_a):
        export = StoryExport.objects.get(pk=sent[0])
    assert response["Location"] == f"/exports/{export.token}/"
    waiting = client.get(response["Location"]).content.decode()
    assert "0% (waiting for a worker)" in waiting
    assert client.get(f"/exports/{export.token}/status/").json()["finished"] is False
    work(cast, sent)
    page = client.get(f"/exports/{export.token}/").content.decode()
    assert "Ready: 1 story." in page and "Download the file" in page
    body = download(client, export.pk, cast).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:4] == ["Story ID", "Published", "Title", "Story"]
    assert len(rows) == 2  # the filter left the positive story out
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Story ID"] == str(critical)
    # Formula-safe: text that would run is written with a leading apostrophe.
    assert row["Title"] == "'" + FORMULA_TITLE
    assert row["Services"] == cast.ward_a.name
    assert row["Criticality"] == "Moderately critical"
    assert "Ann" in row["Responses"] or cast.responder_a.full_name in row["Responses"]
    assert row["Changes (you said, we did)"] == "Change made: A second nurse on nights"
    assert row["Link"].endswith(f"/stories/{critical}/")
    assert AUTHOR_EMAIL not in body and AUTHOR_POSTCODE not in body
    with tenant_context(cast.org_a):
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"stories.export_queued", "stories.export_downloaded"} <= actions
    # It is listed on the person's exports page, with its link.
    listed = client.get("/exports/").content.decode()
    assert "Criticality: moderately critical" in listed and "Download" in listed


def test_an_xlsx_export_holds_text_as_text_and_says_what_it_is(
    cast: Cast, sent: list[int], django_capture_on_commit_callbacks
) -> None:
    stories_of_a(cast)
    tell_and_publish(
        cast, [cast.ward_a], title="Form\x0cfeed in a title", criticality="not critical"
    )
    client = signed_in(cast, "admin_a")
    assert ask(client, django_capture_on_commit_callbacks, format="xlsx").status_code == 302
    work(cast, sent)
    with tenant_context(cast.org_a):
        export = StoryExport.objects.get()
    book = load_workbook(io.BytesIO(download(client, export.pk, cast)))
    sheet = book["Stories"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == 3
    title = next(r["Title"] for r in rows if "HYPERLINK" in str(r["Title"].value))
    # Stored as text (never a formula), exactly as written.
    assert title.data_type == "s" and title.value == FORMULA_TITLE
    story = next(r["Story"] for r in rows if "@SUM" in str(r["Story"].value))
    assert story.data_type == "s"
    assert all(r["Published"].is_date for r in rows)
    about = dict(book["About this export"].iter_rows(values_only=True))
    assert about["Organisation"] == cast.org_a.name
    assert about["Filters"] == "All stories"
    assert about["Asked for by"] == cast.admin_a.full_name


def test_cells_hold_what_a_workbook_can() -> None:
    from feedback.csv_export import spreadsheet_safe
    from feedback.export_rows import CELL_LIMIT, CUT, cell_text

    assert cell_text("Form\x0cfeed\x00 and\ttab\nline") == "Formfeed and\ttab\nline"
    long = cell_text("x" * (CELL_LIMIT + 10))
    assert len(long) == CELL_LIMIT and long.endswith(CUT)
    assert cell_text(5) == 5
    assert spreadsheet_safe("-5") == "-5" and spreadsheet_safe("-x") == "'-x"


def test_bad_requests_get_a_clear_4xx(
    cast: Cast, sent: list[int], django_capture_on_commit_callbacks
) -> None:
    client = signed_in(cast, "member_a")
    bad_format = ask(client, django_capture_on_commit_callbacks, format="pdf")
    assert bad_format.status_code == 400
    assert "The export was not started" in bad_format.content.decode()
    bad_date = ask(client, django_capture_on_commit_callbacks, format="csv", since="not-a-day")
    assert bad_date.status_code == 400 and "valid date" in bad_date.content.decode()
    assert client.get("/stories/export/").status_code == 405
    assert client.get("/exports/" + "0" * 32 + "/").status_code == 404
    assert client.get("/exports/not-a-token/status/").status_code == 404
    assert client.get("/exports/file/garbage/").status_code == 404
    assert sent == []
    # Signed out: sign in first.
    assert client_for(cast.org_a).post("/stories/export/", {"format": "csv"}).status_code == 302


@override_settings(STORY_EXPORTS_PER_ORGANISATION=1, STORY_EXPORTS_PER_USER_PER_HOUR=2)
def test_an_organisation_has_one_at_once_and_a_person_a_few_an_hour(
    cast: Cast, sent: list[int], django_capture_on_commit_callbacks
) -> None:
    member, admin = signed_in(cast, "member_a"), signed_in(cast, "admin_a")
    assert ask(member, django_capture_on_commit_callbacks, format="csv").status_code == 302
    refused = ask(admin, django_capture_on_commit_callbacks, format="csv")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "1 exports are being made for your organisation" in refused.content.decode()
    # Another organisation is not held up.
    other = signed_in(cast, "admin_b", "org_b")
    assert ask(other, django_capture_on_commit_callbacks, format="csv").status_code == 302
    work(cast, sent[:1])
    sent.clear()
    assert ask(member, django_capture_on_commit_callbacks, format="csv").status_code == 302
    work(cast, sent)
    hourly = ask(member, django_capture_on_commit_callbacks, format="csv")
    assert hourly.status_code == 429
    assert "You have asked for 2 exports in the last hour" in hourly.content.decode()


def test_a_lost_build_is_sent_again_and_a_stale_one_stops_counting(
    cast: Cast, sent: list[int], django_capture_on_commit_callbacks
) -> None:
    client = signed_in(cast, "member_a")
    ask(client, django_capture_on_commit_callbacks, format="csv")
    [export_id] = sent
    sent.clear()
    with tenant_context(cast.org_a):
        assert exporting.requeue_lost_exports() == []  # not waiting long yet
        StoryExport.objects.filter(pk=export_id).update(
            updated_at=timezone.now() - exporting.QUEUED_TOO_LONG - timedelta(minutes=1)
        )
        assert exporting.requeue_lost_exports() == [export_id]
        assert exporting.requeue_lost_exports() == []  # sent once per wait
        assert exporting.builds_in_progress() == 1
        StoryExport.objects.filter(pk=export_id).update(
            state=ExportState.RUNNING,
            updated_at=timezone.now() - exporting.STALE_AFTER - timedelta(minutes=1),
        )
        assert exporting.builds_in_progress() == 0
        # A build sent twice writes its file once.
        first = exporting.build_export(export_id)
        assert exporting.build_export(export_id) == first
        assert StoryExport.objects.get(pk=export_id).state == ExportState.DONE
    assert sent == [export_id]


def test_only_the_organisations_own_staff_reach_an_export(
    cast: Cast, sent: list[int], django_capture_on_commit_callbacks, media: Path
) -> None:
    stories_of_a(cast)
    member = signed_in(cast, "member_a")
    ask(member, django_capture_on_commit_callbacks, format="csv")
    work(cast, sent)
    with tenant_context(cast.org_a):
        export = StoryExport.objects.get()
        path = exporting.file_path(export)
        link = exporting.signed_link(export)
    assert path == media / "exports" / cast.org_a.schema_name / f"{export.token}.csv"
    url = f"/exports/file/{link}/"
    # B's staff: no page, no status, and A's genuine link finds nothing on B's domain.
    b_admin = signed_in(cast, "admin_b", "org_b")
    assert b_admin.get(f"/exports/{export.token}/").status_code == 404
    assert b_admin.get(f"/exports/{export.token}/status/").status_code == 404
    assert b_admin.get(url).status_code == 404
    assert export.token not in b_admin.get("/exports/").content.decode()
    # A link naming B's schema, signed by someone who knows a token, is refused on A's too.
    with tenant_context(cast.org_b):
        forged = exporting.signed_link(export)
    assert member.get(f"/exports/file/{forged}/").status_code == 404
    assert member.get(url[:-3] + "xx/").status_code == 404  # tampered
    # Signed out: sign in first, whatever the link.
    assert client_for(cast.org_a).get(url).status_code == 302
    # A colleague may use the link shared with them; only its maker (or an administrator)
    # sees its page.
    colleague = signed_in(cast, "responder_a")
    assert colleague.get(url).status_code == 200
    assert colleague.get(f"/exports/{export.token}/").status_code == 404
    assert signed_in(cast, "admin_a").get(f"/exports/{export.token}/").status_code == 200


def test_the_link_lapses_after_a_week(
    cast: Cast, sent: list[int], django_capture_on_commit_callbacks, monkeypatch
) -> None:
    client = signed_in(cast, "member_a")
    ask(client, django_capture_on_commit_callbacks, format="csv")
    work(cast, sent)
    with tenant_context(cast.org_a):
        link = exporting.signed_link(StoryExport.objects.get())
    assert client.get(f"/exports/file/{link}/").status_code == 200
    later = time.time() + exporting.KEEP_SECONDS + 60
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert client.get(f"/exports/file/{link}/").status_code == 404


def test_old_files_are_removed(cast: Cast, media: Path) -> None:
    folder = media / "exports" / cast.org_a.schema_name
    folder.mkdir(parents=True)
    old, new = folder / ("a" * 32 + ".csv"), folder / ("b" * 32 + ".xlsx")
    old.write_text("x"), new.write_text("y")
    week_ago = time.time() - exporting.KEEP_SECONDS - 60
    import os

    os.utime(old, (week_ago, week_ago))
    assert exporting.remove_old(folder) == 1
    assert not old.exists() and new.exists()


@pytest.fixture
def network(cast: Cast) -> None:
    """A leads a network; B is an active member that agreed to be compared."""
    network = create_network(lead=cast.org_a, name="Alpha Care Network")
    accept_invitation(invite_organisation(network, cast.org_b), benchmarking_consent=True)


def test_a_network_lead_exports_its_consenting_members_stories(
    cast: Cast, sent: list[int], network: None, django_capture_on_commit_callbacks
) -> None:
    of_b = tell_and_publish(cast, [cast.ward_b], title="Cold food on the Beta ward").public_story
    tell_and_publish(cast, [cast.ward_a], title="A story about the lead itself")
    with tenant_context(cast.org_b):
        publish_response(
            Story.objects.get(public_id=of_b.pk),
            Draft(
                "I am sorry the food arrived cold, and thank you for telling us. We now bring "
                "meals up in heated trolleys. Bea Responder, Ward Sister"
            ),
            responder=cast.responder_b,
            written_by=cast.responder_b,
        )
    client = signed_in(cast, "member_a")
    page = client.get("/network/stories/").content.decode()
    assert 'action="/network/stories/export/"' in page
    response = ask(
        client, django_capture_on_commit_callbacks, "/network/stories/export/", format="csv"
    )
    assert response.status_code == 302
    work(cast, sent)
    with tenant_context(cast.org_a):
        export = StoryExport.objects.get()
    assert export.scope == "network" and export.description == "All members' stories"
    body = download(client, export.pk, cast).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["Title"] for r in rows] == ["Cold food on the Beta ward"]
    assert rows[0]["Members"] == cast.org_b.name
    assert rows[0]["Progress at each member"].startswith(cast.org_b.name + ": ")
    assert f"({cast.org_b.name}): I am sorry the food arrived cold" in rows[0]["Responses"]
    assert AUTHOR_EMAIL not in body and AUTHOR_POSTCODE not in body
    # B is a member, not a lead: it has no network export.
    member = signed_in(cast, "admin_b", "org_b")
    assert member.post("/network/stories/export/", {"format": "csv"}).status_code == 403


def test_a_withdrawn_story_takes_made_exports_with_it_including_the_leads(
    cast: Cast, sent: list[int], network: None, django_capture_on_commit_callbacks
) -> None:
    of_b = tell_and_publish(cast, [cast.ward_b], title="Cold food on the Beta ward").public_story
    lead = signed_in(cast, "member_a")
    ask(lead, django_capture_on_commit_callbacks, "/network/stories/export/", format="xlsx")
    work(cast, sent, "org_a")
    member = signed_in(cast, "admin_b", "org_b")
    ask(member, django_capture_on_commit_callbacks, format="csv")
    work(cast, sent, "org_b")
    with tenant_context(cast.org_a):
        lead_export = StoryExport.objects.get()
        assert exporting.file_path(lead_export).is_file()
    story_withdrawn.send(
        sender=None,
        public_story_id=of_b.pk,
        organisation_ids=[cast.org_b.pk],
        schemas=[cast.org_b.schema_name],
    )
    for organisation in (cast.org_a, cast.org_b):
        with tenant_context(organisation):
            export = StoryExport.objects.get()
            assert export.state == ExportState.FAILED
            assert export.note == exporting.WITHDRAWN_NOTE
            assert not exporting.file_path(export).exists()
    status = lead.get(f"/exports/{lead_export.token}/status/").json()
    assert status["download"] is None and "withdrawn" in status["note"]
