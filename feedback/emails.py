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


def send_response_notice(public_response_id: int) -> None:
    """Tell the author a response was published, with a signed link to reply to it."""
    from feedback.author_links import make_token
    from feedback.hub.models import PublicResponse

    with schema_context("public"):
        response = (
            PublicResponse.objects.select_related("public_story", "organisation")
            .filter(pk=public_response_id)
            .first()
        )
        submission = getattr(response.public_story, "submission", None) if response else None
        if submission is None or not submission.email:
            return
        context = {
            "response": response,
            "story": response.public_story,
            "story_url": public_url(settings.BASE_DOMAIN, f"/stories/{response.public_story_id}/"),
            "reply_url": public_url(settings.BASE_DOMAIN, f"/r/{make_token(response)}/"),
        }
        message = EmailMultiAlternatives(
            subject=f"{response.organisation.name} has responded to your story",
            body=render_to_string("hub/email/response.txt", context),
            to=[submission.email],
        )
        message.attach_alternative(
            render_to_string("hub/email/response.html", context), "text/html"
        )
        message.send()
