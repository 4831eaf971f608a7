from django.apps import AppConfig


class RollupsConfig(AppConfig):
    name = "dashboards.rollups"
    label = "rollups"
    verbose_name = "Dashboard rollups"
    default_auto_field = "django.db.models.BigAutoField"
