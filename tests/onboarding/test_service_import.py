"""Importing sites and services from CSV: checked whole, written whole or not at all."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context, tenant_context

from feedback.hub.models import ServiceListing
from feedback.models import Service, Site
from onboarding import service_import
from onboarding.models import ImportState, ServiceImport
from tenants.audit.models import AuditEvent
from tests.conftest import PASSWORD, Cast, client_for, sign_in

SAMPLE = Path(__file__).resolve().parents[2] / "onboarding/static/onboarding/services-sample.csv"
HEADER = "site_name,site_code,service_name,service_code,service_type,parent_service_code\n"


def upload(client: object, text: str | bytes, name: str = "services.csv") -> object:
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        "/services/import/", {"file": SimpleUploadedFile(name, data, content_type="text/csv")}
    )


def counts(organisation) -> tuple[int, int, int]:  # noqa: ANN001
    with tenant_context(organisation):
        sites, services = Site.objects.count(), Service.objects.count()
    with schema_context("public"):
        listings = ServiceListing.objects.filter(organisation=organisation).count()
    return sites, services, listings


@pytest.mark.django_db
def test_a_file_with_bad_rows_lists_each_problem_by_line_and_writes_nothing(
    cast: Cast, admin_a_client: object
) -> None:
    before = counts(cast.org_a)
    text = (
        HEADER
        + "North Hospital,NH1,Ward A,NWA,ward,\n"  # line 2: fine
        + ",NH1,Ward B,NWB,ward,\n"  # 3: no site name
        + "North Hospital,NH1,Ward C,NWC,spaceship,\n"  # 4: unknown type
        + "North Hospital,NH1,Ward D,NWA,ward,\n"  # 5: code used on line 2
        + "North Hospital,NH1,Bay 1,NB1,ward,NOPE\n"  # 6: parent nowhere
        + "\n"  # 7: blank, skipped
        + 'North Hospital,NH1,"Bay, 2",NB2,ward,AW1\n'  # 8: parent at another site
        + "North Hospital,NH1,Loop 1,L1,ward,L2\n"  # 9 and 10: a circle
        + "North Hospital,NH1,Loop 2,L2,ward,L1\n"
    )
    response = upload(admin_a_client, text)
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was imported" in body
    errors = {(e["line"], e["message"].split(" ")[0]) for e in response.context["result"].errors}
    lines = sorted({line for line, _ in errors})
    assert lines == [3, 4, 5, 6, 8, 9, 10], errors
    assert "site_name is empty" in body
    assert "“spaceship” is not one we know" in body
    assert "also on line 2" in body
    assert "NOPE is not the code of any service" in body
    assert "same site" in body
    assert "go round in a circle" in body
    assert counts(cast.org_a) == before
    with tenant_context(cast.org_a):
        assert not ServiceImport.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        (b"\n", 1, "The file is empty"),
        (HEADER.encode(), 2, "no rows"),
        (b"site,service\nA,B\n", 1, "Unknown columns site, service"),
        (HEADER.encode() + b"Caf\xe9,,Ward,,ward,\n", 2, "not UTF-8"),
        ((HEADER + "A,,B,,ward,,extra\n").encode(), 2, "values but the header names"),
        ((HEADER + "A,,B,WAY-TOO-LONG-CODE,ward,\n").encode(), 2, "longer than 12"),
    ],
)
def test_unreadable_files_say_what_to_fix(
    cast: Cast, admin_a_client: object, content: bytes, line: int, words: str
) -> None:
    response = upload(admin_a_client, content)
    assert response.status_code == 400
    errors = response.context["result"].errors
    assert str(line) in response.content.decode() and "Nothing was imported" in (
        response.content.decode()
    )
    assert errors[0]["line"] == line
    assert words in errors[0]["message"]


@pytest.mark.django_db
def test_a_good_file_is_imported_with_its_directory_listings_and_audit_rows(
    cast: Cast, admin_a_client: object
) -> None:
    before = counts(cast.org_a)
    text = (
        HEADER
        + "Alpha North,AN1,North Ward,ANW,Ward,ANH\n"  # child before its parent
        + "Alpha North,AN1,Alpha North Hospital,ANH,hospital,\n"
        + "Alpha North,AN1,Day Unit,,clinic,ANH\n"
        + "Alpha General Hospital,,Alpha Ward One Annexe,AW1A,ward,AW1\n"  # existing parent
    )
    response = upload(admin_a_client, text)
    assert response.status_code == 302
    record_url = response["Location"]
    page = admin_a_client.get(record_url).content.decode()
    assert "1 site added" in page and "4 services added" in page
    assert counts(cast.org_a) == (before[0] + 1, before[1] + 4, before[2] + 4)
    with tenant_context(cast.org_a):
        ward = Service.objects.get(code="ANW")
        assert ward.parent.code == "ANH" and ward.site.code == "AN1"
        assert Service.objects.get(code="AW1A").parent.code == "AW1"
        assert Service.objects.get(name="Day Unit").type == "clinic"
        record = ServiceImport.objects.get()
        assert record.state == ImportState.DONE
        assert AuditEvent.objects.filter(action="services.imported", target_id=str(record.pk))
        assert AuditEvent.objects.filter(action="service.created").count() >= 4
    with schema_context("public"):
        listing = ServiceListing.objects.get(organisation=cast.org_a, code="ANW")
        assert listing.site_name == "Alpha North"


@pytest.mark.django_db
def test_reimporting_updates_by_code_instead_of_duplicating(
    cast: Cast, admin_a_client: object
) -> None:
    first = HEADER + "Alpha North,AN1,North Ward,ANW,ward,\nAlpha North,AN1,Clinic,,clinic,\n"
    assert upload(admin_a_client, first).status_code == 302
    before = counts(cast.org_a)
    again = (
        HEADER
        + "Alpha North,AN1,North Ward (renamed),ANW,ward,\n"  # updated by code
        + "ALPHA NORTH,AN1,Clinic,,clinic,\n"  # matched by name, unchanged
    )
    response = upload(admin_a_client, again)
    assert response.status_code == 302
    page = admin_a_client.get(response["Location"]).content.decode()
    assert "1 service changed" in page and "1 unchanged" in page
    assert counts(cast.org_a) == before
    with tenant_context(cast.org_a):
        assert Service.objects.get(code="ANW").name == "North Ward (renamed)"
    with schema_context("public"):
        assert ServiceListing.objects.get(organisation=cast.org_a, code="ANW").name == (
            "North Ward (renamed)"
        )
    moved = HEADER + "Alpha General Hospital,,North Ward,ANW,ward,\n"
    response = upload(admin_a_client, moved)
    assert response.status_code == 400
    assert "cannot move to another site" in response.content.decode()


@pytest.mark.django_db
def test_the_sample_file_imports_cleanly_and_is_offered_for_download(
    cast: Cast, admin_b_client: object
) -> None:
    page = admin_b_client.get("/services/import/").content.decode()
    assert "/static/onboarding/services-sample.csv" in page
    before = counts(cast.org_b)
    response = upload(admin_b_client, SAMPLE.read_bytes(), "services-sample.csv")
    assert response.status_code == 302, response.context and response.context["result"].errors
    rows = len(SAMPLE.read_text().strip().splitlines()) - 1
    assert counts(cast.org_b) == (before[0] + 2, before[1] + rows, before[2] + rows)
    with tenant_context(cast.org_b):
        assert Service.objects.get(code="RXX01-BC").parent.code == "RXX01-MAT"
        assert Service.objects.get(code="RXX01-EYE").name == "Eye Clinic, Outpatients"


@pytest.mark.django_db
def test_an_empty_upload_is_refused_by_the_form(cast: Cast, admin_a_client: object) -> None:
    response = upload(admin_a_client, b"")
    assert response.status_code == 400
    assert "The submitted file is empty" in response.content.decode()


@pytest.mark.django_db
def test_only_administrators_import(cast: Cast) -> None:
    client = client_for(cast.org_a)
    sign_in(client, cast.responder_a.email, PASSWORD)
    assert client.get("/services/import/").status_code == 403
    assert upload(client, HEADER + "A,,B,,ward,\n").status_code == 403


@pytest.mark.django_db
def test_a_row_the_models_refuse_at_write_time_rolls_everything_back(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change made between checking and writing (a race) still writes nothing."""
    from django.core.exceptions import ValidationError

    from feedback import sites_and_services

    real = sites_and_services.save_service
    calls = {"n": 0}

    def refuse_the_second(service, **kwargs):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 2:
            raise ValidationError("Service with this Code already exists.")
        return real(service, **kwargs)

    monkeypatch.setattr(service_import, "save_service", refuse_the_second)
    before = counts(cast.org_a)
    with tenant_context(cast.org_a):
        result = service_import.import_services(
            data=(HEADER + "Race Site,,One,R1,ward,\nRace Site,,Two,R2,ward,\n").encode(),
            filename="race.csv",
            actor=cast.admin_a,
        )
        assert result.pk is None and result.state == ImportState.INVALID
        assert result.errors == [{"line": 3, "message": "Service with this Code already exists."}]
        assert not ServiceImport.objects.exists()
    assert counts(cast.org_a) == before


