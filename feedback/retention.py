"""Retention: what Carevoice deletes about story authors, and when. Run nightly
(feedback.tasks.apply_retention); the privacy notice (feedback/privacy_views.py) reads the
same two settings, so what it promises and what this does cannot disagree.

- **Contact details** (a submission's email and postcode) are deleted
  ``AUTHOR_CONTACT_RETENTION_DAYS`` (365 by default) after the last follow-up on the story:
  the latest of its arrival, its moderation, the author's last visit through their "Your
  story" link, its withdrawal, any response published to it or edited, any reply from its
  author, and any request its author made about it (made or handled). The story itself
  stays; only the way to reach its author goes. The author's own requests lose what they
  said and how to reach them on the same terms, counted from when the request was handled.
  A withdrawn story's author is told by email, and their contact details then go at once
  (feedback/emails.py ``queue_withdrawal_notice``, in the withdrawal's transaction; the
  outbox holds the address, encrypted, until the notice is sent); if that notice never ran,
  they go here a day after the withdrawal.
- **The text of a submission that was never published** (title, the three text fields,
  nickname, "posted on behalf of", the personal details found in it, the moderator's
  rejection note) is purged ``REJECTED_TEXT_RETENTION_DAYS`` (90 by default):
  - after moderation, for a rejected submission;
  - for a submission withheld on safeguarding grounds, once every organisation it was raised
    with has acknowledged the concern, after the latest acknowledgement (or after
    moderation, if no concern was raised with anyone). While any concern is unacknowledged
    the text is kept: it is the evidence of the concern;
  - at once, for a withdrawn submission: withdrawal already wipes it, and anything found
    still there is purged again.
  The title, which every submission must have, becomes a neutral placeholder. Pending and
  published submissions are never purged: a published story stays until its author
  withdraws it.

Nothing in the organisations' own schemas holds an author's contact details (the hub's
Submission table alone does, encrypted), so this runs in the public schema only.

Each run is one transaction that works through due rows in batches (an UPDATE of at most
``BATCH_SIZE`` rows at a time, chosen in SQL; no row is loaded into Python) and ends with
one audit row summarising the counts. Running it again changes nothing: only rows that
still hold something to delete are touched.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import (
    BooleanField,
    CharField,
    Exists,
    F,
    Func,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Concat, Greatest
from django.utils import timezone
from django_tenants.utils import schema_context

from feedback.entering import remove_scan
from feedback.hub.models import (
    AuthorReply,
    AuthorRequest,
    AuthorRequestState,
    PublicResponse,
    SafeguardingConcern,
    Submission,
    SubmissionState,
)
from feedback.withdrawal import WITHDRAWN_TITLE
from tenants.audit.models import AuditEvent
from tenants.audit.recording import WORDING_REMOVED, record_audit

ACTOR = "platform: nightly retention"
BATCH_SIZE = 500

# Everything of a never-published submission's own words (title aside: it is required).
# The author's words, and a scan of the paper form they were written on (its file is deleted
# once the purge commits: feedback/entering.py).
PURGED_TEXT = (
    "what_was_good",
    "what_could_be_improved",
    "how_it_felt",
    "nickname",
    "assisted_by",
    "scan",
)


class FoundSomething(Func):
    """True when stored findings ({field: [finding, ...]}) hold at least one finding."""

    # Any element of any list, at any depth: findings["risk"] nests a list per field.
    template = "jsonb_path_exists(%(expressions)s, 'strict $.** ? (@.type() == \"array\")[*]')"
    output_field = BooleanField()


@dataclass(frozen=True)
class RetentionRun:
    """What one run deleted."""

    contact_removed: int = 0
    rejected_purged: int = 0
    withheld_purged: int = 0
    withdrawn_purged: int = 0
    requests_cleared: int = 0
    audit_wording_removed: int = 0

    @property
    def texts_purged(self) -> int:
        return self.rejected_purged + self.withheld_purged + self.withdrawn_purged


# A withdrawn story's author is told, and then their contact details go; if that notice never
# ran, retention removes them this long after the withdrawal.
WITHDRAWN_CONTACT_GRACE = timedelta(days=1)


def purged_title() -> str:
    return f"[removed after {settings.REJECTED_TEXT_RETENTION_DAYS} days]"


def last_follow_up() -> Greatest:
    """The time of the last thing that happened to a submission, as SQL.

    Each related table contributes one correlated subquery (its latest time, or NULL), and
    every NULL falls back to the submission's arrival, so GREATEST never sees one."""
    story = OuterRef("public_story_id")
    response = _latest(
        PublicResponse.objects.filter(public_story_id=story),
        "public_story_id",
        Greatest("published_at", "updated_at"),
    )
    reply = _latest(
        AuthorReply.objects.filter(response__public_story_id=story),
        "response__public_story_id",
        F("created_at"),
    )
    request = _latest(
        AuthorRequest.objects.filter(submission_id=OuterRef("pk")),
        "submission_id",
        Greatest("created_at", Coalesce("handled_at", "created_at")),
    )
    arrived = F("created_at")
    later = [F("moderated_at"), F("author_seen_at"), F("withdrawn_at"), response, reply, request]
    return Greatest(arrived, *(Coalesce(value, arrived) for value in later))


