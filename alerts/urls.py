from __future__ import annotations

from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("", views.rules, name="rules"),
    path("new/", views.edit_rule, name="new_rule"),
    path("<int:pk>/", views.edit_rule, name="edit_rule"),
    path("<int:pk>/toggle/", views.toggle_rule, name="toggle_rule"),
    path("sent/", views.deliveries, name="deliveries"),
    path("sent/<int:pk>/", views.delivery, name="delivery"),
    path("breaches/", views.breaches, name="breaches"),
    path("emerging/", views.emerging_themes, name="emerging_themes"),
    path("emerging/look-now/", views.look_for_emerging_themes, name="look_for_emerging_themes"),
    path(
        "emerging/<int:pk>/review/", views.review_emerging_theme_view, name="review_emerging_theme"
    ),
    path("targets/", views.targets, name="targets"),
    path("unsubscribe/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
]
