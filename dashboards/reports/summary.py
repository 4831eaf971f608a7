"""A stories summary of an organisation, or of a service and those inside it, over a period.

Every figure on stories comes from `dashboards.queries` (SQL over the rollups), so a report
and the live dashboard never disagree about the same period. The example stories, the
quality of responses (`response_quality`) and the recurring themes (`themes`) are read from
the organisation's own schema; what authors said of the responses (`queries.author_marks`)
from the hub's public copies of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from django.db.models import Count

from dashboards import queries
from dashboards.queries import AuthorMarks, Scope, TagCount
from dashboards.reports.excerpts import excerpt, stories_in
from dashboards.reports.response_quality import ResponseQuality, response_quality
from dashboards.reports.themes import Themes, recurring_themes
from dashboards.statistics import share
from dashboards.tenant_app import target_hours
from feedback.choices import Criticality, Polarity, SubmissionRoute

POSITIVE = (Criticality.NOT_CRITICAL.value, Criticality.MINIMALLY_CRITICAL.value)
CRITICAL = queries.CRITICAL
EXAMPLES = 3
TAGS = 5


@dataclass(frozen=True)
class ExampleStory:
    pk: int
    title: str
    excerpt: str
    criticality: str
    published_at: datetime


@dataclass(frozen=True)
class Summary:
    scope: Scope
    previous_start: date
    previous_end: date
    stories: int
    stories_previous: int
    # (criticality, stories) for every criticality, least critical first.
    criticality_mix: list[tuple[str, int]]
    responded: int
    share_responded: float | None
    median_response_hours: float | None
    target_hours: float
    target_label: str
    share_within_target: float | None
    changes_planned: int
    changes_made: int
    positive_tags: list[TagCount]
    negative_tags: list[TagCount]
    positive_examples: list[ExampleStory]
    critical_examples: list[ExampleStory]
    response_quality: ResponseQuality
    author_marks: AuthorMarks
    themes: Themes
    # (key, label, stories) for each route a story came by, then the stories entered by the
    # organisation's own staff (which came by one of those routes too): `stories_by_route`.
    by_route: list[tuple[str, str, int]] = field(default_factory=list)
    # The learned themes (feedback/topics.py) of the stories in scope, most stories first.
    learned: list[queries.TopicCount] = field(default_factory=list)

    @property
    def change_in_stories(self) -> float | None:
        """Relative change on the previous period; None when it had no stories."""
        if not self.stories_previous:
            return None
        return (self.stories - self.stories_previous) / self.stories_previous

    @property
    def median_within_target(self) -> bool | None:
        if self.median_response_hours is None:
            return None
        return self.median_response_hours <= self.target_hours

    def figures(self) -> list[tuple[str, str, str]]:
        """(section, measure, value) for every figure, as the CSV download lists them."""

        def number(value: float | None, places: int) -> str:
            return "" if value is None else f"{value:.{places}f}"

        rows = [
            ("period", "start", self.scope.start.isoformat()),
            ("period", "end", self.scope.end.isoformat()),
            ("volume", "stories", str(self.stories)),
            ("volume", "previous period start", self.previous_start.isoformat()),
            ("volume", "previous period end", self.previous_end.isoformat()),
            ("volume", "stories in previous period", str(self.stories_previous)),
            ("volume", "change on previous period", number(self.change_in_stories, 4)),
        ]
        rows += [("criticality", name, str(count)) for name, count in self.criticality_mix]
        rows += [("route", key, str(count)) for key, _, count in self.by_route]
        rows += [
            ("responses", "stories responded to", str(self.responded)),
            ("responses", "share responded", number(self.share_responded, 4)),
            ("responses", "median hours to first response", number(self.median_response_hours, 1)),
            ("responses", "target hours", number(self.target_hours, 1)),
            ("responses", "share answered within target", number(self.share_within_target, 4)),
            ("changes", "planned", str(self.changes_planned)),
            ("changes", "made", str(self.changes_made)),
        ]
        rows += [("positive tags", tag.name, str(tag.stories)) for tag in self.positive_tags]
        rows += [("negative tags", tag.name, str(tag.stories)) for tag in self.negative_tags]
        quality = self.response_quality
        rows += [
            ("response quality", "responses published", str(quality.responses)),
            ("response quality", "responses checked", str(quality.assessed)),
            ("response quality", "mean score", number(quality.mean_score, 1)),
            ("response quality", "median score", number(quality.median_score, 1)),
            ("response quality", "flagged generic", str(quality.generic)),
            ("response quality", "share flagged generic", number(quality.share_generic, 4)),
        ]
        rows += [
            ("response quality", f"advice: {advice.label}", str(advice.responses))
            for advice in quality.advice
        ]
        marks = self.author_marks
        rows += [
            ("authors' marks", "responses published", str(marks.responses)),
            ("authors' marks", "responses marked helpful", str(marks.helpful)),
            ("authors' marks", "share marked helpful", number(marks.share_helpful, 4)),
            ("authors' marks", "changes claimed", str(marks.changes_claimed)),
            ("authors' marks", "changes confirmed by authors", str(marks.changes_confirmed)),
            ("authors' marks", "share confirmed", number(marks.share_confirmed, 4)),
        ]
        themes = self.themes
        rows.append(("themes", "stories read", str(themes.stories_read)))
        rows += [("themes", f"tags together: {p.label}", str(p.stories)) for p in themes.tag_pairs]
        rows += [("themes", f"phrase: {p.text}", str(p.stories)) for p in themes.phrases]
        rows += [("learned themes", t.label, str(t.stories)) for t in self.learned]
        return rows


def previous_period(scope: Scope) -> Scope:
    """The period of equal length that ends the day before `scope` starts."""
    length = scope.end - scope.start
    end = scope.start - timedelta(days=1)
    return replace(scope, start=end - length, end=end)


def stories_summary(scope: Scope) -> Summary:
    kpis = queries.kpis(scope)
    before = previous_period(scope)
    stories_previous = sum(count for _, _, count in queries.stories_over_time(before))
    by_criticality = dict.fromkeys(Criticality.values, 0)
    for _, criticality, count in queries.stories_over_time(scope):
        by_criticality[criticality] = by_criticality.get(criticality, 0) + count
    tags = queries.top_tags(scope, per_group=TAGS)
    hours, label = target_hours(scope)
    return Summary(
        scope=scope,
        previous_start=before.start,
        previous_end=before.end,
        stories=kpis.stories,
        stories_previous=stories_previous,
        criticality_mix=list(by_criticality.items()),
        responded=kpis.responded,
        share_responded=share(kpis.responded, kpis.stories),
        median_response_hours=kpis.median_response_hours,
        target_hours=hours,
        target_label=label,
        share_within_target=kpis.share_within_target,
        changes_planned=kpis.changes_planned,
        changes_made=kpis.changes_made,
        positive_tags=[tag for tag in tags if tag.polarity == Polarity.POSITIVE],
        negative_tags=[tag for tag in tags if tag.polarity == Polarity.NEGATIVE],
        positive_examples=example_stories(scope, POSITIVE),
        critical_examples=example_stories(scope, CRITICAL),
        response_quality=response_quality(scope),
        author_marks=queries.author_marks(scope),
        themes=recurring_themes(scope),
        by_route=stories_by_route(scope),
        learned=queries.learned_topics(scope),
    )


STAFF_ENTERED = "entered by staff"


def stories_by_route(scope: Scope) -> list[tuple[str, str, int]]:
    """(key, label, stories) for every route a story can come by (web, widget, kiosk,
    assisted, phone, paper, in person), then those entered by the organisation's own staff.

    The rollups do not keep the route, so this is counted from the organisation's own
    stories in its schema, each story once (however many of the scope's services it names).
    """
    stories = stories_in(scope).order_by()
    counts = {
        row["submission_route"]: row["stories"]
        for row in stories.values("submission_route").annotate(stories=Count("pk", distinct=True))
    }
    staff = stories.filter(staff_entered=True).aggregate(stories=Count("pk", distinct=True))
    return [
        *((route.value, str(route.label), counts.get(route.value, 0)) for route in SubmissionRoute),
        (STAFF_ENTERED, "Entered by staff (by any of the routes above)", staff["stories"]),
    ]


def example_stories(scope: Scope, criticalities: tuple[str, ...]) -> list[ExampleStory]:
    """The latest few stories of these criticalities in scope."""
    chosen = criticalities
    if scope.criticalities is not None:
        chosen = tuple(c for c in criticalities if c in scope.criticalities)
    rows = (
        stories_in(scope)
        .filter(criticality__in=chosen)
        .order_by("-published_at", "-pk")
        .values_list("pk", "title", "body", "criticality", "published_at")
        .distinct()[:EXAMPLES]
    )
    return [
        ExampleStory(pk=pk, title=title, excerpt=excerpt(body), criticality=c, published_at=at)
        for pk, title, body, c, at in rows
    ]
