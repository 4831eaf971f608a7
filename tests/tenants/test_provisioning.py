from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import schema_context, schema_exists, tenant_context

from tenants.accounts.models import Role, User
from tenants.audit.models import AuditEvent
from tenants.messages import send_due_messages
from tenants.migrating import forget_migration_state
from tenants.models import Domain, Organisation, OrganisationStatus
from tenants.provisioning import provision_organisation
from tests.conftest import PASSWORD, client_for, sign_in

pytestmark = pytest.mark.django_db


def _provision(slug: str, **overrides: object) -> object:
    arguments = {
        "name": f"{slug.title()} Health",
        "slug": slug,
        "kind": "hospice",
        "admin_email": f"first@{slug}.example",
        "admin_name": "First Admin",
        "admin_password": PASSWORD,
    }
    arguments.update(overrides)
    return provision_organisation(**arguments)


def _nothing_left_of(slug: str) -> None:
    with schema_context("public"):
        assert not Organisation.objects.filter(slug=slug).exists()
        assert not Domain.objects.filter(domain=f"{slug}.{settings.BASE_DOMAIN}").exists()
    assert not schema_exists(f"org_{slug.replace('-', '_')}")


def test_provisioning_makes_a_ready_workspace_its_admin_can_sign_in_to() -> None:
    result = _provision("gamma-hospice", ods_code="g1234")

    organisation = result.organisation
    assert organisation.status == OrganisationStatus.ACTIVE
    assert organisation.ready_at is not None
    assert organisation.schema_name == "org_gamma_hospice"
    assert organisation.ods_code == "G1234"
    assert organisation.get_primary_domain().domain == "gamma-hospice.localhost"
    assert schema_exists("org_gamma_hospice")
    with tenant_context(organisation):
        admin = User.objects.get()
        assert admin.email == "first@gamma-hospice.example"
        assert admin.role == Role.ADMINISTRATOR
        assert AuditEvent.objects.filter(action="organisation.provisioned").count() == 1

    client = client_for(organisation)
    response = sign_in(client, "first@gamma-hospice.example")
    assert response.status_code == 302
    page = client.get("/")
    assert page.status_code == 200
    assert "Gamma-Hospice Health" in page.content.decode()


def test_provisioning_clones_every_tenant_migration_and_no_template_rows() -> None:
    result = _provision("delta")
    loader = MigrationLoader(connection)
    tenant_apps = {app.rsplit(".", 1)[-1] for app in settings.TENANT_APPS}
    expected = {(app, name) for (app, name) in loader.disk_migrations if app in tenant_apps}
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT app, name FROM "{result.organisation.schema_name}".django_migrations'
        )
        applied = set(cursor.fetchall())
        cursor.execute(f'SELECT count(*) FROM "{settings.TENANT_BASE_SCHEMA}".accounts_user')
        template_users = cursor.fetchone()[0]
    assert expected <= applied
    assert template_users == 0


def test_a_failure_part_way_leaves_no_half_made_tenant() -> None:
    # The password is checked after the schema is cloned and the domain made.
    with pytest.raises(ValidationError) as failure:
        _provision("epsilon", admin_password="password")
    assert "too common" in " ".join(failure.value.messages)
    _nothing_left_of("epsilon")


def test_an_invalid_admin_address_fails_after_cloning_and_rolls_everything_back() -> None:
    with pytest.raises(ValidationError):
        _provision("zeta", admin_email="not an address")
    _nothing_left_of("zeta")


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("Bad_Slug", "lower-case letters"),
        ("-leading", "lower-case letters"),
        ("www", "reserved"),
    ],
)
def test_bad_slugs_are_refused_with_a_reason(slug: str, message: str) -> None:
    with pytest.raises(ValidationError) as failure:
        _provision(slug)
    assert message in " ".join(failure.value.messages)


def test_a_taken_slug_is_refused(cast: object) -> None:
    with pytest.raises(ValidationError) as failure:
        _provision("alpha")
    assert "already taken" in " ".join(failure.value.messages)


def test_an_ods_code_of_the_wrong_shape_for_the_kind_is_refused() -> None:
    with pytest.raises(ValidationError) as failure:
        _provision("eta", kind="gp practice", ods_code="RTH")
    assert "GP practice code" in " ".join(failure.value.messages)
    _nothing_left_of("eta")


def test_create_organisation_command_emails_a_working_set_password_link() -> None:
    call_command(
        "create_organisation",
        "Theta Community Health NHS Trust",
        "--kind",
        "community trust",
        "--ods-code",
        "RY9",
        "--admin-email",
        "lead@theta.example",
        "--admin-name",
        "Tess Lead",
    )
    organisation = Organisation.objects.get(slug="theta-community-health")
    assert organisation.is_ready
    assert mail.outbox == []  # written to the outbox, which sends it
    assert send_due_messages() == 1
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    link = re.search(r"http://theta-community-health\.localhost:8000(/\S+)", body)
    assert link, body

    client = client_for(organisation)
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200
    set_url = form.redirect_chain[-1][0]
    new_password = "a-fresh-long-password-7"
    done = client.post(set_url, {"new_password1": new_password, "new_password2": new_password})
    assert done.status_code == 302
    assert sign_in(client, "lead@theta.example", new_password).status_code == 302


def test_create_organisation_command_reports_bad_input_without_a_traceback() -> None:
    with pytest.raises(CommandError, match="not a valid code"):
        call_command(
            "create_organisation",
            "Iota Practice",
            "--kind",
            "gp practice",
            "--ods-code",
            "Q12",
            "--admin-email",
            "gp@iota.example",
            "--admin-name",
            "Ida",
            "--admin-password",
            PASSWORD,
        )


def test_migrate_keeps_the_template_schema_migrated() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM \"{settings.TENANT_BASE_SCHEMA}\".django_migrations WHERE app = 'audit'"
        )
        cursor.execute(f'DROP TABLE "{settings.TENANT_BASE_SCHEMA}".audit_auditevent')
    forget_migration_state([settings.TENANT_BASE_SCHEMA])
    call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name = 'audit_auditevent'",
            [settings.TENANT_BASE_SCHEMA],
        )
        assert cursor.fetchone()[0] == 1
