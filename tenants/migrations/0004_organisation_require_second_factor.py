from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0003_network_invitations_and_declines"),
    ]

    operations = [
        migrations.AddField(
            model_name="organisation",
            name="require_second_factor",
            field=models.BooleanField(
                default=False, verbose_name="Require a second factor for all staff"
            ),
        ),
    ]
