"""Each organisation's stories in publication order, from one index: the story's
published_at copied onto its organisation links, for API v2's pages (feedback/api_paging.py).

Triggers keep the copy, so no writer can forget it (the product's publishing, imports and the
benchmarks' COPY alike): a link takes its story's published_at when it is written, and a
story whose published_at changes passes it on to its links."""

from django.db import migrations, models

BACKFILL = """
UPDATE hub_publicstory_organisations link SET published_at = story.published_at
FROM hub_publicstory story WHERE story.id = link.publicstory_id
"""

TRIGGERS = """
CREATE FUNCTION hub_link_takes_published_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.published_at := (SELECT published_at FROM hub_publicstory WHERE id = NEW.publicstory_id);
    RETURN NEW;
END $$;
CREATE TRIGGER hub_link_published_at
    BEFORE INSERT OR UPDATE OF publicstory_id, published_at ON hub_publicstory_organisations
    FOR EACH ROW EXECUTE FUNCTION hub_link_takes_published_at();

CREATE FUNCTION hub_story_passes_published_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE hub_publicstory_organisations SET published_at = NEW.published_at
    WHERE publicstory_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER hub_story_published_at
    AFTER UPDATE OF published_at ON hub_publicstory
    FOR EACH ROW WHEN (OLD.published_at IS DISTINCT FROM NEW.published_at)
    EXECUTE FUNCTION hub_story_passes_published_at();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS hub_story_published_at ON hub_publicstory;
DROP FUNCTION IF EXISTS hub_story_passes_published_at();
DROP TRIGGER IF EXISTS hub_link_published_at ON hub_publicstory_organisations;
DROP FUNCTION IF EXISTS hub_link_takes_published_at();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("hub", "0012_story_language"),
    ]

    operations = [
        migrations.AddField(
            model_name="publicstoryorganisation",
            name="published_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(TRIGGERS, reverse_sql=DROP_TRIGGERS),
        migrations.AddIndex(
            model_name="publicstoryorganisation",
            index=models.Index(
                fields=["organisation", "published_at", "publicstory"],
                name="publicstoryorg_page_order",
            ),
        ),
    ]
