"""A large service import cut short (its task's soft time limit, or its worker dying) is run
again by the sweeper, never left failed for good; one cut short again and again is given up
with a clear message. (tests/faults/test_killed_workers.py shows both on real workers.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from onboarding import service_import
from onboarding.models import ImportState, ServiceImport
from tests.conftest import Cast
from tests.onboarding.test_service_import import HEADER, counts, upload

pytestmark = pytest.mark.django_db

ROWS = 250  # over INLINE_MAX_ROWS: queued for a worker


def large_file() -> str:
    text = HEADER + "Cut General,CG1,Cut General Hospital,CGH,hospital,\n"
    return text + "".join(f"Cut General,CG1,Ward {n},CW{n},ward,CGH\n" for n in range(ROWS - 1))


def out_of_time_at(call: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Celery's soft time limit strikes as the `call`th service is written."""
    save = service_import.save_service
    calls = 0

    def saving(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == call:
            raise SoftTimeLimitExceeded()
        return save(*args, **kwargs)

    monkeypatch.setattr(service_import, "save_service", saving)


def test_an_import_out_of_time_is_queued_again_with_its_file_and_its_page_says_so(
    cast: Cast, admin_a_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = counts(cast.org_a)
    response = upload(admin_a_client, large_file(), "wards.csv")
    assert response.status_code == 302
    with tenant_context(cast.org_a):
        record = ServiceImport.objects.get(filename="wards.csv")
        with monkeypatch.context() as patched:
            out_of_time_at(100, patched)
            with pytest.raises(SoftTimeLimitExceeded):  # the task stops there
                service_import.run_import(record.pk)
        record.refresh_from_db()
    assert counts(cast.org_a) == before  # rolled back: not one of the 99
    assert record.state == ImportState.QUEUED and record.claimed_at is not None
    assert record.content and record.errors == [] and record.finished_at is None
    status = admin_a_client.get(f"/services/import/{record.pk}/status/").json()
    assert status["state"] == "queued" and status["finished"] is False
    assert status["label"].startswith("Interrupted before it finished")
    page = admin_a_client.get(response["Location"]).content.decode()
    assert "it will start again by itself" in page and "Nothing was imported" not in page

    with tenant_context(cast.org_a):
        # The next sweep sends it again at once (a new upload's message gets five minutes).
        assert service_import.requeue_lost_imports() == [record.pk]
        assert service_import.run_import(record.pk) == "done"
        assert service_import.requeue_lost_imports() == []
        record.refresh_from_db()
    assert record.services_created == ROWS
    _, services, listings = counts(cast.org_a)
    assert (services, listings) == (before[1] + ROWS, before[2] + ROWS)
    assert f"{ROWS} services added" in admin_a_client.get(response["Location"]).content.decode()


def test_an_import_cut_short_until_the_give_up_time_fails_with_a_clear_message(
    cast: Cast, admin_a_client: Client
) -> None:
    now = timezone.now()
    long_ago = now - service_import.GIVE_UP_AFTER - timedelta(minutes=1)
    stale = now - service_import.STALE_CLAIM - timedelta(minutes=1)

    def made(filename: str, state: ImportState, **fields: object) -> ServiceImport:
        return ServiceImport.objects.create(
            filename=filename, state=state, total_rows=ROWS, content=large_file(), **fields
        )

    with tenant_context(cast.org_a):
        # Cut short by its time limit again and again, and its worker dead the last time.
        released = made("released.csv", ImportState.QUEUED, created_at=long_ago, claimed_at=stale)
        dead = made("dead.csv", ImportState.RUNNING, created_at=long_ago, claimed_at=stale)
        # Never started (the broker was down all this while): still sent, however old.
        waiting = made("waiting.csv", ImportState.QUEUED, created_at=long_ago)
        # Its worker died a moment ago, or it is still running: not yet.
        recent = made("recent.csv", ImportState.RUNNING, created_at=long_ago, claimed_at=now)

        assert service_import.requeue_lost_imports() == [waiting.pk]
        for record in (released, dead, recent, waiting):
            record.refresh_from_db()
    assert released.state == dead.state == ImportState.FAILED
    assert released.content == dead.content == ""
    assert (recent.state, waiting.state) == (ImportState.RUNNING, ImportState.QUEUED)
    page = admin_a_client.get(f"/services/import/{dead.pk}/").content.decode()
    assert "Nothing was imported" in page
    assert "Split the file into smaller ones" in page
