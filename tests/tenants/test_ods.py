from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tenants.models import validate_embed_host
from tenants.ods import validate_ods_code
from tenants.slugs import suggest_slug


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("RTH", "acute trust"),
        ("rx4", "mental health trust"),
        ("QE1", "ccg/icb"),
        ("00Q", "ccg/icb"),
        ("A81001", "gp practice"),
        ("NHY12", "hospice"),
    ],
)
def test_valid_ods_codes(code: str, kind: str) -> None:
    validate_ods_code(code, kind)


@pytest.mark.parametrize(
    ("code", "kind", "message"),
    [
        ("R", "acute trust", "3 to 6 letters"),
        ("RTH-1", "acute trust", "3 to 6 letters"),
        ("ABC", "acute trust", "NHS trust code"),
        ("RTH", "gp practice", "GP practice code"),
        ("A8100", "gp practice", "GP practice code"),
        ("RTH", "ccg/icb", "ICB code"),
    ],
)
def test_invalid_ods_codes_say_why(code: str, kind: str, message: str) -> None:
    with pytest.raises(ValidationError) as failure:
        validate_ods_code(code, kind)
    assert message in failure.value.messages[0]


@pytest.mark.parametrize("host", ["www.alpha.nhs.uk", "https://alpha.example", "*.alpha.org"])
def test_embed_hosts_accept_plain_host_names(host: str) -> None:
    validate_embed_host(host)


@pytest.mark.parametrize(
    "host",
    ["alpha.example/path", "'self'", "http://alpha.example", "a b.example", "*", "localhost"],
)
def test_embed_hosts_refuse_anything_that_would_widen_the_policy(host: str) -> None:
    with pytest.raises(ValidationError):
        validate_embed_host(host)


def test_slugs_are_suggested_from_names() -> None:
    assert suggest_slug("Northshire Hospitals NHS Foundation Trust") == "northshire-hospitals"
    assert suggest_slug("The NHS Trust") == "organisation"
