from django.urls import path, re_path

from dashboards import standards_views, views

app_name = "dashboards"

urlpatterns = [
    path("", views.index, name="index"),
    path("live/", views.live, name="live"),
    re_path(r"^live/(?P<path>_dash-.*|_favicon\.ico|_reload-hash)$", views.live),
    path("network/", views.network, name="network"),
    re_path(r"^network/(?P<path>_dash-.*|_favicon\.ico|_reload-hash)$", views.network),
    path("standards/", standards_views.network_standards, name="network_standards"),
    path(
        "standards/<int:pk>/",
        standards_views.change_network_standards,
        name="change_network_standards",
    ),
]
