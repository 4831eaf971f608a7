from __future__ import annotations

from django.urls import path

from onboarding import views

app_name = "onboarding"

urlpatterns = [
    path("services/import/", views.import_services, name="import_services"),
    path("services/import/<int:pk>/", views.service_import_detail, name="service_import"),
    path(
        "services/import/<int:pk>/status/",
        views.service_import_status,
        name="service_import_status",
    ),
    path("staff/invitations/", views.staff_invitations, name="staff_invitations"),
    path(
        "staff/invitations/<int:pk>/resend/",
        views.resend_staff_invitation,
        name="resend_invitation",
    ),
    path(
        "staff/invitations/<int:pk>/revoke/",
        views.revoke_staff_invitation,
        name="revoke_invitation",
    ),
    # Public: the link emailed to the person invited.
    path("invitation/<str:token>/", views.accept_staff_invitation, name="accept_invitation"),
    path("networks/", views.networks, name="networks"),
    path("networks/start/", views.start_network, name="start_network"),
    path("networks/<int:pk>/invite/", views.invite_network_member, name="invite_member"),
    path(
        "networks/invitations/<int:pk>/withdraw/",
        views.withdraw_network_invitation,
        name="withdraw_invitation",
    ),
    path(
        "networks/invitations/<int:pk>/answer/",
        views.answer_network_invitation,
        name="answer_invitation",
    ),
    path(
        "networks/memberships/<int:pk>/",
        views.change_network_membership,
        name="change_membership",
    ),
    path("training/", views.training, name="training"),
    path("training/<int:pk>/book/", views.book_training, name="book_training"),
    path("training/bookings/<int:pk>/cancel/", views.cancel_training, name="cancel_training"),
]
