"""Deep pages of the read API's lists, without reading every row before them.

API v2 lists are paged with `skip` and `take` (feedback/api.py). With OFFSET, PostgreSQL
reads and throws away `skip` rows for every page, so at 200,000 stories a deep page costs
tens of milliseconds of database time, every time.

Instead, the first time a deep page of a list is asked for (one set of readers, filters and
order, at one version of the public data), one query numbers the list's rows and keeps the
ordering key of every STRIDE-th row, and the number of rows: the list's page boundaries,
cached. A page then starts at the boundary at or before `skip` (a keyset condition on the
ordering index), skips fewer than STRIDE rows and stops at the first boundary past its last
row, so it reads at most 2 x STRIDE rows however deep it is (a page is at most 100 rows).
A page past the end is known from the count, with no query at all. Pages within the first
STRIDE rows read from the start of the list as before: they need no boundaries.

The list is named by its own SQL (the query that orders it, with every filter and the
readers in it), so two questions share boundaries exactly when they list the same rows in
the same order. The boundaries are cached under the public data's version
(feedback/public_cache.py), which every publication, withdrawal, response, progress change
and directory change bumps: they are never used once the rows they count may have changed.
TRICKY: anything that adds, removes or re-orders public stories without bumping that version
would make deep pages skip or repeat rows; the page cache in feedback/api.py relies on the
same bump.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from psycopg.types.json import Json, Jsonb

from feedback.public_cache import public_version

# Rows between two boundaries: a page reads fewer than 2 x STRIDE rows, and a list of
# 200,000 rows has 200 boundaries (a few kilobytes in the cache).
STRIDE = 1000
# Boundaries outlive a version only until the cache drops them.
BOUNDARIES_SECONDS = 3600


@dataclass(frozen=True)
class Boundaries:
    """Where a list's pages start: the ordering key (value, id) of rows 0, STRIDE,
    2 x STRIDE, ... in list order, and how many rows the list has."""

    total: int
    keys: tuple[tuple[Any, int], ...]


def page_of(
    rows: QuerySet[Any],
    *,
    order_field: str,
    descending: bool,
    skip: int,
    take: int,
    id_field: str = "pk",
) -> list[Any]:
    """Rows `skip` to `skip + take` of `rows` ordered by (`order_field`, `id_field`), the
    largest first when `descending`: exactly what `rows.order_by(...)[skip : skip + take]`
    gives. The pair must be unique in `rows` and an index should cover it."""
    page = page_query(
        rows,
        order_field=order_field,
        descending=descending,
        skip=skip,
        take=take,
        id_field=id_field,
    )
    return [] if page is None else list(page)


def page_query(
    rows: QuerySet[Any],
    *,
    order_field: str,
    descending: bool,
    skip: int,
    take: int,
    id_field: str = "pk",
) -> QuerySet[Any] | None:
    """The query `page_of` reads (not yet run), or None when the page is known to be empty
    without one: nothing asked for, or past the end of the list."""
    if take <= 0:
        return None
    sign = "-" if descending else ""
    ordered = rows.order_by(f"{sign}{order_field}", f"{sign}{id_field}")
    if skip + take <= STRIDE:
        return ordered[skip : skip + take]
    bounds = boundaries(rows, order_field=order_field, descending=descending, id_field=id_field)
    if skip >= bounds.total:
        return None
    window = _window(bounds, skip, take)
    meta = rows.model._meta
    table = connection.ops.quote_name(meta.db_table)
    column = connection.ops.quote_name(meta.get_field(order_field).column)
    id_column = meta.pk.column if id_field == "pk" else meta.get_field(id_field).column
    key = f"({table}.{column}, {table}.{connection.ops.quote_name(id_column)})"
    # From the boundary at or before the page's first row (inclusive) to the first one past
    # its last row (exclusive): a range of the (value, id) index, whatever the filters.
    ordered = ordered.filter(_compare(key, "<=" if descending else ">=", window.first))
    if window.past is not None:
        ordered = ordered.filter(_compare(key, ">" if descending else "<", window.past))
    return ordered[window.offset : window.offset + take]


@dataclass(frozen=True)
class Listing:
    """A list written as SQL rather than as a query set, for the busiest lists, whose query
    would cost more to build with the ORM than to run: `sql` selects each row's ordering
    value and id, in that order, neither ordered nor sliced, with `params` for its %s
    placeholders; `label` names what is listed, for the boundaries' cache key."""

    label: str
    sql: str
    params: tuple[Any, ...]


