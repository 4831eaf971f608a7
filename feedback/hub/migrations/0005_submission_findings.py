"""Store the personal details found in submissions and authors' replies (issue #13).

The moderation pages used to scan every pending text on every page load. The findings are
now found once and stored; this finds them for the pending rows already there.
"""

from __future__ import annotations

from django.db import migrations, models

TEXT_FIELDS = ("title", "what_was_good", "what_could_be_improved", "how_it_felt")


def find_pending_details(apps, schema_editor) -> None:  # noqa: ANN001 - migration signature
    from feedback import pii

    def found(text: str) -> list[dict[str, str | int]]:
        return [finding.to_json() for finding in pii.find_personal_details(text)]

    Submission = apps.get_model("hub", "Submission")
    pending = Submission.objects.filter(state="pending", findings__isnull=True)
    for submission in pending.only("pk", *TEXT_FIELDS).iterator():
        submission.findings = {name: found(getattr(submission, name)) for name in TEXT_FIELDS}
        submission.save(update_fields=["findings"])
    AuthorReply = apps.get_model("hub", "AuthorReply")
    replies = AuthorReply.objects.filter(state="pending", findings__isnull=True)
    for reply in replies.only("pk", "body").iterator():
        reply.findings = found(reply.body)
        reply.save(update_fields=["findings"])


class Migration(migrations.Migration):
    dependencies = [
        ("hub", "0004_publicresponse_responder_photo"),
    ]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="findings",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="authorreply",
            name="findings",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(find_pending_details, migrations.RunPython.noop),
    ]
