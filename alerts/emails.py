"""The words of each alert email. One function per email, named after its template; each
returns the subject, text and HTML for a delivery row (sending is alerts/sending.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core import signing
from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse

from alerts.models import AlertRule, EmergingTheme
from feedback.models import Story

if TYPE_CHECKING:
    from alerts.network_alerts import NetworkStory

UNSUBSCRIBE_SALT = "carevoice.alerts.unsubscribe"
UNSUBSCRIBE_MAX_AGE = 365 * 24 * 60 * 60


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
    # Rule ids repeat across organisations (each one's default rule is id 1), so the link
    # names its schema too and works only on the organisation that sent it.
    token = signing.dumps(
        {"rule": rule.pk, "to": recipient, "t": connection.schema_name}, salt=UNSUBSCRIBE_SALT
    )
    return workspace_url(reverse("alerts:unsubscribe", args=[token]))


@dataclass(frozen=True)
class UnsubscribeLink:
    """What an unsubscribe link opened on this organisation's host points at. `status` is
    200 with the rule and address; 404 not a link, not this organisation's, or the rule is
    gone; 410 an old link made before links named their organisation, or expired."""

    status: int
    rule: AlertRule | None = None
    recipient: str = ""


def read_unsubscribe_link(token: str) -> UnsubscribeLink:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=UNSUBSCRIBE_MAX_AGE)
    except signing.SignatureExpired:
        return UnsubscribeLink(410)
    except signing.BadSignature:
        return UnsubscribeLink(404)
    if not isinstance(data, dict) or "rule" not in data or "to" not in data:
        return UnsubscribeLink(404)
    if "t" not in data:
        # TRICKY: links in emails sent before the fix name no organisation, and rule ids
        # repeat across organisations, so there is no telling whose rule they meant.
        return UnsubscribeLink(410)
    if data["t"] != connection.schema_name:
        return UnsubscribeLink(404)
    rule = (
        AlertRule.objects.filter(pk=data["rule"]).first() if isinstance(data["rule"], int) else None
    )
    if rule is None:
        return UnsubscribeLink(404)
    return UnsubscribeLink(200, rule, str(data["to"]))


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


def emerging_theme(
    finding: EmergingTheme,
    place: str,
    stories: list[Story],
    rule: AlertRule,
    recipient: str,
    baseline_weeks: int,
) -> Message:
    return _render(
        "emerging_theme",
        f"Emerging theme at {place}: {finding.theme}",
        {
            "finding": finding,
            "place": place,
            "stories": [
                (s, workspace_url(reverse("feedback:story", args=[s.pk]))) for s in stories
            ],
            "themes_url": workspace_url(reverse("alerts:emerging_themes")),
            "window_days": (finding.found_on - finding.window_start).days,
            "baseline_weeks": baseline_weeks,
            "rule": rule,
            "unsubscribe_url": unsubscribe_url(rule, recipient),
        },
    )


def network_alert(found: NetworkStory, rule: AlertRule, recipient: str, story_url: str) -> Message:
    """A member's story, to the lead: the hub's public copy only (no author details)."""
    return _render(
        "network_alert",
        f"New story at {', '.join(found.members)}: {found.story.title}",
        {
            "story": found.story,
            "members": ", ".join(found.members),
            "services": ", ".join(found.services),
            "story_url": story_url,
            "rule": rule,
            "unsubscribe_url": unsubscribe_url(rule, recipient),
        },
    )


def network_digest(
    rule: AlertRule,
    recipient: str,
    groups: list[tuple[str, list[tuple[NetworkStory, str]]]],
    period: str,
) -> Message:
    """Members' stories of one period, grouped by member, each with its page's address."""
    count = sum(len(stories) for _, stories in groups)
    return _render(
        "network_digest",
        f"{count} new stor{'y' if count == 1 else 'ies'} at network members ({period})",
        {
            "rule": rule,
            "groups": [
                (member, [(found.story, url) for found, url in stories])
                for member, stories in groups
            ],
            "period": period,
            "count": count,
            "unsubscribe_url": unsubscribe_url(rule, recipient),
        },
    )


def safeguarding_context(concern, sections: list[tuple[str, str]]) -> dict:  # noqa: ANN001
    """What both safeguarding emails say: the concern, the story's text as it stands (never
    its author's contact details) and the workspace page to acknowledge it on."""
    return {
        "concern": concern,
        "title": concern.submission.title,
        "sections": sections,
        "hours": round((concern.escalate_at - concern.raised_at).total_seconds() / 3600),
        "concern_url": workspace_url(reverse("feedback:safeguarding_concern", args=[concern.pk])),
    }


def safeguarding_concern(
    concern,  # noqa: ANN001 - a hub SafeguardingConcern of this organisation
    sections: list[tuple[str, str]],
    *,
    no_contacts: bool,
) -> Message:
    return _render(
        "safeguarding_concern",
        f"Safeguarding concern: {concern.get_category_display()}",
        {**safeguarding_context(concern, sections), "no_contacts": no_contacts},
    )


def safeguarding_escalated(
    concern,  # noqa: ANN001 - a hub SafeguardingConcern of this organisation
    sections: list[tuple[str, str]],
) -> Message:
    return _render(
        "safeguarding_escalated",
        f"Safeguarding concern not acknowledged: {concern.get_category_display()}",
        safeguarding_context(concern, sections),
    )