def page_sql(
    listing: Listing, *, descending: bool, skip: int, take: int
) -> tuple[str, tuple[Any, ...]] | None:
    """`page_query` for a `Listing`: the SQL (and its parameters) of rows `skip` to
    `skip + take` as (value, id) in list order, or None when the page is known to be empty
    without a query."""
    if take <= 0:
        return None
    direction = "DESC" if descending else "ASC"
    conditions: list[str] = []
    values: list[Any] = []
    start = skip
    if skip + take > STRIDE:
        bounds = _boundaries_of(listing, direction)
        if skip >= bounds.total:
            return None
        window = _window(bounds, skip, take)
        conditions.append(f"(listed.value, listed.id) {'<=' if descending else '>='} (%s, %s)")
        values += window.first
        if window.past is not None:
            conditions.append(f"(listed.value, listed.id) {'>' if descending else '<'} (%s, %s)")
            values += window.past
        start = window.offset
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    sql = (
        f"SELECT listed.value, listed.id FROM ({listing.sql}) AS listed (value, id) {where} "
        f"ORDER BY listed.value {direction}, listed.id {direction} LIMIT %s OFFSET %s"
    )
    return sql, (*listing.params, *values, take, start)


def boundaries(
    rows: QuerySet[Any], *, order_field: str, descending: bool, id_field: str = "pk"
) -> Boundaries:
    """The page boundaries of `rows` in (`order_field`, `id_field`) order: from the cache,
    else numbered by one query and cached under the public data's version."""
    listed = rows.order_by().values_list(order_field, id_field)
    sql, params = listed.query.sql_with_params()
    listing = Listing(rows.model._meta.label, sql, tuple(params))
    return _boundaries_of(listing, "DESC" if descending else "ASC")


def _boundaries_of(listing: Listing, direction: str) -> Boundaries:
    question = repr(
        (listing.label, listing.sql, [_stable(param) for param in listing.params], direction)
    ).encode()
    cache_key = f"api-pages:{public_version()}:{hashlib.sha256(question).hexdigest()}"
    found = cache.get(cache_key)
    if found is not None:
        return found
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT value, id, total FROM (
                SELECT listed.value, listed.id,
                       row_number() OVER (ORDER BY listed.value {direction},
                                                   listed.id {direction}) - 1 AS position,
                       count(*) OVER () AS total
                FROM ({listing.sql}) AS listed (value, id)
            ) AS numbered
            WHERE position %% %s = 0
            ORDER BY position
            """,
            [*listing.params, STRIDE],
        )
        found_rows = cursor.fetchall()
    found = Boundaries(
        total=int(found_rows[0][2]) if found_rows else 0,
        keys=tuple((value, int(pk)) for value, pk, _ in found_rows),
    )
    cache.set(cache_key, found, timeout=BOUNDARIES_SECONDS)
    return found


@dataclass(frozen=True)
class _Window:
    """Where a deep page is read: from the boundary at or before its first row (inclusive),
    to the first boundary past its last row (exclusive; None at the end of the list),
    skipping `offset` rows after the first."""

    first: tuple[Any, int]
    past: tuple[Any, int] | None
    offset: int


def _window(bounds: Boundaries, skip: int, take: int) -> _Window:
    index = skip // STRIDE
    after = -(-(skip + take) // STRIDE)
    return _Window(
        first=bounds.keys[index],
        past=bounds.keys[after] if after < len(bounds.keys) else None,
        offset=skip - index * STRIDE,
    )


def _compare(key: str, operator: str, boundary: tuple[Any, int]) -> RawSQL:
    """`(value, id) <operator> boundary` in SQL, a row comparison the (value, id) index
    answers as a range."""
    return RawSQL(f"{key} {operator} (%s, %s)", boundary, output_field=BooleanField())


def _stable(param: Any) -> Any:
    """A query parameter as the cache key should see it: a JSON parameter (the tag filter's)
    by its whole content, since psycopg's repr of one is cut short after 40 characters."""
    if isinstance(param, Json | Jsonb):
        return ("json", json.dumps(param.obj, sort_keys=True))
    return param
