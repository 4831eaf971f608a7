from __future__ import annotations

from django.urls import path

from tenants import views

app_name = "workspace"

urlpatterns = [
    path("", views.home, name="home"),
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/<int:pk>/", views.staff_detail, name="staff_detail"),
    path("staff/<int:pk>/role/", views.staff_change_role, name="staff_change_role"),
    path("staff/<int:pk>/active/", views.staff_set_active, name="staff_set_active"),
    path(
        "staff/<int:pk>/safeguarding/",
        views.staff_safeguarding_contact,
        name="staff_safeguarding_contact",
    ),
    path("staff/<int:pk>/story-taker/", views.staff_story_taker, name="staff_story_taker"),
    path(
        "staff/safeguarding-hours/",
        views.staff_safeguarding_hours,
        name="staff_safeguarding_hours",
    ),
    path(
        "staff/<int:pk>/second-factor/reset/",
        views.staff_reset_second_factor,
        name="staff_reset_second_factor",
    ),
    path(
        "staff/second-factor/",
        views.staff_second_factor_requirement,
        name="staff_second_factor_requirement",
    ),
    path("audit/", views.audit_log, name="audit_log"),
]
