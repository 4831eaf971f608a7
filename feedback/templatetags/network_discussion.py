"""The network discussion's parts of a member's own pages: the "Network discussion" panel
on its story page and the "Referred by" list in its inbox (feedback/network_discussion.py)."""

from __future__ import annotations

from typing import Any

from django import template

from feedback.network_discussion import member_threads, referrals_for

register = template.Library()


@register.inclusion_tag("feedback/network/_panel.html", takes_context=True)
def network_discussion_panel(context: template.Context, story: Any) -> dict[str, Any]:  # noqa: ANN401 - a Story
    request = context["request"]
    return {
        "story": story,
        "threads": member_threads(request.tenant, story.public_id),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("feedback/network/_referred.html", takes_context=True)
def referred_stories(context: template.Context) -> dict[str, Any]:
    return {"referrals": referrals_for(context["request"].tenant)}
