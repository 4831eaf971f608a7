from django.apps import AppConfig


class SignupConfig(AppConfig):
    name = "onboarding.signup"
    label = "signup"
    verbose_name = "Sign-up: organisations joining on their own (public schema)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from onboarding.signup import receivers  # noqa: F401 - connects the signal
