from __future__ import annotations

from django.apps import AppConfig


class HubConfig(AppConfig):
    name = "feedback.hub"
    label = "hub"
    verbose_name = "Hub: submissions, directory, public stories, API keys"
