from django.db import migrations


def add_default_tags(apps, schema_editor):
    from feedback.default_tags import DEFAULT_TAGS

    Tag = apps.get_model("feedback", "Tag")
    for name, group, polarity in DEFAULT_TAGS:
        Tag.objects.get_or_create(name=name, group=group, defaults={"polarity": polarity})


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial")]

    operations = [migrations.RunPython(add_default_tags, migrations.RunPython.noop)]
