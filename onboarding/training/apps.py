from __future__ import annotations

from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "onboarding.training"
    label = "training"
    verbose_name = "Training sessions and bookings"
