from __future__ import annotations

from django.urls import path

from feedback import (
    entering_views,
    export_views,
    network_discussion_views,
    network_views,
    safeguarding_views,
    service_limits_views,
    thanks_views,
    topics_views,
)
from feedback import workspace_views as views
from feedback.reach.urls import workspace_urlpatterns as reach_urlpatterns

app_name = "feedback"

urlpatterns = [
    path("stories/", views.stories, name="stories"),
    path("stories/<int:pk>/", views.story, name="story"),
    path("stories/export/", export_views.export_inbox, name="export_inbox"),
    path("exports/", export_views.exports_page, name="exports"),
    path("themes/", topics_views.themes_page, name="themes"),
    path("themes/learn/", topics_views.learn_now, name="themes_learn"),
    path("themes/<int:pk>/rename/", topics_views.rename, name="theme_rename"),
    path("thanks/", thanks_views.thanks_page, name="thanks"),
    path("thanks/emails/", thanks_views.my_thanks_emails, name="my_thanks_emails"),
    path("thanks/directory/", thanks_views.directory_page, name="staff_directory"),
    path("thanks/directory/import/", thanks_views.directory_import, name="staff_directory_import"),
    path(
        "thanks/directory/<int:pk>/",
        thanks_views.directory_entry,
        name="staff_directory_entry",
    ),
    path("thanks/stop/<str:token>/", thanks_views.stop_emails, name="stop_thanks_emails"),
    path("exports/file/<str:token>/", export_views.download, name="export_download"),
    path("exports/<str:token>/", export_views.export_page, name="export"),
    path("exports/<str:token>/status/", export_views.export_status, name="export_status"),
    path("stories/enter/", entering_views.workspace_enter, name="enter_story"),
    path("stories/entered/<int:pk>/scan/", entering_views.workspace_scan, name="entered_scan"),
    path("stories/<int:pk>/triage/", views.triage, name="triage"),
    path(
        "stories/<int:pk>/network-discussion/",
        network_discussion_views.member_note,
        name="network_member_note",
    ),
    path(
        "network/stories/<int:public_id>/discussion/",
        network_discussion_views.lead_discussion,
        name="network_discussion",
    ),
    path(
        "network/referrals/<int:pk>/",
        network_discussion_views.referral,
        name="network_referral",
    ),
    path("network/stories/", network_views.network_stories_page, name="network_stories"),
    path("network/stories/export/", export_views.export_network, name="export_network"),
    path(
        "network/stories/<int:public_id>/",
        network_views.network_story_page,
        name="network_story",
    ),
    path("network/log/", network_views.follow_up_log_page, name="network_log"),
    path("network/log.csv", network_views.follow_up_log_csv, name="network_log_csv"),
    path("responses/<int:pk>/edit/", views.edit_response_view, name="edit_response"),
    path("services/", views.services, name="services"),
    path("services/limits/", service_limits_views.limits_page, name="service_limits"),
    path("services/limits/<int:pk>/", service_limits_views.limit_page, name="service_limit"),
    path(
        "services/limits/<int:pk>/account/",
        service_limits_views.switch_account,
        name="service_limit_account",
    ),
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
    *reach_urlpatterns,
]
