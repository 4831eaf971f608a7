"""Staff see only the day a story was sent, never its time: an organisation could otherwise
match the second against its own web-server or kiosk logs and find the author. Existing
stories lose their time of day (midnight, UK time, of the day they were sent)."""

from django.db import migrations

TO_THE_DAY = """
UPDATE feedback_story
   SET submitted_at = (date_trunc('day', submitted_at AT TIME ZONE 'Europe/London'))
                      AT TIME ZONE 'Europe/London'
 WHERE submitted_at <> (date_trunc('day', submitted_at AT TIME ZONE 'Europe/London'))
                       AT TIME ZONE 'Europe/London'
"""


class Migration(migrations.Migration):
    dependencies = [("feedback", "0004_story_target_missed_at")]

    operations = [migrations.RunSQL(TO_THE_DAY, reverse_sql=migrations.RunSQL.noop)]
