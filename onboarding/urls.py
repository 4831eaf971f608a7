from __future__ import annotations

from django.urls import path

from onboarding import (
    invitation_views,
    network_views,
    service_import_views,
    tell_invitation_views,
)
from onboarding.training import views as training_views

app_name = "onboarding"

urlpatterns = [
    path("services/import/", service_import_views.import_services, name="import_services"),
    path(
        "services/import/<int:pk>/",
        service_import_views.service_import_detail,
        name="service_import",
    ),
    path(
        "services/import/<int:pk>/status/",
        service_import_views.service_import_status,
        name="service_import_status",
    ),
    path("staff/invitations/", invitation_views.staff_invitations, name="staff_invitations"),
    path(
        "staff/invitations/<int:pk>/resend/",
        invitation_views.resend_staff_invitation,
        name="resend_invitation",
    ),
    path(
        "staff/invitations/<int:pk>/revoke/",
        invitation_views.revoke_staff_invitation,
        name="revoke_invitation",
    ),
    # Public: the link emailed to the person invited.
    path(
        "invitation/<str:token>/",
        invitation_views.accept_staff_invitation,
        name="accept_invitation",
    ),
    path(
        "invitations/tell/",
        tell_invitation_views.tell_invitations,
        name="tell_invitations",
    ),
    # Public: the opt-out link every invitation to tell carries.
    path(
        "invitations/tell/opt-out/<str:link>/",
        tell_invitation_views.tell_invitation_opt_out,
        name="tell_invitation_opt_out",
    ),
    path("networks/", network_views.networks, name="networks"),
    path("networks/start/", network_views.start_network, name="start_network"),
    path("networks/<int:pk>/invite/", network_views.invite_network_member, name="invite_member"),
    path(
        "networks/invitations/<int:pk>/withdraw/",
        network_views.withdraw_network_invitation,
        name="withdraw_invitation",
    ),
    path(
        "networks/invitations/<int:pk>/answer/",
        network_views.answer_network_invitation,
        name="answer_invitation",
    ),
    path(
        "networks/memberships/<int:pk>/",
        network_views.change_network_membership,
        name="change_membership",
    ),
    path("training/", training_views.training, name="training"),
    path("training/<int:pk>/book/", training_views.book_training, name="book_training"),
    path(
        "training/bookings/<int:pk>/cancel/",
        training_views.cancel_training,
        name="cancel_training",
    ),
]
