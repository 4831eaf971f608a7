"""The demo's invitations to tell: a batch sent by email (one address opted out) and one by
SMS to an Ofcom drama number, printed; the addresses gone once sent; the same after seeding
again."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from onboarding.models import InvitationBatch
from onboarding.tell_invitations import KIND
from onboarding.tell_invitations_demo import TRUST
from tenants.models import Organisation, OutboxMessage, OutboxMessageState

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    return out.getvalue()


def test_the_demo_sends_invitations_by_email_and_sms_and_is_idempotent(
    settings: object, tmp_path: Path
) -> None:
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    settings.SMS_BACKEND = "tenants.sms.FileBackend"
    output = _seed()
    assert "Invitations to tell (email and SMS):" in output
    assert "2 sent by Email" in output and "1 skipped (opted out)" in output
    assert "1 sent by Text message (SMS)" in output
    assert "/tell/?service=" in output and "/invitations/tell/opt-out/" in output

    trust = Organisation.objects.get(slug=TRUST)
    with tenant_context(trust):
        counts = list(InvitationBatch.objects.values_list("channel", "sent_count"))
    assert sorted(counts) == [("email", 2), ("sms", 1)]
    rows = OutboxMessage.objects.filter(kind=KIND)
    assert rows.count() == 3
    assert all(row.state == OutboxMessageState.SENT and row.recipient == "" for row in rows)
    (text,) = (tmp_path / "sms").iterdir()
    assert text.read_text().startswith("To: +447700900461\n")
    assert "example.org" not in output and "07700" not in output

    _seed()
    with tenant_context(trust):
        assert InvitationBatch.objects.count() == 2
    assert OutboxMessage.objects.filter(kind=KIND).count() == 3
