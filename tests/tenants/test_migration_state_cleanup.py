"""What `migrate` recorded of a schema (tenants/migrating.py) goes when its organisation is
deleted and its schema dropped. Committed (no test transaction): a schema cannot be dropped
in the transaction that made it."""

from __future__ import annotations

from tenants.models import SchemaMigrationState


def test_a_deleted_organisations_recorded_state_goes_with_it(committed_db: None) -> None:
    """Committed, so the schema's drop is not inside the transaction that made it."""
    from django.utils import timezone

    from tenants.models import Organisation
    from tenants.provisioning import provision_organisation

    Organisation.objects.filter(slug="short-lived").delete()
    organisation = provision_organisation(
        name="Short Lived",
        slug="short-lived",
        kind="hospice",
        admin_email="first@short-lived.example",
        admin_name="First Admin",
    ).organisation
    SchemaMigrationState.objects.create(
        schema_name=organisation.schema_name, complete_for="0" * 64, recorded_at=timezone.now()
    )
    try:
        kept = SchemaMigrationState.objects.exclude(schema_name=organisation.schema_name).count()
        organisation.delete(force_drop=True)
        gone = not SchemaMigrationState.objects.filter(
            schema_name=organisation.schema_name
        ).exists()
        assert gone and SchemaMigrationState.objects.count() == kept
    finally:
        Organisation.objects.filter(slug="short-lived").delete()
        SchemaMigrationState.objects.filter(schema_name=organisation.schema_name).delete()
