"""A page of opinions as JSON text, joined together by PostgreSQL in one query.

`feedback.api.opinions_from` builds each opinion in Python from four queries; for a list of
100 that is most of a request's time (reading the rows, making 100 dictionaries with their
links, encoding 120 KB of JSON). For JSON answers to the opinions list, PostgreSQL gives the
same array instead (the same keys in the same order, the same values), so Python only passes
the text on. Each opinion's text is kept in hub.OpinionText by database triggers (migration
hub 0014_opinion_text) whenever anything it shows changes, so a page only joins the texts of
its stories, with the reader's own progress between each text's two parts and the API's
address put in the links. `opinions_from` stays the reference: XML answers and single
opinions use it, and tests/feedback/test_api_encoding.py holds the two to the same answer,
page by page and after each kind of change.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import connection

from feedback.choices import Progress
from feedback.hub.models import OpinionText, PublicStoryOrganisation

# Each opinion is its kept text with the reader's progress put in; the address goes in once,
# over the whole page (in the kept text a \x01 byte stands for it: see hub.OpinionText).
OPINIONS_SQL = f"""
SELECT replace(
    '[' || coalesce(string_agg(
        opinion.head
        || ', "progress": '
        || to_json(coalesce((%(progress)s::text[])[progress.furthest], %(unheard)s))
        || opinion.tail,
        ', ' ORDER BY page.position), '') || ']',
    chr(1),
    substr(to_json(%(base)s::text)::text, 2, length(to_json(%(base)s::text)::text) - 2))
FROM unnest({{ids}}) WITH ORDINALITY AS page (id, position)
JOIN {OpinionText._meta.db_table} opinion ON opinion.story_id = page.id
LEFT JOIN LATERAL (
    SELECT max(array_position(%(progress)s::text[], link.progress::text)) AS furthest
    FROM {PublicStoryOrganisation._meta.db_table} link
    WHERE link.publicstory_id = opinion.story_id AND link.organisation_id = ANY(%(readers)s)
) AS progress ON true
"""


def opinions_json(story_ids: list[int], base: str, readers: list[int]) -> str:
    """The JSON array of the opinions `story_ids`, in that order, as `opinions_from` makes
    it for a key reading the organisations `readers`, with links under `base`. Stories
    that no longer exist are left out."""
    return _run("%(ids)s::bigint[]", {"ids": story_ids}, base, readers)


def page_json(
    page: tuple[str, tuple[Any, ...]], *, descending: bool, base: str, readers: list[int]
) -> str:
    """The same array for the stories of `page`, the SQL and parameters of a page of (ordering
    value, story id) rows (feedback/api_paging.py, page_sql, or a page_query compiled): the
    page is found and written in one query, so its ids never travel to Python and back."""
    page_sql, page_params = page
    named, params = _named_parameters(page_sql, tuple(page_params))
    direction = "DESC" if descending else "ASC"
    ids = (
        f"(SELECT coalesce(array_agg(listed.id ORDER BY listed.value {direction}, "
        f"listed.id {direction}), '{{}}'::bigint[]) FROM ({named}) AS listed (value, id))"
    )
    return _run(ids, params, base, readers)


def _run(ids: str, params: dict[str, Any], base: str, readers: list[int]) -> str:
    params = {
        **params,
        "base": base,
        "readers": readers,
        "progress": list(Progress.values),
        "unheard": Progress.UNHEARD.value,
    }
    with connection.cursor() as cursor:
        cursor.execute(OPINIONS_SQL.replace("{ids}", ids), params)
        (text,) = cursor.fetchone()
    return text


PLACEHOLDER = re.compile(r"%%|%s")


def _named_parameters(sql: str, params: tuple[Any, ...]) -> tuple[str, dict[str, Any]]:
    """A query with %s placeholders rewritten with named ones (%(page_0)s, ...), so it can
    sit inside a query that names its parameters. A literal %% is left as it is."""
    numbers = iter(range(len(params)))

    def name(match: re.Match[str]) -> str:
        return "%%" if match.group(0) == "%%" else f"%(page_{next(numbers)})s"

    named = PLACEHOLDER.sub(name, sql)
    if next(numbers, None) is not None:
        raise ValueError("the page query has more parameters than placeholders")
    return named, {f"page_{n}": value for n, value in enumerate(params)}
