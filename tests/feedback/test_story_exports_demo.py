"""The demo's exports: the first provider's administrator has an Excel export of its
moderately critical stories ready, the ICB's a CSV of its network members' stories; both
download through their signed links, and seeding again adds nothing."""

from __future__ import annotations

import csv
import io
from html import escape
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from django_tenants.utils import tenant_context
from openpyxl import load_workbook

from feedback import exporting
from feedback.models import ExportState, Story, StoryExport
from tenants.demo import DEMO_PASSWORD
from tenants.models import Organisation
from tests.conftest import client_for, sign_in

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    return out.getvalue()


def _download(organisation: Organisation, export: StoryExport) -> bytes:
    client = client_for(organisation)
    email = f"admin@{organisation.slug}.example"
    assert sign_in(client, email, DEMO_PASSWORD).status_code == 302
    assert escape(export.description) in client.get("/exports/").content.decode()
    with tenant_context(organisation):
        link = exporting.signed_link(export)
    response = client.get(f"/exports/file/{link}/")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_the_demo_has_exports_ready_to_download(tmp_path) -> None:  # noqa: ANN001
    with override_settings(MEDIA_ROOT=tmp_path):
        output = _seed()
        provider = Organisation.objects.get(slug="northshire-hospitals")
        icb = Organisation.objects.get(slug="northshire-icb")
        with tenant_context(provider):
            export = StoryExport.objects.get()
            critical = Story.objects.filter(criticality="moderately critical").count()
        assert export.state == ExportState.DONE and export.format == "xlsx"
        assert export.rows == critical > 0
        book = load_workbook(io.BytesIO(_download(provider, export)))
        assert book["Stories"].max_row == critical + 1
        with tenant_context(icb):
            network = StoryExport.objects.get()
        assert network.scope == "network" and network.rows > 0
        rows = list(csv.DictReader(io.StringIO(_download(icb, network).decode("utf-8-sig"))))
        assert len(rows) == network.rows
        assert provider.workspace_url("/exports/") in output
        assert icb.workspace_url("/exports/") in output

        _seed()
        with tenant_context(provider):
            assert StoryExport.objects.count() == 1  # made once
