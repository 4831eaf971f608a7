from __future__ import annotations

from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("pay/", views.pay, name="pay"),
    path("change/", views.change, name="change"),
    path("cancel/", views.cancel, name="cancel"),
    path("resume/", views.resume, name="resume"),
    path("refresh/", views.refresh, name="refresh"),
    path("portal/", views.portal, name="portal"),
]