def test_a_large_file_is_imported_by_a_worker_with_a_progress_bar(
    committed_db: None, celery_worker_thread: object
) -> None:
    """Over 200 rows: queued, run on a real worker in the organisation's schema, progress
    visible through the status endpoint, all of it written in one go."""
    from tenants.provisioning import provision_organisation

    organisation = provision_organisation(
        name="Gamma Import Trust",
        slug="gamma-import",
        kind="acute trust",
        admin_email="admin@gamma-import.example",
        admin_name="Gemma Admin",
        admin_password=PASSWORD,
    ).organisation
    try:
        rows = 900
        text = HEADER + "Gamma General,GG1,Gamma General Hospital,GGH,hospital,\n"
        text += "".join(f"Gamma General,GG1,Ward {n},GW{n},ward,GGH\n" for n in range(rows - 1))
        client = client_for(organisation)
        assert sign_in(client, "admin@gamma-import.example").status_code == 302
        response = upload(client, text, "big.csv")
        assert response.status_code == 302
        page = client.get(response["Location"])
        body = page.content.decode()
        assert "<progress" in body and "/static/onboarding/import-progress.js" in body
        status_url = page.context["status_url"]
        seen: list[dict] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            status = client.get(status_url).json()
            seen.append(status)
            if status["finished"]:
                break
            time.sleep(0.05)
        assert seen[-1]["state"] == "done", seen[-1]
        assert seen[-1]["done"] == rows and seen[-1]["percent"] == 100
        assert any(0 < s["done"] < rows for s in seen), "no progress was visible on the way"
        assert [s["done"] for s in seen] == sorted(s["done"] for s in seen)
        assert counts(organisation) == (1, rows, rows)
        assert "900 services added" in client.get(response["Location"]).content.decode()
    finally:
        organisation.delete(force_drop=True)