def _latest(rows: QuerySet, key: str, moment: object) -> Subquery:
    return Subquery(rows.order_by().values(key).annotate(latest=Max(moment)).values("latest")[:1])


def _has_contact() -> Q:
    return ~Q(email="") | ~Q(postcode="")


def _has_text() -> Q:
    """Anything of the author's words still there (or never marked purged).

    TRICKY: the moderation pages scan a submission whose findings are empty and store what
    they find, which for purged text is an empty list for each field: that is not something
    left, only a personal detail found in some field is."""
    remains = Q(text_purged_at__isnull=True) | Q(FoundSomething("findings")) | ~Q(rejection_note="")
    for name in PURGED_TEXT:
        remains |= ~Q(**{name: ""})
    return remains


def contact_due(now: datetime) -> QuerySet[Submission]:
    """Submissions whose contact details are past keeping at `now`: a year (by default)
    after the last follow-up, or a day after a withdrawal whose notice (which deletes them,
    feedback/emails.py) never ran."""
    cutoff = now - timedelta(days=settings.AUTHOR_CONTACT_RETENTION_DAYS)
    # Nothing that arrived after the cutoff can be due; the index on created_at says so first.
    return Submission.objects.filter(
        _has_contact(),
        Q(
            pk__in=Submission.objects.filter(created_at__lt=cutoff)
            .alias(last_follow_up=last_follow_up())
            .filter(last_follow_up__lt=cutoff)
            .values("pk")
        )
        | Q(state=SubmissionState.WITHDRAWN, withdrawn_at__lt=now - WITHDRAWN_CONTACT_GRACE),
    )


def rejected_text_due(now: datetime) -> QuerySet[Submission]:
    cutoff = now - timedelta(days=settings.REJECTED_TEXT_RETENTION_DAYS)
    return Submission.objects.filter(
        _has_text(), state=SubmissionState.REJECTED, moderated_at__lt=cutoff
    )


def withheld_text_due(now: datetime) -> QuerySet[Submission]:
    """Withheld submissions whose every safeguarding concern was acknowledged long enough
    ago (or, with no concern raised, that were withheld long enough ago)."""
    cutoff = now - timedelta(days=settings.REJECTED_TEXT_RETENTION_DAYS)
    concerns = SafeguardingConcern.objects.filter(submission_id=OuterRef("pk"))
    acknowledged = _latest(concerns, "submission_id", F("acknowledged_at"))
    return (
        Submission.objects.filter(_has_text(), state=SubmissionState.WITHHELD)
        .exclude(Exists(concerns.filter(acknowledged_at__isnull=True)))
        .alias(settled_at=Coalesce(acknowledged, "moderated_at"))
        .filter(settled_at__lt=cutoff)
    )


