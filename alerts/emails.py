"""The words of each alert email. One function per email, named after its template; each
returns the subject, text and HTML for a delivery row (sending is alerts/sending.py)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse

from alerts.models import AlertRule
from feedback.models import Story

UNSUBSCRIBE_SALT = "carevoice.alerts.unsubscribe"


@dataclass(frozen=True)
class Message:
    subject: str
    body: str
    html: str


def workspace_url(path: str) -> str:
    # The organisation's address is looked up once per tenant object (workers keep the
    # object for a minute), not twice for every email.
    tenant = connection.tenant
    base = getattr(tenant, "_workspace_base", None)
    if base is None:
        base = tenant._workspace_base = tenant.workspace_url("")
    return base + path


def unsubscribe_url(rule: AlertRule, recipient: str) -> str:
    token = signing.dumps({"rule": rule.pk, "to": recipient}, salt=UNSUBSCRIBE_SALT)
    return workspace_url(reverse("alerts:unsubscribe", args=[token]))


def _render(template: str, subject: str, context: dict) -> Message:
    context = {"organisation": connection.tenant, **context}
    return Message(
        subject=f"[{connection.tenant.name}] {subject}"[:200],
        body=render_to_string(f"alerts/email/{template}.txt", context),
        html=render_to_string(f"alerts/email/{template}.html", context),
    )


def story_context(story: Story) -> dict:
    return {
        "story": story,
        "story_url": workspace_url(reverse("feedback:story", args=[story.pk])),
        "services": ", ".join(s.name for s in story.services.all()),
    }


def instant_alert(story: Story, rule: AlertRule, recipient: str) -> Message:
    return _render(
        "instant_alert",
        f"New story: {story.title}",
        {**story_context(story), "rule": rule, "unsubscribe_url": unsubscribe_url(rule, recipient)},
    )


def reminder(story: Story, recipient: str) -> Message:
    return _render("reminder", f"Response due soon: {story.title}", story_context(story))


def breach(story: Story, recipient: str) -> Message:
    return _render("breach", f"Response target missed: {story.title}", story_context(story))


def digest(
    rule: AlertRule, recipient: str, groups: list[tuple[str, list[Story]]], period: str
) -> Message:
    count = sum(len(stories) for _, stories in groups)
    return _render(
        "digest",
        f"{count} new stor{'y' if count == 1 else 'ies'} ({period})",
        {
            "rule": rule,
            "groups": [
                (
                    service,
                    [(s, workspace_url(reverse("feedback:story", args=[s.pk]))) for s in stories],
                )
                for service, stories in groups
            ],
            "period": period,
            "count": count,
            "unsubscribe_url": unsubscribe_url(rule, recipient),
        },
    )
