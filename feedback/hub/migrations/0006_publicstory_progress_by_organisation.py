"""Each organisation's own progress on a published story.

The plain many-to-many table `hub_publicstory_organisations` becomes the explicit model
PublicStoryOrganisation (the table and its columns are kept as they are), and gains a
`progress` column. Existing rows are filled in two steps:

1. from the story's shared progress (what every organisation showed until now), so every
   row has a value even where step 2 cannot see the organisation's schema;
2. from each organisation's own Story.progress, read from its schema, which is the truth.
"""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models

PROGRESS_CHOICES = [
    ("unheard", "Unheard"),
    ("heard", "Heard"),
    ("read", "Read"),
    ("responded", "Responded"),
    ("changed", "Change planned or made"),
]


def fill_progress(apps, schema_editor) -> None:  # noqa: ANN001
    quote = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "UPDATE hub_publicstory_organisations AS link SET progress = story.progress "
            "FROM hub_publicstory AS story WHERE story.id = link.publicstory_id"
        )
        Organisation = apps.get_model("tenants", "Organisation")
        for organisation_id, schema in Organisation.objects.values_list("pk", "schema_name"):
            table = f"{quote(schema)}.feedback_story"
            cursor.execute("SELECT to_regclass(%s)", [table])
            if cursor.fetchone()[0] is None:
                continue
            cursor.execute(
                "UPDATE hub_publicstory_organisations AS link SET progress = own.progress "
                f"FROM {table} AS own "
                "WHERE link.organisation_id = %s AND own.public_id = link.publicstory_id",
                [organisation_id],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("hub", "0005_submission_findings"),
        ("tenants", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The table exists already, made for the plain many-to-many.
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="PublicStoryOrganisation",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "organisation",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                to="tenants.organisation",
                            ),
                        ),
                        (
                            "publicstory",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, to="hub.publicstory"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "hub_publicstory_organisations",
                        "unique_together": {("publicstory", "organisation")},
                    },
                ),
                migrations.AlterField(
                    model_name="publicstory",
                    name="organisations",
                    field=models.ManyToManyField(
                        related_name="public_stories",
                        through="hub.PublicStoryOrganisation",
                        to="tenants.organisation",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="publicstoryorganisation",
            name="progress",
            field=models.CharField(
                choices=PROGRESS_CHOICES, db_default="unheard", default="unheard", max_length=16
            ),
        ),
        migrations.RunPython(fill_progress, migrations.RunPython.noop),
    ]
