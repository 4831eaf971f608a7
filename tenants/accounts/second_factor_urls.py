"""Second-factor pages, on the hub and in every workspace.

TRICKY: mounted under /accounts/login/ on purpose: a read-only (unpaid) workspace still
accepts writes there (billing/access.py), and an administrator must be able to finish
signing in, or set up a second factor, in order to pay.
"""

from __future__ import annotations

from django.urls import path

from tenants.accounts import second_factor_views as views

app_name = "second_factor"

urlpatterns = [
    path("", views.verify, name="verify"),
    path("set-up/", views.set_up, name="set_up"),
    path("manage/", views.manage, name="manage"),
    path("recovery-codes/", views.new_recovery_codes, name="new_recovery_codes"),
    path("remove/", views.remove, name="remove"),
]
