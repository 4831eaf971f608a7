"""Emails to story authors and to platform staff. Written from the hub (only the hub knows an
author's address) to the outbox (tenants/messages.py), in the transaction of the event they
tell of: a story received, published or rejected, a response published, a story withdrawn;
and, to each member of platform staff, the moderation queue behind and a safeguarding
concern nobody acknowledged. Each has a key for its event (and recipient), so a repeated
call writes one message; the outbox sends it exactly once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_context

from tenants.messages import enqueue_email
from tenants.models import Organisation, public_url


def queue_rejection_notice(submission_id: int) -> None:
    """Tell the author their story was not published, and why."""
    from feedback.hub.models import Submission

    with transaction.atomic(), schema_context("public"):
        submission = Submission.objects.get(pk=submission_id)
        if not submission.email:
            return
        context = {
            "submission": submission,
            # The lazy label, not get_rejection_reason_display() (a str, in the language
            # active now): rendered inside _queue_to_author's override, in the author's.
            "reason": _reason_label(submission.rejection_reason),
            "tell_url": public_url(settings.BASE_DOMAIN, "/tell/"),
            "your_story_url": story_url(submission),
        }
        _queue_to_author(
            submission,
            f"rejection:{submission.pk}",
            _("We could not publish your story"),
            "rejection",
            context,
        )


def _reason_label(value: str) -> object:
    from feedback.hub.models import RejectionReason

    return RejectionReason(value).label if value in RejectionReason.values else value


def queue_response_notice(public_response_id: int) -> None:
    """Tell the author a response was published, with a signed link to reply to it."""
    from feedback.author_links import make_token
    from feedback.hub.models import PublicResponse

    with transaction.atomic(), schema_context("public"):
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
            "your_story_url": story_url(submission),
        }
        _queue_to_author(
            submission,
            f"response:{response.pk}",
            format_lazy(
                _("{organisation} has responded to your story"),
                organisation=response.organisation.name,
            ),
            "response",
            context,
            organisation=response.organisation,
        )


def story_url(submission) -> str:  # noqa: ANN001 - a hub Submission
    """The author's signed "Your story" link: in every email to an author."""
    from feedback.your_story import story_url as signed_story_url

    return signed_story_url(submission)


def _queue_to_author(
    submission,  # noqa: ANN001 - a hub Submission
    event: str,
    subject: str,
    template: str,
    context: dict,
    organisation: Organisation | None = None,
) -> None:
    """Write the email to the outbox; `event` (e.g. "rejection:42") is its key's end. It is
    written in the language the story was told in (feedback/languages.py)."""
    from feedback.languages import interface_language

    with translation.override(interface_language(submission.language)):
        enqueue_email(
            kind=f"feedback.{template}",
            key=f"feedback.{event}",
            recipient=submission.email,
            subject=str(subject),
            text_body=render_to_string(f"hub/email/{template}.txt", context),
            html_body=render_to_string(f"hub/email/{template}.html", context),
            organisation=organisation,
        )


def queue_receipt_notice(submission_id: int) -> None:
    """Tell the author their story arrived, with the link to their "Your story" page."""
    from feedback.hub.models import Submission, SubmissionState

    with transaction.atomic(), schema_context("public"):
        submission = Submission.objects.filter(pk=submission_id).first()
        if submission is None or not submission.email:
            return
        if submission.state == SubmissionState.WITHDRAWN:
            return
        _queue_to_author(
            submission,
            f"receipt:{submission.pk}",
            _("We have received your story"),
            "received",
            {"submission": submission, "your_story_url": story_url(submission)},
        )


def queue_publication_notice(submission_id: int) -> None:
    """Tell the author their story was published, with where to read it and their link."""
    from feedback.hub.models import Submission, SubmissionState

    with transaction.atomic(), schema_context("public"):
        submission = (
            Submission.objects.select_related("public_story").filter(pk=submission_id).first()
        )
        if submission is None or not submission.email:
            return
        if submission.state != SubmissionState.PUBLISHED or submission.public_story is None:
            return
        _queue_to_author(
            submission,
            f"publication:{submission.pk}",
            _("Your story is published"),
            "published",
            {
                "submission": submission,
                "story": submission.public_story,
                "story_url": public_url(
                    settings.BASE_DOMAIN, f"/stories/{submission.public_story_id}/"
                ),
                "your_story_url": story_url(submission),
            },
        )


