"""The inbox's service filter reads the stories of a service and its children from the
story-service links: with (service_id, story_id) in one index that is an index-only scan,
not a visit to every matching link's row (benchmarks/inbox.py: about 7 ms off a service
filter at 200,000 stories). The links table is Django's own for Story.services, so the
index is made here rather than declared on a model."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("feedback", "0009_inbox_search_index")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS feedback_story_services_by_service "
            "ON feedback_story_services (service_id, story_id)",
            reverse_sql="DROP INDEX IF EXISTS feedback_story_services_by_service",
        )
    ]
