# Reminders are written to the outbox (tenants/messages.py), which claims, retries and parks
# them; a booking keeps only when its reminder was written.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("training", "0002_reminder_outbox"),
    ]

    operations = [
        # A sent reminder kept its time here; one claimed by a worker that died (never marked
        # sent) has none, so it is written to the outbox and sent once more.
        migrations.RenameField(
            model_name="booking",
            old_name="reminder_sent_at",
            new_name="reminded_at",
        ),
        migrations.RemoveField(model_name="booking", name="reminder_state"),
        migrations.RemoveField(model_name="booking", name="reminder_claimed_at"),
        migrations.RemoveField(model_name="booking", name="reminder_error"),
    ]
