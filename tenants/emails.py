"""Emails about accounts and workspaces. One function per email, named after its template."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tenants.accounts.models import User
from tenants.models import Organisation


def set_password_url(organisation: Organisation, user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={"uidb64": uid, "token": token},
        urlconf=settings.ROOT_URLCONF,
    )
    return organisation.workspace_url(path)


def send_first_admin_invitation(organisation: Organisation, admin: User) -> None:
    context = {
        "organisation": organisation,
        "user": admin,
        "set_password_url": set_password_url(organisation, admin),
        "workspace_url": organisation.workspace_url(),
    }
    message = EmailMultiAlternatives(
        subject=f"Your Carevoice workspace for {organisation.name} is ready",
        body=render_to_string("tenants/email/first_admin_invitation.txt", context),
        to=[admin.email],
    )
    message.attach_alternative(
        render_to_string("tenants/email/first_admin_invitation.html", context), "text/html"
    )
    message.send()
