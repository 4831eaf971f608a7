from __future__ import annotations

from django.urls import path

from dashboards import committee_actions_views
from dashboards.reports import network_embed_views, views

app_name = "reports"

urlpatterns = [
    path("", views.summary, name="summary"),
    path("summary.csv", views.summary_csv, name="summary_csv"),
    path("summary.pdf", views.summary_pdf, name="summary_pdf"),
    path("you-said-we-did/", views.you_said_we_did, name="you_said_we_did"),
    path("committee/", views.committee_page, name="committee"),
    path("committee.csv", views.committee_csv, name="committee_csv"),
    path("committee.pdf", views.committee_pdf, name="committee_pdf"),
    path("committee/actions/", committee_actions_views.committee_actions, name="committee_actions"),
    path(
        "committee/actions/<int:pk>/",
        committee_actions_views.committee_action_change,
        name="committee_action_change",
    ),
    path("pdf/", views.long_pdf_start, name="long_pdf_start"),
    path("pdf/<str:token>/", views.long_pdf_page, name="long_pdf"),
    path("pdf/<str:token>/status/", views.long_pdf_status, name="long_pdf_status"),
    path("pdf/<str:token>/report.pdf", views.long_pdf_download, name="long_pdf_download"),
    path("you-said-we-did.pdf", views.you_said_we_did_pdf, name="you_said_we_did_pdf"),
    path("you-said-we-did.csv", views.you_said_we_did_csv, name="you_said_we_did_csv"),
    path(
        "network-you-said-we-did/",
        network_embed_views.network_you_said_we_did,
        name="network_you_said_we_did",
    ),
]
