"""Risk phrases and safeguarding guidance on the moderation pages (feedback/risk_words.py)."""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from feedback.hub.models import ConcernCategory, Submission
from feedback.risk_words import InContext, has_possible_risk, in_context, risk_findings_for

register = template.Library()

FIELD_LABELS = {
    "title": "Title",
    "what_was_good": "What was good",
    "what_could_be_improved": "What could be improved",
    "how_it_felt": "How it made them feel",
}

# What each safeguarding category covers, for a moderator deciding whether to raise one.
CATEGORY_HINTS = {
    ConcernCategory.RISK_TO_LIFE: "someone may die or be seriously harmed soon",
    ConcernCategory.SELF_HARM: "thoughts or plans of suicide, self-harm, an overdose",
    ConcernCategory.ABUSE: (
        "physical, sexual, emotional or financial abuse, domestic abuse, or neglect such as "
        "being left unfed or in soiled bedding"
    ),
    ConcernCategory.CHILD_AT_RISK: "anyone under 18 who may be harmed or not kept safe",
    ConcernCategory.ADULT_AT_RISK: (
        "an adult with care and support needs who cannot protect themselves from harm"
    ),
    ConcernCategory.OTHER_URGENT: "anything else that cannot wait for the normal flow",
}


@dataclass(frozen=True)
class Category:
    label: str
    hint: str


@dataclass(frozen=True)
class RiskReview:
    """What the moderation page shows: each risk phrase in its context, and the categories."""

    flagged: list[InContext]  # each with its field's label as ``field``
    categories: list[Category]


@register.simple_tag
def risk_review(submission: Submission) -> RiskReview:
    """The risk phrases in ``submission`` (as stored, or found once now) and the guidance."""
    found = risk_findings_for(submission)
    flagged = [
        in_context(FIELD_LABELS.get(name, name), getattr(submission, name), finding)
        for name, findings in found.items()
        for finding in findings
    ]
    categories = [
        Category(category.label, CATEGORY_HINTS.get(category, "")) for category in ConcernCategory
    ]
    return RiskReview(flagged, categories)


@register.filter
def possible_risk(submission: Submission) -> bool:
    """Whether risk phrases are stored for ``submission`` (never scans: see the queue)."""
    return has_possible_risk(submission)
