from __future__ import annotations

from django.urls import path

from tenants.accounts import sso_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("sso/start/", sso_views.start, name="sso_start"),
    path("sso/callback/", sso_views.callback, name="sso_callback"),
    path("single-sign-on/", sso_views.settings_page, name="sso_settings"),
    path("profile/", views.profile, name="profile"),
    path("sessions/", views.sessions, name="sessions"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/change/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"
    ),
]