def withdrawn_text_due() -> QuerySet[Submission]:
    return Submission.objects.filter(_has_text(), state=SubmissionState.WITHDRAWN)


def requests_due(now: datetime) -> QuerySet[AuthorRequest]:
    """Handled requests whose author's words and contact are past keeping."""
    cutoff = now - timedelta(days=settings.AUTHOR_CONTACT_RETENTION_DAYS)
    return AuthorRequest.objects.filter(
        ~Q(details="") | ~Q(contact=""),
        ~Q(state=AuthorRequestState.OPEN),
        handled_at__lt=cutoff,
    )


def audit_wording_due() -> QuerySet[AuditEvent]:
    """Hub audit rows about purged submissions that still carry their wording: a moderator's
    "Published “title”" or "Rejected “title”" would otherwise outlive the text itself. The
    row stays (who did what, to which submission, when); only the summary loses the words."""
    purged = (
        Submission.objects.filter(text_purged_at__isnull=False)
        .annotate(key=Cast("pk", CharField()))
        .values("key")
    )
    # The withdrawal's own row never quotes the story, and says what happened to it.
    return (
        AuditEvent.objects.filter(target_type="hub.submission", target_id__in=purged)
        .exclude(summary__startswith=WORDING_REMOVED)
        .exclude(action="moderation.withdrawn")
    )


def _in_batches(due: QuerySet, **changes: object) -> int:
    """UPDATE the due rows, at most BATCH_SIZE in each statement; returns how many."""
    total = 0
    while True:
        batch = due.order_by("pk").values("pk")[:BATCH_SIZE]
        changed = due.model.objects.filter(pk__in=batch).update(**changes)
        total += changed
        if changed < BATCH_SIZE:
            return total


def _purge(due: QuerySet, now: datetime, title: str) -> int:
    for name in due.exclude(scan="").values_list("scan", flat=True):
        transaction.on_commit(lambda name=name: remove_scan(name))
    return _in_batches(
        due,
        title=title,
        rejection_note="",
        findings=None,
        text_purged_at=Coalesce(F("text_purged_at"), Value(now)),
        **dict.fromkeys(PURGED_TEXT, ""),
    )


def apply_retention(now: datetime | None = None) -> RetentionRun:
    """Delete what is past keeping at `now`, in one transaction, and audit the run."""
    now = now or timezone.now()
    with transaction.atomic(), schema_context(settings.PUBLIC_SCHEMA_NAME):
        purged = {
            "contact_removed": _in_batches(
                contact_due(now), email="", postcode="", contact_removed_at=now
            ),
            "rejected_purged": _purge(rejected_text_due(now), now, purged_title()),
            "withheld_purged": _purge(withheld_text_due(now), now, purged_title()),
            "withdrawn_purged": _purge(withdrawn_text_due(), now, WITHDRAWN_TITLE),
            "requests_cleared": _in_batches(requests_due(now), details="", contact=""),
        }
        # After the purges above, so tonight's purged stories lose their audit wording too.
        run = RetentionRun(
            **purged,
            audit_wording_removed=_in_batches(
                audit_wording_due(),
                summary=Concat(Value(WORDING_REMOVED + " "), F("action")),
            ),
        )
        record_audit(
            "retention.applied",
            actor=None,
            actor_label=ACTOR,
            summary=(
                f"Retention: contact details removed from {run.contact_removed} stories, "
                f"text purged from {run.texts_purged} unpublished stories, "
                f"{run.requests_cleared} authors' requests cleared"
            ),
            detail={
                **asdict(run),
                "contact_retention_days": settings.AUTHOR_CONTACT_RETENTION_DAYS,
                "rejected_text_retention_days": settings.REJECTED_TEXT_RETENTION_DAYS,
            },
        )
    return run
