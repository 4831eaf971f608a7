"""Provisioning tells the apps above tenants by `organisation_provisioned` (tenants/signals.py),
inside its transaction and the new organisation's schema: alerts makes the default rule
there, exactly once whichever path provisions, and a receiver that fails leaves nothing of
the organisation behind."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_context, schema_exists, tenant_context

from alerts.models import AlertRule
from tenants.accounts.models import User
from tenants.models import Domain, Organisation
from tenants.provisioning import provision_organisation
from tenants.signals import organisation_provisioned
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

DEFAULT_RULE = "Strongly and severely critical stories"


def _provision(slug: str) -> Any:  # noqa: ANN401 - tenants.provisioning.Provisioned
    return provision_organisation(
        name=f"{slug.title()} Health",
        slug=slug,
        kind="hospice",
        admin_email=f"first@{slug}.example",
        admin_name="First Admin",
        admin_password=PASSWORD,
    )


@contextmanager
def listening() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    sends: list[tuple[str, dict[str, Any]]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        kwargs.pop("signal")
        sends.append((connection.schema_name, kwargs))

    organisation_provisioned.connect(receiver)
    try:
        yield sends
    finally:
        organisation_provisioned.disconnect(receiver)


def test_provisioning_sends_organisation_provisioned_once_in_the_new_schema() -> None:
    with listening() as sends:
        result = _provision("theta")
    [(schema, sent)] = sends
    assert schema == "org_theta"
    assert sent["organisation"].pk == result.organisation.pk
    assert sent["admin"].pk == result.admin.pk
    assert sent["admin"].email == "first@theta.example"


def test_the_default_rule_is_made_once_for_the_first_admin() -> None:
    result = _provision("iota")
    with tenant_context(result.organisation):
        rule = AlertRule.objects.get()  # exactly one rule, the default
        assert rule.name == DEFAULT_RULE
        assert rule.owner_id == result.admin.pk
        assert list(rule.recipients.values_list("email", flat=True)) == ["first@iota.example"]
        assert (rule.min_criticality, rule.frequency) == ("strongly critical", "instant")


def test_the_template_holds_no_rule_for_a_clone_to_copy() -> None:
    _provision("kappa")
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{settings.TENANT_BASE_SCHEMA}".alerts_alertrule')
        assert cursor.fetchone()[0] == 0


def test_the_management_command_gives_the_default_rule_once() -> None:
    call_command(
        "create_organisation",
        "Lambda Health",
        "--slug",
        "lambda",
        "--kind",
        "hospice",
        "--admin-email",
        "first@lambda.example",
        "--admin-name",
        "First Admin",
        stdout=io.StringIO(),
    )
    with schema_context("public"):
        organisation = Organisation.objects.get(slug="lambda")
    with tenant_context(organisation):
        assert list(AlertRule.objects.values_list("name", "owner__email")) == [
            (DEFAULT_RULE, "first@lambda.example")
        ]


def test_a_failing_receiver_leaves_no_half_made_organisation(monkeypatch) -> None:  # noqa: ANN001
    def broken(admin: User) -> None:
        raise RuntimeError("the default rule could not be made")

    monkeypatch.setattr("alerts.receivers.create_default_rule", broken)
    with pytest.raises(RuntimeError, match="default rule"):
        _provision("mu")
    with schema_context("public"):
        assert not Organisation.objects.filter(slug="mu").exists()
        assert not Domain.objects.filter(domain=f"mu.{settings.BASE_DOMAIN}").exists()
    assert not schema_exists("org_mu")
