"""A page of opinions as JSON text, built by PostgreSQL in one query.

`feedback.api.opinions_from` builds each opinion in Python from four queries; for a list of
100 that is most of a request's time (reading the rows, making 100 dictionaries with their
links, encoding 120 KB of JSON). For JSON answers to the opinions list, this query builds the
same array instead (the same keys in the same order, the same values), so Python only passes
the text on. `opinions_from` stays the reference: XML answers and single opinions use it, and
tests/feedback/test_api_encoding.py holds the two to the same answer, page by page.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from feedback.choices import Progress
from feedback.hub.models import (
    PublicResponse,
    PublicStory,
    PublicStoryOrganisation,
    ServiceListing,
)
from tenants.models import Organisation

ISO = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'

# Each opinion is written as text, key by key, rather than with json_build_object: values
# are quoted by to_json, and nothing is parsed again, which halves the query's time.
OPINION_TEXT = f"""
'{{"id": ' || story.id
|| ', "title": ' || to_json(story.title)
|| ', "body": ' || to_json(story.body)
|| ', "dateOfSubmission": "'
    || to_char((story.submitted_at AT TIME ZONE 'Europe/London')::date, 'YYYY-MM-DD')
    || 'T00:00:00Z"'
|| ', "dateOfPublication": "' || to_char(story.published_at AT TIME ZONE 'UTC', '{ISO}') || '"'
|| ', "criticality": ' || coalesce(to_json(nullif(story.criticality, ''))::text, 'null')
|| ', "progress": '
    || to_json(coalesce((%(progress)s::text[])[progress.furthest], %(unheard)s))
|| ', "authorRole": ' || to_json(story.author_role)
|| ', "authorAgeGroup": ' || to_json(story.author_age_group)
|| ', "submissionRoute": ' || to_json(story.submission_route)
|| ', "language": ' || to_json(story.language)
|| ', "author": ' || coalesce(to_json(nullif(story.author_nickname, ''))::text, 'null')
|| ', "responseCount": ' || coalesce(answered.count, 0)
|| ', "hasResponse": ' || CASE WHEN answered.count IS NULL THEN 'false' ELSE 'true' END
|| ', "dateOfLastResponse": '
    || coalesce('"' || to_char(answered.last AT TIME ZONE 'UTC', '{ISO}') || '"', 'null')
|| ', "links": ['
    || '{{"relation": "self", "id": "' || story.id || '", "link": ' || to_json(address.opinion)
    || '}}, {{"relation": "tags", "id": "' || story.id || '", "link": '
    || to_json(address.opinion || '/tags')
    || '}}, {{"relation": "responses", "id": "' || story.id || '", "link": '
    || to_json(address.opinion || '/responses')
    || '}}, {{"relation": "healthservices", "id": "' || story.id || '", "link": '
    || to_json(address.opinion || '/healthservices') || '}}'
    || coalesce(', ' || services.links, '')
    || ', {{"relation": "web", "id": "' || story.id || '", "link": '
    || to_json(%(base)s || 'stories/' || story.id || '/') || '}}'
|| ']}}'
"""

OPINIONS_SQL = f"""
SELECT '[' || coalesce(string_agg({OPINION_TEXT}, ', ' ORDER BY page.position), '') || ']'
FROM unnest({{ids}}) WITH ORDINALITY AS page (id, position)
JOIN {PublicStory._meta.db_table} story ON story.id = page.id
CROSS JOIN LATERAL (SELECT %(base)s || 'api/v2/opinions/' || story.id AS opinion) AS address
LEFT JOIN LATERAL (
    SELECT max(array_position(%(progress)s::text[], link.progress::text)) AS furthest
    FROM {PublicStoryOrganisation._meta.db_table} link
    WHERE link.publicstory_id = story.id AND link.organisation_id = ANY(%(readers)s)
) AS progress ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS count, max(response.published_at) AS last
    FROM {PublicResponse._meta.db_table} response
    WHERE response.public_story_id = story.id
    HAVING count(*) > 0
) AS answered ON true
LEFT JOIN LATERAL (
    SELECT string_agg(
        '{{"relation": "healthservice", "id": ' || to_json(nacs.code)
        || ', "link": ' || to_json(%(base)s || 'api/v2/healthservices/' || nacs.code) || '}}',
        ', ' ORDER BY organisation.name, listing.site_name, listing.name
    ) AS links
    FROM {PublicStory.services.through._meta.db_table} about
    JOIN {ServiceListing._meta.db_table} listing ON listing.id = about.servicelisting_id
    JOIN {Organisation._meta.db_table} organisation ON organisation.id = listing.organisation_id
    CROSS JOIN LATERAL (
        SELECT coalesce(nullif(listing.code, ''), %(generated)s || listing.id) AS code
    ) AS nacs
    WHERE about.publicstory_id = story.id
) AS services ON true
"""


def opinions_json(
    story_ids: list[int], base: str, readers: list[int], *, generated_prefix: str
) -> str:
    """The JSON array of the opinions `story_ids`, in that order, as `opinions_from` makes
    it for a key reading the organisations `readers`, with links under `base` (and
    `generated_prefix` before the id of a listing without a code). Stories that no longer
    exist are left out."""
    return _run("%(ids)s::bigint[]", {"ids": story_ids}, base, readers, generated_prefix)


def page_json(
    page: QuerySet[Any],
    *,
    descending: bool,
    base: str,
    readers: list[int],
    generated_prefix: str,
) -> str:
    """The same array for the stories of `page`, a sliced query of (ordering value, story
    id) rows in list order (feedback/api_paging.py, page_query): the page is found and
    written in one query, so its ids never travel to Python and back."""
    page_sql, page_params = page.query.sql_with_params()
    named, params = _named_parameters(page_sql, page_params)
    direction = "DESC" if descending else "ASC"
    ids = (
        f"(SELECT coalesce(array_agg(listed.id ORDER BY listed.value {direction}, "
        f"listed.id {direction}), '{{}}'::bigint[]) FROM ({named}) AS listed (value, id))"
    )
    return _run(ids, params, base, readers, generated_prefix)


def _run(
    ids: str, params: dict[str, Any], base: str, readers: list[int], generated_prefix: str
) -> str:
    params = {
        **params,
        "base": base,
        "readers": readers,
        "progress": list(Progress.values),
        "unheard": Progress.UNHEARD.value,
        "generated": generated_prefix,
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
