"""The hub pages feedback owns: telling, reading and moderating stories, and the read API.
config/urls_hub.py names them `hub:...`, with the hub pages other apps own (You said, we did)."""

from __future__ import annotations

from django.urls import path

from feedback import (
    api,
    entering_views,
    hub_views,
    moderation_views,
    openapi,
    privacy_views,
    referral_moderation_views,
    rights_views,
    safeguarding_views,
)
from feedback.reach.urls import hub_urlpatterns as reach_urlpatterns

urlpatterns = [
    path("", hub_views.hub_home, name="home"),
    path("tell/", hub_views.tell, name="tell"),
    path("tell/sent/", hub_views.sent, name="sent"),
    path("privacy/", privacy_views.privacy_notice, name="privacy"),
    path("stories/", hub_views.browse, name="browse"),
    path("stories/<int:pk>/", hub_views.story, name="story"),
    path("r/<str:token>/", hub_views.author_response, name="author_response"),
    # "ask/" first: the token route would take it for a token.
    path("your-story/ask/", rights_views.your_story_ask, name="your_story_ask"),
    path("your-story/<str:token>/", rights_views.your_story, name="your_story"),
    path("organisations/<slug:slug>/", hub_views.organisation_page, name="organisation"),
    path("o/<slug:slug>/widget/", hub_views.widget, name="widget"),
    path("o/<slug:slug>/widget/sent/", hub_views.widget_sent, name="widget_sent"),
    path("o/<slug:slug>/widget.js", hub_views.widget_script, name="widget_script"),
    path("o/<slug:slug>/kiosk/", hub_views.kiosk, name="kiosk"),
    path("o/<slug:slug>/kiosk/<int:service_id>/", hub_views.kiosk, name="kiosk_service"),
    path("o/<slug:slug>/kiosk/sent/", hub_views.kiosk_sent, name="kiosk_sent"),
    *reach_urlpatterns,
    path("moderation/", moderation_views.queue, name="moderation_queue"),
    path("moderation/enter/", entering_views.moderation_enter, name="moderation_enter"),
    path("moderation/<int:pk>/scan/", entering_views.moderation_scan, name="moderation_scan"),
    path("moderation/requests/", rights_views.moderation_requests, name="moderation_requests"),
    path(
        "moderation/requests/<int:pk>/",
        rights_views.moderation_request,
        name="moderation_request",
    ),
    path(
        "moderation/requests/<int:pk>/copy.json",
        rights_views.moderation_request_copy,
        name="moderation_request_copy",
    ),
    path("moderation/referrals/", referral_moderation_views.referrals, name="moderation_referrals"),
    path(
        "moderation/referrals/<int:pk>/",
        referral_moderation_views.referral,
        name="moderation_referral",
    ),
    path(
        "moderation/safeguarding/",
        safeguarding_views.concerns,
        name="moderation_safeguarding",
    ),
    path(
        "moderation/<int:pk>/safeguarding/",
        safeguarding_views.submission_concerns,
        name="moderation_concern",
    ),
    path("moderation/<int:pk>/", moderation_views.moderate, name="moderate"),
    path(
        "moderation/replies/<int:pk>/", moderation_views.moderate_reply_view, name="moderate_reply"
    ),
    path("moderation/changes/<int:pk>/", moderation_views.query_change_view, name="query_change"),
    path("api/v2/openapi.json", openapi.openapi_json, name="openapi"),
    path("api/v2/opinions", api.opinions, name="api_opinions"),
    path("api/v2/opinions/<int:pk>", api.opinion_detail, name="api_opinion"),
    path("api/v2/opinions/<int:pk>/tags", api.opinion_tags, name="api_opinion_tags"),
    path("api/v2/opinions/<int:pk>/responses", api.opinion_responses, name="api_opinion_responses"),
    path(
        "api/v2/opinions/<int:pk>/healthservices",
        api.opinion_healthservices,
        name="api_opinion_healthservices",
    ),
    path("api/v2/responses", api.responses, name="api_responses"),
    path("api/v2/responses/<int:pk>", api.response_detail, name="api_response"),
    path("api/v2/healthservices", api.healthservices, name="api_healthservices"),
    path("api/v2/healthservices/<str:nacs>", api.healthservice_detail, name="api_healthservice"),
    path("api/v2/<path:rest>", api.not_found, name="api_not_found"),
]
