from django.db import migrations


def add_default_targets(apps, schema_editor):
    ResponseTarget = apps.get_model("alerts", "ResponseTarget")
    defaults = {
        "not critical": "7 days",
        "minimally critical": "7 days",
        "mildly critical": "7 days",
        "moderately critical": "7 days",
        "strongly critical": "same day",
        "severely critical": "same day",
    }
    for criticality, allowance in defaults.items():
        ResponseTarget.objects.get_or_create(criticality=criticality, defaults={"allowance": allowance})


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]

    operations = [migrations.RunPython(add_default_targets, migrations.RunPython.noop)]
