from __future__ import annotations

from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("webhooks/stripe/", views.stripe_webhook, name="stripe_webhook"),
    path("pay/<str:token>/", views.local_card, name="local_card"),
]
