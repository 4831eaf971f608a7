"""API v2's JSON of each published story, kept as text (hub.OpinionText) so that a page of the
opinions list is joined together rather than worked out on every request
(feedback/api_encoding.py; benchmarks/public_read.py: 3.7 ms of PostgreSQL a page became
1.6 ms).

Database triggers keep the text, so no writer can forget it (publishing, corrections,
imports and the benchmarks' COPY alike). They rewrite a story's text when:
- the story is written, or a field its text shows changes;
- one of its responses is published, changed or removed;
- a service is added to it or taken off it;
- a listing it names changes its code, name, site or organisation;
- an organisation it names changes its name (services are listed in the order of their
  organisation's name, site and name): every story naming that organisation's services,
  in the renaming transaction.
A story's text is removed with the story.

Each trigger reads its transition tables on their own before it touches another table: Citus
cannot plan a query that joins them to its tables ("unrecognized RTE kind").

What a reader sees differently is left out: the reader's own progress goes between `head`
and `tail`, and a \\x01 byte stands for the API's address in the links (to_json never leaves a
raw control character in a JSON string, so the byte cannot be anything else). The text is the
very answer `feedback.api.opinions_from` gives (tests/feedback/test_api_encoding.py holds
them to it after each kind of change). 'CV' is feedback.api.GENERATED_PREFIX, before the id
of a listing without a code.
"""

from django.db import migrations, models

ISO = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'

