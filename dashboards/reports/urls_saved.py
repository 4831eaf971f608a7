from __future__ import annotations

from django.urls import path

from dashboards.reports import saved_views

app_name = "report_schedules"

urlpatterns = [
    path("saved/", saved_views.saved_list, name="saved"),
    path("saved/<int:pk>/", saved_views.saved_open, name="saved_open"),
    path("saved/<int:pk>/delete/", saved_views.saved_delete, name="saved_delete"),
    path("schedules/", saved_views.schedules, name="schedules"),
    path("schedules/<int:pk>/delete/", saved_views.schedule_delete, name="schedule_delete"),
    path("public-page/", saved_views.public_page, name="public_page"),
    path("outbox/", saved_views.outbox, name="outbox"),
    path("network-packs/", saved_views.network_packs, name="network_packs"),
    path("download/<token>/", saved_views.download, name="download"),
    path("download/<token>/pack/", saved_views.download_pack, name="download_pack"),
]
