"""No loss: find published stories whose alerts were never worked out (the broker was down,
a worker died before it began) and deliveries that were never sent. A network's lead also
finds its members' stories whose network alerts never ran
(alerts/network_alerts.py `unevaluated_network_story_ids`)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from alerts.delivering import send_pending
from alerts.models import Evaluation
from feedback.models import Story

# A story this recent may still be on its way through the normal path.
GRACE = timedelta(minutes=2)
LOOK_BACK = timedelta(days=7)


def unevaluated_story_ids(grace: timedelta | None = None) -> list[int]:
    grace = GRACE if grace is None else grace
    now = timezone.now()
    evaluated = Evaluation.objects.values("story_id")
    return list(
        Story.objects.filter(published_at__lte=now - grace, published_at__gte=now - LOOK_BACK)
        .exclude(pk__in=evaluated)
        .values_list("pk", flat=True)
    )


def resend_waiting() -> int:
    return send_pending()
