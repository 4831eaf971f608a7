"""Setting the hosts allowed to frame an organisation's widget (tenants/embedding.py)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from tenants.audit.models import AuditEvent
from tenants.embedding import MAX_HOST_CHARACTERS, clean_embed_hosts, set_embed_hosts
from tenants.models import Organisation
from tests.conftest import Cast

pytestmark = pytest.mark.django_db

ACTION = "widget.hosts_changed"


def stored(organisation: Organisation) -> list[str]:
    return list(Organisation.objects.get(pk=organisation.pk).embed_hosts)


def test_setting_the_hosts_writes_them_cleaned_and_audits_the_change(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        set_embed_hosts(
            cast.org_a,
            ["  WWW.Alpha.example ", "", "*.alpha-trust.example", "www.alpha.example"],
            actor=cast.admin_a,
        )
        assert stored(cast.org_a) == ["www.alpha.example", "*.alpha-trust.example"]
        event = AuditEvent.objects.get(action=ACTION)
        assert event.actor_id == cast.admin_a.pk
        assert event.target_id == str(cast.org_a.pk)
        assert event.detail == {"from": [], "to": ["www.alpha.example", "*.alpha-trust.example"]}

        set_embed_hosts(cast.org_a, [], actor=cast.admin_a)
        assert stored(cast.org_a) == []
        latest = AuditEvent.objects.filter(action=ACTION).latest("pk")
        assert latest.detail == {"from": ["www.alpha.example", "*.alpha-trust.example"], "to": []}
    assert stored(cast.org_b) == []
    with tenant_context(cast.org_b):
        assert not AuditEvent.objects.filter(action=ACTION).exists()


@pytest.mark.parametrize(
    "bad",
    [
        "https://www.alpha.example/path",
        "www.alpha.example 'unsafe-inline'",
        "*",
        "http://www.alpha.example",
        "localhost",
        "a" * 60 + "." + "b" * 60 + "." + "c" * 60 + "." + "d" * 60 + "." + "e" * 30 + ".example",
    ],
)
def test_a_bad_host_is_refused_by_name_and_nothing_is_written(cast: Cast, bad: str) -> None:
    with tenant_context(cast.org_a):
        set_embed_hosts(cast.org_a, ["www.alpha.example"], actor=cast.admin_a)
        before = AuditEvent.objects.filter(action=ACTION).count()
        with pytest.raises(ValidationError) as refused:
            set_embed_hosts(cast.org_a, ["good.alpha.example", bad], actor=cast.admin_a)
        (message,) = refused.value.messages
        assert bad.lower()[:40] in message
        assert stored(cast.org_a) == ["www.alpha.example"]
        assert AuditEvent.objects.filter(action=ACTION).count() == before


def test_every_bad_host_is_named_at_once() -> None:
    with pytest.raises(ValidationError) as refused:
        clean_embed_hosts(["one two.example", "ok.example", "x/y.example"])
    assert len(refused.value.messages) == 2
    assert all(e.code == "embed_host" for e in refused.value.error_list)


def test_a_host_longer_than_the_column_is_refused_with_a_message() -> None:
    long_host = ".".join(["a" * 60] * 5) + ".example"
    assert len(long_host) > MAX_HOST_CHARACTERS
    with pytest.raises(ValidationError, match="longer than a host name can be"):
        clean_embed_hosts([long_host])


def test_the_hosts_and_their_audit_row_commit_or_roll_back_together(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        with (
            mock.patch("tenants.embedding.record_audit", side_effect=RuntimeError("audit down")),
            pytest.raises(RuntimeError, match="audit down"),
        ):
            set_embed_hosts(cast.org_a, ["www.alpha.example"], actor=cast.admin_a)
        assert stored(cast.org_a) == []
