from django.urls import path, re_path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.index, name="index"),
    path("live/", views.live, name="live"),
    re_path(r"^live/(?P<path>_dash-.*|_favicon\.ico|_reload-hash)$", views.live),
    path("network/", views.network, name="network"),
    re_path(r"^network/(?P<path>_dash-.*|_favicon\.ico|_reload-hash)$", views.network),
]