FUNCTIONS = f"""
CREATE FUNCTION hub_json_inner(value text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT substr(to_json(value)::text, 2, length(to_json(value)::text) - 2)
$$;

CREATE FUNCTION hub_write_opinion_text(story_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
INSERT INTO hub_opiniontext (story_id, head, tail)
SELECT
    story.id,
    '{{"id": ' || story.id
    || ', "title": ' || to_json(story.title)
    || ', "body": ' || to_json(story.body)
    || ', "dateOfSubmission": "'
        || to_char((story.submitted_at AT TIME ZONE 'Europe/London')::date, 'YYYY-MM-DD')
        || 'T00:00:00Z"'
    || ', "dateOfPublication": "'
        || to_char(story.published_at AT TIME ZONE 'UTC', '{ISO}') || '"'
    || ', "criticality": ' || coalesce(to_json(nullif(story.criticality, ''))::text, 'null'),
    ', "authorRole": ' || to_json(story.author_role)
    || ', "authorAgeGroup": ' || to_json(story.author_age_group)
    || ', "submissionRoute": ' || to_json(story.submission_route)
    || ', "language": ' || to_json(story.language)
    || ', "author": ' || coalesce(to_json(nullif(story.author_nickname, ''))::text, 'null')
    || ', "responseCount": ' || coalesce(answered.count, 0)
    || ', "hasResponse": ' || CASE WHEN answered.count IS NULL THEN 'false' ELSE 'true' END
    || ', "dateOfLastResponse": '
        || coalesce('"' || to_char(answered.last AT TIME ZONE 'UTC', '{ISO}') || '"', 'null')
    || ', "links": ['
        || '{{"relation": "self", "id": "' || story.id || '", "link": "'
        || chr(1) || 'api/v2/opinions/' || story.id
        || '"}}, {{"relation": "tags", "id": "' || story.id || '", "link": "'
        || chr(1) || 'api/v2/opinions/' || story.id || '/tags'
        || '"}}, {{"relation": "responses", "id": "' || story.id || '", "link": "'
        || chr(1) || 'api/v2/opinions/' || story.id || '/responses'
        || '"}}, {{"relation": "healthservices", "id": "' || story.id || '", "link": "'
        || chr(1) || 'api/v2/opinions/' || story.id || '/healthservices"}}'
        || coalesce(', ' || services.links, '')
        || ', {{"relation": "web", "id": "' || story.id || '", "link": "'
        || chr(1) || 'stories/' || story.id || '/"}}'
    || ']}}'
FROM hub_publicstory story
LEFT JOIN LATERAL (
    SELECT count(*) AS count, max(response.published_at) AS last
    FROM hub_publicresponse response
    WHERE response.public_story_id = story.id
    HAVING count(*) > 0
) AS answered ON true
LEFT JOIN LATERAL (
    SELECT string_agg(
        '{{"relation": "healthservice", "id": ' || to_json(nacs.code)
        || ', "link": "' || chr(1) || 'api/v2/healthservices/' || hub_json_inner(nacs.code)
        || '"}}',
        ', ' ORDER BY organisation.name, listing.site_name, listing.name
    ) AS links
    FROM hub_publicstory_services about
    JOIN hub_servicelisting listing ON listing.id = about.servicelisting_id
    JOIN tenants_organisation organisation ON organisation.id = listing.organisation_id
    CROSS JOIN LATERAL (
        SELECT coalesce(nullif(listing.code, ''), 'CV' || listing.id) AS code
    ) AS nacs
    WHERE about.publicstory_id = story.id
) AS services ON true
WHERE story.id = ANY(story_ids)
ON CONFLICT (story_id) DO UPDATE SET head = EXCLUDED.head, tail = EXCLUDED.tail
$$;

-- A story written, or changed where its text shows it.
CREATE FUNCTION hub_story_writes_opinion_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM hub_write_opinion_text(ARRAY(SELECT id FROM new_rows));
    ELSE
        PERFORM hub_write_opinion_text(ARRAY(
            SELECT later.id
            FROM new_rows later JOIN old_rows earlier ON earlier.id = later.id
            WHERE (later.title, later.body, later.submitted_at, later.published_at,
                   later.criticality, later.author_role, later.author_age_group,
                   later.submission_route, later.language, later.author_nickname)
                IS DISTINCT FROM
                  (earlier.title, earlier.body, earlier.submitted_at, earlier.published_at,
                   earlier.criticality, earlier.author_role, earlier.author_age_group,
                   earlier.submission_route, earlier.language, earlier.author_nickname)
        ));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER hub_story_opinion_text_insert AFTER INSERT ON hub_publicstory
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hub_story_writes_opinion_text();
CREATE TRIGGER hub_story_opinion_text_update AFTER UPDATE ON hub_publicstory
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hub_story_writes_opinion_text();

-- A story removed: its text goes too (after its services, whose removal rewrote it).
CREATE FUNCTION hub_story_removes_opinion_text() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    removed bigint[];
BEGIN
    removed := ARRAY(SELECT id FROM old_rows);
    DELETE FROM hub_opiniontext WHERE story_id = ANY(removed);
    RETURN NULL;
END $$;
CREATE TRIGGER hub_story_opinion_text_delete AFTER DELETE ON hub_publicstory
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hub_story_removes_opinion_text();

-- Responses: their number and the last one's time.
CREATE FUNCTION hub_response_writes_opinion_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM hub_write_opinion_text(ARRAY(SELECT DISTINCT public_story_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM hub_write_opinion_text(ARRAY(SELECT DISTINCT public_story_id FROM old_rows));
    ELSE
        PERFORM hub_write_opinion_text(ARRAY(
            SELECT later.public_story_id
            FROM new_rows later JOIN old_rows earlier ON earlier.id = later.id
            WHERE (later.public_story_id, later.published_at)
                IS DISTINCT FROM (earlier.public_story_id, earlier.published_at)
            UNION
            SELECT earlier.public_story_id
            FROM new_rows later JOIN old_rows earlier ON earlier.id = later.id
            WHERE later.public_story_id IS DISTINCT FROM earlier.public_story_id
        ));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER hub_response_opinion_text_insert AFTER INSERT ON hub_publicresponse
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hub_response_writes_opinion_text();
CREATE TRIGGER hub_response_opinion_text_update AFTER UPDATE ON hub_publicresponse
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hub_response_writes_opinion_text();
CREATE TRIGGER hub_response_opinion_text_delete AFTER DELETE ON hub_publicresponse
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hub_response_writes_opinion_text();

-- A service added to a story, or taken off it.
CREATE FUNCTION hub_story_service_writes_opinion_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM hub_write_opinion_text(ARRAY(SELECT DISTINCT publicstory_id FROM new_rows));
    ELSE
        PERFORM hub_write_opinion_text(ARRAY(SELECT DISTINCT publicstory_id FROM old_rows));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER hub_story_service_opinion_text_insert AFTER INSERT ON hub_publicstory_services
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hub_story_service_writes_opinion_text();
CREATE TRIGGER hub_story_service_opinion_text_delete AFTER DELETE ON hub_publicstory_services
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hub_story_service_writes_opinion_text();

-- A listing's code, name, site or organisation: the stories that name it.
CREATE FUNCTION hub_listing_writes_opinion_text() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed bigint[];
BEGIN
    -- The transition tables alone first: Citus cannot plan them joined to its tables.
    changed := ARRAY(
        SELECT later.id FROM new_rows later JOIN old_rows earlier ON earlier.id = later.id
        WHERE (later.code, later.name, later.site_name, later.organisation_id)
            IS DISTINCT FROM
              (earlier.code, earlier.name, earlier.site_name, earlier.organisation_id)
    );
    IF cardinality(changed) > 0 THEN
        PERFORM hub_write_opinion_text(ARRAY(
            SELECT DISTINCT publicstory_id FROM hub_publicstory_services
            WHERE servicelisting_id = ANY(changed)
        ));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER hub_listing_opinion_text AFTER UPDATE ON hub_servicelisting
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hub_listing_writes_opinion_text();

-- An organisation's name orders the services of every story that names it.
CREATE FUNCTION hub_organisation_writes_opinion_text() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    renamed bigint[];
BEGIN
    renamed := ARRAY(
        SELECT later.id FROM new_rows later JOIN old_rows earlier ON earlier.id = later.id
        WHERE later.name IS DISTINCT FROM earlier.name
    );
    IF cardinality(renamed) > 0 THEN
        PERFORM hub_write_opinion_text(ARRAY(
            SELECT DISTINCT about.publicstory_id
            FROM hub_servicelisting listing
            JOIN hub_publicstory_services about ON about.servicelisting_id = listing.id
            WHERE listing.organisation_id = ANY(renamed)
        ));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER hub_organisation_opinion_text AFTER UPDATE ON tenants_organisation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hub_organisation_writes_opinion_text();
"""

