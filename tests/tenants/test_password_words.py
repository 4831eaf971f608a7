"""Passwords built around Carevoice's or the organisation's own name are refused."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context, tenant_context

from tests.conftest import Cast

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("password", ["Carevoice-2026-spring!", "my care voice passphrase"])
def test_the_service_name_is_refused_everywhere(cast: Cast, password: str) -> None:
    for context in (schema_context("public"), tenant_context(cast.org_a)):
        with context, pytest.raises(ValidationError) as refused:
            validate_password(password)
        assert "Carevoice" in " ".join(refused.value.messages)


def test_the_organisations_own_name_is_refused_in_its_workspace_only(cast: Cast) -> None:
    # Organisation A is "Alpha Hospitals NHS Trust", slug "alpha".
    with tenant_context(cast.org_a), pytest.raises(ValidationError):
        validate_password("alpha-passphrase-2026")
    with tenant_context(cast.org_b):
        validate_password("alpha-passphrase-2026")


def test_generic_words_of_a_name_do_not_count_as_the_organisation(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        validate_password("hospitals-are-busy-places-9")


def test_a_weak_context_password_is_refused_on_the_real_change_page(
    cast: Cast, admin_a_client
) -> None:  # noqa: ANN001
    from tests.conftest import PASSWORD

    response = admin_a_client.post(
        "/accounts/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "AlphaAlpha-2026-x",
            "new_password2": "AlphaAlpha-2026-x",
        },
    )
    assert response.status_code == 200
    assert "a name people would guess first" in response.content.decode()