def queue_withdrawal_notice(submission_id: int) -> None:
    """Tell the author their story was withdrawn, then delete their email and postcode: the
    last thing Carevoice held about them. With no email, only the postcode goes. (The
    outbox holds the address, encrypted, until the notice is sent, then erases it.)"""
    from django.utils import timezone

    from feedback.hub.models import Submission, SubmissionState

    with transaction.atomic(), schema_context("public"):
        submission = Submission.objects.select_for_update().filter(pk=submission_id).first()
        if submission is None or submission.state != SubmissionState.WITHDRAWN:
            return
        if not (submission.email or submission.postcode):
            return
        if submission.email:
            _queue_to_author(
                submission,
                f"withdrawal:{submission.pk}",
                _("Your story has been withdrawn"),
                "withdrawn",
                {
                    # Only a moderated (so published) story had copies beyond the hub.
                    "had_public_copy": submission.moderated_at is not None,
                    "had_postcode": bool(submission.postcode),
                    "tell_url": public_url(settings.BASE_DOMAIN, "/tell/"),
                },
            )
        submission.email = ""
        submission.postcode = ""
        submission.contact_removed_at = timezone.now()
        submission.save(update_fields=["email", "postcode", "contact_removed_at"])


def platform_staff() -> list[tuple[int, str]]:
    """(account id, address) of every active member of platform staff (moderators and the
    platform team), in the hub."""
    from tenants.accounts.models import User

    with schema_context("public"):
        return list(
            User.objects.filter(is_staff=True, is_active=True)
            .order_by("email")
            .values_list("pk", "email")
        )


def _queue_to_platform_staff(
    kind: str,
    occurrence: str,
    subject: str,
    template: str,
    context: dict,
    *,
    html: bool = True,
    organisation: Organisation | None = None,
) -> int:
    """One message per member of platform staff, keyed by the occurrence (e.g. a concern's
    id) and the account, so a rerun or a redelivered task writes none twice. Returns how
    many were written (or were there already)."""
    recipients = platform_staff()
    text_body = render_to_string(f"hub/email/{template}.txt", context)
    html_body = render_to_string(f"hub/email/{template}.html", context) if html else ""
    with schema_context("public"):
        for account_id, address in recipients:
            enqueue_email(
                kind=f"feedback.{kind}",
                key=f"feedback.{kind}:{occurrence}:{account_id}",
                recipient=address,
                subject=subject,
                text_body=text_body,
                html_body=html_body,
                organisation=organisation,
            )
    return len(recipients)


def queue_moderation_backlog_alert(
    *, occurrence: int, pending: int, overdue: int, oldest_hours: int
) -> int:
    """Tell platform staff the moderation queue is behind. `occurrence` is the watch's audit
    row for this alert (feedback/moderation_watch.py). Returns how many were told."""
    context = {
        "pending": pending,
        "overdue": overdue,
        "oldest_hours": oldest_hours,
        "limit_hours": settings.MODERATION_WAIT_ALERT_HOURS,
        "queue_url": public_url(settings.BASE_DOMAIN, "/moderation/"),
    }
    return _queue_to_platform_staff(
        "moderation_backlog",
        str(occurrence),
        f"Moderation queue behind: {overdue} waiting over "
        f"{settings.MODERATION_WAIT_ALERT_HOURS} hours, the oldest {oldest_hours} hours",
        "moderation_backlog",
        context,
        html=False,
    )


def queue_safeguarding_escalation(concern_id: int) -> int:
    """Tell platform staff that nobody at an organisation acknowledged a safeguarding
    concern in time (feedback/safeguarding.py), once per concern. Returns how many people it
    goes to."""
    from django.urls import reverse

    from feedback.hub.models import SafeguardingConcern

    with schema_context("public"):
        concern = SafeguardingConcern.objects.select_related(
            "organisation", "submission", "raised_by"
        ).get(pk=concern_id)
        context = {
            "concern": concern,
            "organisation": concern.organisation,
            "hours": concern.organisation.safeguarding_escalate_hours,
            "concerns_url": public_url(
                settings.BASE_DOMAIN,
                reverse("hub:moderation_safeguarding", urlconf=settings.PUBLIC_SCHEMA_URLCONF),
            ),
        }
        return _queue_to_platform_staff(
            "safeguarding_escalation",
            str(concern.pk),
            f"Safeguarding concern not acknowledged: {concern.organisation.name}",
            "safeguarding_escalated",
            context,
            organisation=concern.organisation,
        )
