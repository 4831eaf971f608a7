"""Emails about accounts and workspaces. One function per email, named after its template;
each writes to the outbox (tenants/messages.py) in the caller's transaction."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tenants.utils import schema_context

from tenants.accounts.models import User
from tenants.messages import enqueue_email
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


def queue_first_admin_invitation(organisation: Organisation, admin: User) -> None:
    """Invite a new workspace's first administrator to set their password. Call it in the
    provisioning's transaction: keyed by the organisation and the account, so it is written
    once, and never for a workspace that rolled back."""
    context = {
        "organisation": organisation,
        "user": admin,
        "set_password_url": set_password_url(organisation, admin),
        "workspace_url": organisation.workspace_url(),
    }
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        enqueue_email(
            kind="tenants.first_admin_invitation",
            key=f"tenants.first_admin_invitation:{organisation.pk}:{admin.pk}",
            recipient=admin.email,
            subject=f"Your Carevoice workspace for {organisation.name} is ready",
            text_body=render_to_string("tenants/email/first_admin_invitation.txt", context),
            html_body=render_to_string("tenants/email/first_admin_invitation.html", context),
            organisation=organisation,
        )