BACKFILL = "SELECT hub_write_opinion_text(ARRAY(SELECT id FROM hub_publicstory))"

DROP_FUNCTIONS = """
DROP TRIGGER IF EXISTS hub_organisation_opinion_text ON tenants_organisation;
DROP FUNCTION IF EXISTS hub_organisation_writes_opinion_text();
DROP TRIGGER IF EXISTS hub_listing_opinion_text ON hub_servicelisting;
DROP FUNCTION IF EXISTS hub_listing_writes_opinion_text();
DROP TRIGGER IF EXISTS hub_story_service_opinion_text_insert ON hub_publicstory_services;
DROP TRIGGER IF EXISTS hub_story_service_opinion_text_delete ON hub_publicstory_services;
DROP FUNCTION IF EXISTS hub_story_service_writes_opinion_text();
DROP TRIGGER IF EXISTS hub_response_opinion_text_insert ON hub_publicresponse;
DROP TRIGGER IF EXISTS hub_response_opinion_text_update ON hub_publicresponse;
DROP TRIGGER IF EXISTS hub_response_opinion_text_delete ON hub_publicresponse;
DROP FUNCTION IF EXISTS hub_response_writes_opinion_text();
DROP TRIGGER IF EXISTS hub_story_opinion_text_insert ON hub_publicstory;
DROP TRIGGER IF EXISTS hub_story_opinion_text_update ON hub_publicstory;
DROP TRIGGER IF EXISTS hub_story_opinion_text_delete ON hub_publicstory;
DROP FUNCTION IF EXISTS hub_story_removes_opinion_text();
DROP FUNCTION IF EXISTS hub_story_writes_opinion_text();
DROP FUNCTION IF EXISTS hub_write_opinion_text(bigint[]);
DROP FUNCTION IF EXISTS hub_json_inner(text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("hub", "0013_api_page_order"),
        ("tenants", "0011_schema_migration_state"),
    ]

    operations = [
        migrations.CreateModel(
            name="OpinionText",
            fields=[
                ("story_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("head", models.TextField()),
                ("tail", models.TextField()),
            ],
        ),
        migrations.RunSQL(FUNCTIONS, reverse_sql=DROP_FUNCTIONS),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
