from __future__ import annotations

from django.urls import path

from feedback import safeguarding_views
from feedback import workspace_views as views

app_name = "feedback"

urlpatterns = [
    path("stories/", views.stories, name="stories"),
    path("stories/<int:pk>/", views.story, name="story"),
    path("stories/<int:pk>/triage/", views.triage, name="triage"),
    path("responses/<int:pk>/edit/", views.edit_response_view, name="edit_response"),
    path("services/", views.services, name="services"),
    path("services/sites/add/", views.add_site, name="add_site"),
    path("services/add/", views.edit_service, name="add_service"),
    path("services/<int:pk>/", views.edit_service, name="edit_service"),
    path("tags/", views.tags, name="tags"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", views.revoke_key, name="revoke_key"),
    path("widget/", views.widget_settings, name="widget_settings"),
    path("safeguarding/", safeguarding_views.workspace_concerns, name="safeguarding"),
    path(
        "safeguarding/<int:pk>/",
        safeguarding_views.workspace_concern,
        name="safeguarding_concern",
    ),
]
