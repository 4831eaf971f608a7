"""Counts per organisation, service, day and criticality: what dashboards, network
comparisons and reports add up. In the public schema, so a network can compare its members
without opening their schemas.

Kept in step with each organisation's stories in the same transaction as the change
(dashboards/rollups/updating.py), and recomputable from them (rebuilding.py).
"""

from __future__ import annotations

from django.db import models

from feedback.choices import Criticality, Polarity, TagGroup
from tenants.models import Organisation

# Upper bounds, in hours, of the time-to-first-response buckets; the last is open-ended.
RESPONSE_BUCKET_HOURS: tuple[float, ...] = (1, 4, 12, 24, 48, 72, 120, 168, 336, 720)
RESPONSE_BUCKET_FIELDS: tuple[str, ...] = (
    "responded_within_1h",
    "responded_within_4h",
    "responded_within_12h",
    "responded_within_1d",
    "responded_within_2d",
    "responded_within_3d",
    "responded_within_5d",
    "responded_within_7d",
    "responded_within_14d",
    "responded_within_30d",
    "responded_after_30d",
)


class ServiceDay(models.Model):
    """Stories published on one day about one service, of one criticality, and what became
    of them: responses, times, missed targets, changes and tags.

    A story naming several of an organisation's services counts once, under the first of
    them (the lowest id), so an organisation's totals never count a story twice.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    # The Service's id in the organisation's schema.
    service_id = models.BigIntegerField()
    # The publication date, in the UK.
    day = models.DateField()
    criticality = models.CharField(max_length=24, choices=Criticality.choices)
    stories = models.IntegerField(default=0)
    responded = models.IntegerField(default=0)
    # Sum of the seconds from publication to first response, over `responded` stories.
    response_seconds = models.BigIntegerField(default=0)
    responded_within_1h = models.IntegerField(default=0)
    responded_within_4h = models.IntegerField(default=0)
    responded_within_12h = models.IntegerField(default=0)
    responded_within_1d = models.IntegerField(default=0)
    responded_within_2d = models.IntegerField(default=0)
    responded_within_3d = models.IntegerField(default=0)
    responded_within_5d = models.IntegerField(default=0)
    responded_within_7d = models.IntegerField(default=0)
    responded_within_14d = models.IntegerField(default=0)
    responded_within_30d = models.IntegerField(default=0)
    responded_after_30d = models.IntegerField(default=0)
    # Stories whose response target was missed, and those of them still unanswered.
    breaches = models.IntegerField(default=0)
    breaches_open = models.IntegerField(default=0)
    # Stories whose responses record a change planned (and none made), or made.
    changes_planned = models.IntegerField(default=0)
    changes_made = models.IntegerField(default=0)
    # Public tags on these stories, by polarity.
    positive_tags = models.IntegerField(default=0)
    negative_tags = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "service_id", "day", "criticality"],
                name="one_serviceday_row",
            )
        ]
        indexes = [
            models.Index(fields=["organisation", "day"], name="serviceday_org_day"),
            # Open breaches are counted whenever the story was published; few rows have any.
            models.Index(
                fields=["organisation", "day"],
                condition=models.Q(breaches_open__gt=0),
                name="serviceday_open_breaches",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id}/{self.service_id} {self.day} {self.criticality}"


class ServiceDayTag(models.Model):
    """How often one public tag was given to the stories of a ServiceDay."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    service_id = models.BigIntegerField()
    day = models.DateField()
    criticality = models.CharField(max_length=24, choices=Criticality.choices)
    tag_group = models.CharField(max_length=32, choices=TagGroup.choices)
    tag_name = models.CharField(max_length=60)
    polarity = models.CharField(max_length=10, choices=Polarity.choices)
    stories = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organisation",
                    "service_id",
                    "day",
                    "criticality",
                    "tag_group",
                    "tag_name",
                ],
                name="one_servicedaytag_row",
            )
        ]
        indexes = [
            # Top tags read one group over a period: the index answers it on its own.
            models.Index(
                fields=["organisation", "tag_group", "day"],
                include=["service_id", "criticality", "tag_name", "polarity", "stories"],
                name="servicedaytag_top_tags",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tag_name} ×{self.stories} ({self.organisation_id}/{self.service_id})"
