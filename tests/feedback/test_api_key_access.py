"""What an API key may read is remembered between requests (feedback/apikeys.py,
key_access), and forgotten the moment the key, its organisation or a network membership
changes: a revoked key, a closed organisation or a withdrawn consent is seen by the very
next request."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedback.apikeys import NewKey, create_api_key, hash_key, revoke_api_key
from feedback.hub.models import ApiKey
from tenants.models import Organisation, OrganisationStatus
from tenants.networks import set_benchmarking_consent
from tenants.schemas import public_schema
from tests.conftest import Cast
from tests.feedback.test_api import at, b_joins_as_network_member, call, ids, publish

pytestmark = pytest.mark.django_db

KEY_TABLE = ApiKey._meta.db_table


@pytest.fixture
def key_a(cast: Cast) -> NewKey:
    return create_api_key(cast.org_a, name="Alpha analysts", actor=cast.admin_a)


def key_lookups(key: NewKey, path: str = "opinions") -> int:
    """How many queries read the key table while answering one request."""
    with CaptureQueriesContext(connection) as captured:
        assert call(key, path).status_code == 200
    return sum(KEY_TABLE in query["sql"] and "SELECT" in query["sql"] for query in captured)


def test_a_keys_access_is_read_from_the_database_once_then_remembered(key_a: NewKey) -> None:
    assert key_lookups(key_a) == 1
    assert key_lookups(key_a) == 0
    assert key_lookups(key_a, "healthservices") == 0


def test_a_revoked_key_is_refused_on_the_next_request(cast: Cast, key_a: NewKey) -> None:
    assert call(key_a, "opinions").status_code == 200
    revoke_api_key(cast.org_a, key_a.api_key.pk, actor=cast.admin_a)
    assert call(key_a, "opinions", raise_errors=False).status_code == 401


def test_a_closed_organisations_key_is_refused_on_the_next_request(
    cast: Cast, key_a: NewKey
) -> None:
    assert call(key_a, "opinions").status_code == 200
    # A copy: the shared cast's own object must keep its status for the tests after this.
    organisation = Organisation.objects.get(pk=cast.org_a.pk)
    organisation.status = OrganisationStatus.SUSPENDED
    organisation.save(update_fields=["status"])
    assert call(key_a, "opinions", raise_errors=False).status_code == 401


def test_a_withdrawn_consent_takes_the_members_stories_out_at_once(
    cast: Cast, key_a: NewKey
) -> None:
    story_a = publish(cast, [cast.ward_a], title="About Alpha", published_at=at("2025-01-01"))
    story_b = publish(cast, [cast.ward_b], title="About Beta", published_at=at("2025-01-02"))
    membership = b_joins_as_network_member(cast)
    assert ids(key_a) == [story_a, story_b]
    set_benchmarking_consent(membership, False, actor=cast.admin_b)
    assert ids(key_a) == [story_a]
    set_benchmarking_consent(membership, True, actor=cast.admin_b)
    assert ids(key_a) == [story_a, story_b]


def test_an_unknown_key_is_not_remembered(cast: Cast) -> None:
    secret = "cv_" + "x" * 43
    assert call(secret, "opinions", raise_errors=False).status_code == 401
    with public_schema():
        assert cache.get(f"api-key-access:{hash_key(secret)}") is None
