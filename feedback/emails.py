"""Emails to story authors. Sent from the hub: only the hub knows an author's address."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django_tenants.utils import schema_context

from tenants.models import public_url


def send_rejection_notice(submission_id: int) -> None:
    from feedback.hub.models import Submission

    with schema_context("public"):
        submission = Submission.objects.get(pk=submission_id)
        if not submission.email:
            return
        context = {
            "submission": submission,
            "reason": submission.get_rejection_reason_display(),
            "tell_url": public_url(settings.BASE_DOMAIN, "/tell/"),
        }
        message = EmailMultiAlternatives(
            subject="We could not publish your story",
            body=render_to_string("hub/email/rejection.txt", context),
            to=[submission.email],
        )
        message.attach_alternative(
            render_to_string("hub/email/rejection.html", context), "text/html"
        )
        message.send()
