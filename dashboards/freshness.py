"""A cheap answer to "has anything changed?" for dashboards.

Each organisation has a data version in the cache: a random token replaced, after commit,
whenever its rollups change. Live dashboards poll it and recompute their figures only when
it differs; figures are cached under it, so any number of staff watching share one
computation. A token rather than a counter: if the cache loses it, a new one is made, and
nothing cached under an old token can be mistaken for current.

The tokens live in the public schema's part of the cache, named by organisation schema, so a
network comparison reads all its members' tokens in one round trip.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django_tenants.utils import schema_context

VERSION_TTL = 7 * 24 * 60 * 60


def _key(schema_name: str) -> str:
    return f"dashboards:data-version:{schema_name}"


def data_versions(schema_names: Iterable[str]) -> dict[str, str]:
    """The current token of each schema, making any that are missing."""
    names = list(schema_names)
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        found = cache.get_many([_key(name) for name in names])
        versions = {}
        for name in names:
            version = found.get(_key(name))
            if version is None:
                version = secrets.token_hex(8)
                if not cache.add(_key(name), version, VERSION_TTL):
                    version = cache.get(_key(name)) or version
            versions[name] = version
    return versions


def data_version(schema_name: str | None = None) -> str:
    name = schema_name or connection.schema_name
    return data_versions([name])[name]


def combined_version(schema_names: Iterable[str]) -> str:
    """One token for several organisations' data: it changes when any of theirs does."""
    versions = data_versions(sorted(set(schema_names)))
    joined = ",".join(f"{name}={token}" for name, token in sorted(versions.items()))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def refresh_after_author_mark(sender: object, *, schema_name: str, **kwargs: object) -> None:
    """`author_marked` (feedback/signals.py): the organisation's figures count what authors
    said of its responses, and the marks are not in the rollups, so nothing else would."""
    bump_data_version(schema_name)


def refresh_after_topics(sender: object, *, schema: str, **kwargs: object) -> None:
    """`topics_fitted` (feedback/topics.py): the learned themes' figures are worked out again."""
    bump_data_version(schema)


def bump_data_version(schema_name: str) -> None:
    """Mark `schema_name`'s figures stale once the current transaction commits."""

    def bump() -> None:
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            cache.set(_key(schema_name), secrets.token_hex(8), VERSION_TTL)

    transaction.on_commit(bump)
