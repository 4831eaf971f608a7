"""Reach's routes, spread into feedback's URL maps: the workspace's (named feedback:...)
and the hub's (named hub:...)."""

from __future__ import annotations

from django.urls import path

from feedback.reach import views

workspace_urlpatterns = [
    path("reach/", views.reach_page, name="reach"),
    path("reach/<slug:printed>.pdf", views.download, name="reach_download"),
    path("reach/screens/", views.add_screen, name="reach_add_screen"),
    path("reach/screens/<int:pk>/revoke/", views.revoke_screen_view, name="reach_revoke_screen"),
]

hub_urlpatterns = [
    path("o/<slug:slug>/display/<str:token>/", views.display, name="display_screen"),
]
