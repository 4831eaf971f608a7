"""The quality committee pack: one provider of a network, for the network's lead or a
consenting member, over a period.

Built only from public data: the public-schema rollups read by organisation id (through
`dashboards.queries`) and the provider's published stories and responses (PublicStory,
PublicResponse). The provider's own schema is never read. Every count under
SUPPRESS_BELOW is shown as "fewer than 8", never as a number; a count or share from which
one could be worked back is suppressed too (`dashboards.suppression`); and when the
provider has fewer than 8 stories in the period every figure is suppressed. What authors
said of the responses (marked helpful, change confirmed) is read from the same public copies
(`queries.author_marks`) and suppressed the same way.

The fuller sections (dashboards/reports/committee_sections.py) are from the same public
copies: recurring themes, response quality (the quality check run again on the published
replies) and the changes made (You said, we did). The action plan is the lead's own record
(dashboards/committee_actions.py), read from the lead's schema: shown to the lead and to the
provider itself, never to another member viewing the provider's pack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.http import Http404
from django.utils import timezone

from dashboards import queries
from dashboards.committee_actions import PlannedAction, member_actions
from dashboards.compliance import Compliance, member_compliance
from dashboards.network_standards import StandardsClock, standards_of, standards_text
from dashboards.queries import Scope, TagCount
from dashboards.reports.committee_sections import (
    ChangeMade,
    LearnedInPack,
    public_changes_made,
    public_learned_themes,
    public_response_quality,
    public_themes,
)
from dashboards.reports.excerpts import excerpt
from dashboards.reports.response_quality import ResponseQuality
from dashboards.reports.themes import Themes
from dashboards.statistics import SUPPRESS_BELOW, suppressed
from dashboards.suppression import (
    COMPLEMENTARY,
    SMALL,
    Suppression,
    suppress_counts,
    suppressed_part,
)
from feedback.choices import ChangeStatus, Criticality, Polarity
from feedback.hub.models import PublicResponse, PublicStory
from tenants.models import Network, Organisation
from tenants.networks import comparable_members, comparison_networks

SUPPRESSED = SMALL
EXAMPLES = 3
TAGS = 5
POSITIVE = (Criticality.NOT_CRITICAL.value, Criticality.MINIMALLY_CRITICAL.value)


@dataclass(frozen=True)
class PublicExample:
    title: str
    excerpt: str
    criticality: str
    published_at: datetime


@dataclass(frozen=True)
class PublicChange:
    story_title: str
    change: str
    status: str
    responded_at: datetime


@dataclass(frozen=True)
class CommitteePack:
    network: Network
    provider: Organisation
    start: date
    end: date
    figures: queries.ProviderFigures
    author_marks: queries.AuthorMarks
    criticality_mix: list[tuple[str, int]]
    response_buckets: list[int]
    positive_tags: list[TagCount]
    negative_tags: list[TagCount]
    positive_examples: list[PublicExample]
    critical_examples: list[PublicExample]
    changes: list[PublicChange]
    # The network's response standards, and the provider measured against them, for the
    # period (dashboards/compliance.py); None when the lead has set none.
    standards: StandardsClock | None = None
    compliance: Compliance | None = None
    # From the published copies (committee_sections.py); None when the pack is suppressed.
    themes: Themes | None = None
    # Themes learned from the provider's published stories in the period.
    learned: list[LearnedInPack] | None = None
    response_quality: ResponseQuality | None = None
    changes_made: list[ChangeMade] | None = None
    # The lead's action plan for the provider; None when the viewer is another member.
    actions: list[PlannedAction] | None = None

    @property
    def changes_planned(self) -> list[PublicChange]:
        return [c for c in self.changes if c.status == ChangeStatus.PLANNED]

    @property
    def suppressed(self) -> bool:
        return suppressed(self.figures.stories) or not self.criticality.total_shown

    @property
    def criticality(self) -> Suppression[str]:
        """The criticality mix, a partition of the stories shown next to their total."""
        mix = dict(self.criticality_mix)
        # The same rollups, so they agree; if ever not, protect against their own sum.
        total = self.figures.stories
        return suppress_counts(mix, total if sum(mix.values()) == total else sum(mix.values()))

    @property
    def responses(self) -> Suppression[str]:
        """Stories responded to, and the rest, which is the total minus them."""
        return suppressed_part("responded", self.figures.responded, self.figures.stories)

    @property
    def change_counts(self) -> Suppression[str]:
        return suppress_counts({"changes": self.figures.changes})

    @property
    def response_times(self) -> Suppression[int]:
        """The first responses by time bucket, which add up to the stories responded to."""
        buckets = dict(enumerate(self.response_buckets))
        total = self.figures.responded if self.responses.shows("responded") else None
        return suppress_counts(buckets, total if total == sum(buckets.values()) else None)

    def _count(self, count: int) -> str:
        """A count on its own (responses published, changes claimed)."""
        if self.suppressed:
            return SUPPRESSED
        return suppress_counts({"count": count}).count("count")

    def _part_of(self, count: int, total: int) -> str:
        """'12 of 40 (30%)': shown only when neither the part, nor the rest (the total shown
        next to it minus the part), nor the total is under 8."""
        if self.suppressed:
            return SUPPRESSED
        table = suppressed_part("part", count, total)
        if not table.shows("part"):
            return table.label("part")
        return f"{count} of {total} ({100 * count / total:.0f}%)"

    def _shown(self, table: Suppression, keys: tuple, value: float | None, fmt: str) -> str:
        """A figure made from the counts `keys` of `table`: shown only when they all are, so
        a share never gives away a count that is suppressed."""
        if self.suppressed:
            return SUPPRESSED
        if not table.shows(*keys):
            return table.label(*keys)
        return "–" if value is None else format(value, fmt)

    def rows(self) -> list[tuple[str, str, str]]:
        """(section, measure, value), every figure already suppressed as it must be."""
        f = self.figures
        percent = lambda v: None if v is None else 100 * v  # noqa: E731
        critical = tuple(c for c, _ in self.criticality_mix if c in queries.CRITICAL)
        rows = [
            ("period", "start", self.start.isoformat()),
            ("period", "end", self.end.isoformat()),
            ("volume", "stories", SUPPRESSED if self.suppressed else str(f.stories)),
            (
                "responses",
                "stories responded to",
                self._shown(self.responses, ("responded",), f.responded, "d"),
            ),
            (
                "responses",
                "share responded (%)",
                self._shown(self.responses, ("responded",), percent(f.share_responded), ".0f"),
            ),
            (
                "responses",
                "median hours to first response",
                # Not a count, but from fewer than 8 responses it describes too few people.
                self._shown(
                    suppress_counts({"responded": f.responded}),
                    ("responded",),
                    f.median_response_hours,
                    ".1f",
                ),
            ),
            (
                "criticality",
                "share strongly or severely critical (%)",
                self._shown(self.criticality, critical, percent(f.share_critical), ".0f"),
            ),
            (
                "changes",
                "changes per 100 stories",
                self._shown(self.change_counts, ("changes",), f.changes_per_100, ".1f"),
            ),
        ]
        marks = self.author_marks
        rows += [
            ("authors' marks", "responses published", self._count(marks.responses)),
            (
                "authors' marks",
                "responses marked helpful",
                self._part_of(marks.helpful, marks.responses),
            ),
            ("authors' marks", "changes claimed", self._count(marks.changes_claimed)),
            (
                "authors' marks",
                "changes confirmed by authors",
                self._part_of(marks.changes_confirmed, marks.changes_claimed),
            ),
        ]
        rows += [
            ("criticality", name, self._shown(self.criticality, (name,), n, "d"))
            for name, n in self.criticality_mix
        ]
        rows += self.standards_rows()
        if not self.suppressed:
            rows += [("positive tags", t.name, str(t.stories)) for t in self.positive_tags]
            rows += [("negative tags", t.name, str(t.stories)) for t in self.negative_tags]
        rows += self.themes_rows()
        rows += self.quality_rows()
        rows += [
            (
                "changes made",
                "you said, we did: changes made",
                self._count(len(self.changes_made or ())),
            )
        ]
        rows += self.action_rows()
        return rows

    def themes_rows(self) -> list[tuple[str, str, str]]:
        """Tag pairs and phrases in 8 or more of the provider's stories; none when suppressed."""
        if self.suppressed or self.themes is None:
            return []
        section = "recurring themes"
        rows = [
            (section, f"tags together: {p.label}", str(p.stories)) for p in self.themes.tag_pairs
        ]
        rows += [(section, f"phrase: {p.text}", str(p.stories)) for p in self.themes.phrases]
        rows += [(section, f"learned theme: {t.label}", str(t.stories)) for t in self.learned or ()]
        return rows or [(section, "themes", f"none in {SUPPRESS_BELOW} or more stories")]

    def quality_rows(self) -> list[tuple[str, str, str]]:
        """The quality check over the provider's published replies, suppressed like the rest."""
        section = "response quality"
        q = self.response_quality
        if q is None:
            q = ResponseQuality(0, 0, None, None, 0, [])
        checked = suppress_counts({"responses": q.responses})
        rows = [
            (section, "responses checked", self._count(q.responses)),
            (
                section,
                "mean quality score (out of 100)",
                self._shown(checked, ("responses",), q.mean_score, ".0f"),
            ),
            (
                section,
                "median quality score (out of 100)",
                self._shown(checked, ("responses",), q.median_score, ".0f"),
            ),
            (
                section,
                "generic replies (only redirect, or copied)",
                self._part_of(q.generic, q.responses),
            ),
        ]
        if not self.suppressed:
            # Only advice given to enough responses (and not to all but a few) is named.
            rows += [
                (section, f"advice: {a.label}", self._part_of(a.responses, q.responses))
                for a in q.advice
                if suppressed_part("part", a.responses, q.responses).shows("part")
            ]
        return rows

    def action_rows(self) -> list[tuple[str, str, str]]:
        """The lead's action plan for the provider, each with its status (the lead's own
        record, not a figure from stories: shown even when the figures are suppressed)."""
        if not self.actions:
            return []
        section = "action plan"
        return [
            (section, f"{a.action} (owner: {a.owner}; due {a.due_on:%-d %b %Y})", a.status_label)
            for a in self.actions
        ]

    def standards_rows(self) -> list[tuple[str, str, str]]:
        """The network's standards and whether the provider met them in the period."""
        section = "network standards"
        if self.standards is None or self.compliance is None:
            if self.suppressed:
                return []
            # (A pack built without its network, as the suppression tests do, names no lead.)
            lead = self.network.lead.name if self.network is not None else "the network's lead"
            return [(section, "standards", f"none set by {lead}")]
        # Suppressed by its own counts (fewer than 8 measured: every figure), and wholly
        # with the rest of the pack when the provider has fewer than 8 stories.
        shown = self.compliance.shown()
        if self.suppressed:
            shown = dict.fromkeys(shown, SUPPRESSED)
        settings = [
            *(
                (section, f"standard: {criticality}", allowance)
                for criticality, allowance in standards_text(self.standards).items()
            ),
            (section, "met when answered in time (%)", f"at least {self.standards.met_percent}"),
        ]
        return [
            *([] if self.suppressed else settings),
            (section, "stories measured", shown["measured"]),
            (section, "answered within the standard (%)", shown["share"]),
            (section, "median hours to first response", shown["median"]),
            (section, "open breaches", shown["breaches"]),
            (section, "met / not met", shown["met"]),
        ]


def chosen(viewer: Organisation, network_id: object, provider_id: object) -> tuple:
    """The network and provider asked for, if the viewer may see this network's comparison
    (its lead, or an active consenting member) and the provider is one of its comparable
    members; Http404 otherwise."""
    try:
        network_pk, provider_pk = int(network_id), int(provider_id)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise Http404("No such network or provider.") from None
    network = next((n for n in comparison_networks(viewer) if n.pk == network_pk), None)
    if network is None:
        raise Http404("No such network.")
    provider = next((o for o in comparable_members(network) if o.pk == provider_pk), None)
    if provider is None:
        raise Http404("No such provider in this network.")
    return network, provider


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _public_stories(provider: Organisation, start: date, end: date):  # noqa: ANN202
    return PublicStory.objects.filter(
        organisations=provider,
        published_at__gte=_midnight(start),
        published_at__lt=_midnight(end + timedelta(days=1)),
    )


def _examples(provider: Organisation, start: date, end: date, criticalities) -> list:  # noqa: ANN001
    rows = (
        _public_stories(provider, start, end)
        .filter(criticality__in=criticalities)
        .order_by("-published_at", "-pk")
        .values_list("title", "body", "criticality", "published_at")[:EXAMPLES]
    )
    return [PublicExample(t, excerpt(b), c, at) for t, b, c, at in rows]


def _changes(provider: Organisation, start: date, end: date) -> list[PublicChange]:
    rows = (
        PublicResponse.objects.filter(
            organisation=provider,
            change_status__in=[ChangeStatus.MADE, ChangeStatus.PLANNED],
            published_at__gte=_midnight(start),
            published_at__lt=_midnight(end + timedelta(days=1)),
        )
        .order_by("-published_at", "-pk")
        .values_list("public_story__title", "change_description", "change_status", "published_at")
    )
    return [PublicChange(t, c, s, at) for t, c, s, at in rows]


def shows_actions(viewer: Organisation | None, network: Network, provider: Organisation) -> bool:
    """The action plan is for the lead and the provider itself; `None` is a pack delivered to
    the lead's recipients or the provider's own (dashboards/reports/delivering.py)."""
    return viewer is None or viewer.pk in (network.lead_id, provider.pk)


def committee_pack(  # noqa: ANN201
    network: Network,
    provider: Organisation,
    start: date,
    end: date,
    *,
    viewer: Organisation | None = None,
):
    scope = Scope(organisation_id=provider.pk, start=start, end=end)
    figures = queries.provider_figures([provider.pk], start, end)[provider.pk]
    mix = dict.fromkeys(Criticality.values, 0)
    for _, criticality, count in queries.stories_over_time(scope):
        mix[criticality] = mix.get(criticality, 0) + count
    hidden = suppressed(figures.stories)
    # Only tags given by enough stories are named; a rare tag could point to its author.
    tags = [t for t in queries.top_tags(scope, per_group=TAGS) if not suppressed(t.stories)]
    clock = StandardsClock.of(standards_of(network))
    measured = (
        None
        if clock is None
        else member_compliance([provider.pk], start, end, clock, timezone.now())[provider.pk]
    )
    return CommitteePack(
        network=network,
        provider=provider,
        start=start,
        end=end,
        figures=figures,
        author_marks=queries.author_marks(scope),
        criticality_mix=list(mix.items()),
        response_buckets=queries.response_times(scope),
        positive_tags=[t for t in tags if t.polarity == Polarity.POSITIVE],
        negative_tags=[t for t in tags if t.polarity == Polarity.NEGATIVE],
        positive_examples=[] if hidden else _examples(provider, start, end, POSITIVE),
        critical_examples=[] if hidden else _examples(provider, start, end, queries.CRITICAL),
        changes=[] if hidden else _changes(provider, start, end),
        standards=clock,
        compliance=measured,
        themes=None if hidden else public_themes(provider, start, end),
        learned=None if hidden else public_learned_themes(provider, start, end),
        response_quality=None if hidden else public_response_quality(provider, start, end),
        changes_made=None if hidden else public_changes_made(provider, start, end),
        actions=(
            member_actions(network, provider, today=timezone.localdate(), since=start)
            if shows_actions(viewer, network, provider)
            else None
        ),
    )


def committee_pdf(pack: CommitteePack) -> bytes:
    from dashboards.reports import pdf

    period = f"{pack.start:%-d %b %Y} to {pack.end:%-d %b %Y}"
    charts = []
    if not pack.suppressed:
        mix = pack.criticality
        shown = [(n, c) for n, c in pack.criticality_mix if mix.shows(n)]
        charts.append(
            pdf.bar_chart(
                f"Stories by criticality (counts under {SUPPRESS_BELOW}, and any that would "
                "give one away, not shown)",
                [n.capitalize() for n, _ in shown],
                [c for _, c in shown],
            )
        )
        times = pack.response_times
        charts.append(
            pdf.bar_chart(
                f"Time to first response (counts under {SUPPRESS_BELOW}, and any that would "
                "give one away, shown as 0)",
                pdf.BUCKET_LABELS,
                [c if times.shows(i) else 0 for i, c in enumerate(pack.response_buckets)],
            )
        )
        if pack.positive_tags:
            charts.append(pdf.tags_chart("Most given positive tags", pack.positive_tags))
        if pack.negative_tags:
            charts.append(pdf.tags_chart("Most given negative tags", pack.negative_tags))
    examples = [
        (f"{e.title} ({e.criticality}, {e.published_at:%-d %b %Y})", e.excerpt)
        for e in pack.positive_examples + pack.critical_examples
    ]
    themes = []
    if pack.themes is not None:
        themes = [
            (
                f"{label} ({stories} stories)",
                "For example: " + "; ".join(e.title for e in examples),
            )
            for label, stories, examples in [
                *(
                    (f"Tags together: {p.label}", p.stories, p.examples)
                    for p in pack.themes.tag_pairs
                ),
                *((f"Phrase: {p.text}", p.stories, p.examples) for p in pack.themes.phrases),
            ]
        ]
        themes += [
            (
                f"Learned theme: {t.label} ({t.stories} stories)",
                "For example: " + "; ".join(title for _, title in t.examples),
            )
            for t in pack.learned or ()
        ]
    made = [
        (f"We did: {c.change} ({c.responded_at:%-d %b %Y})", f"You said: {c.story_excerpt}")
        for c in pack.changes_made or ()
    ]
    planned = [(f"Planned: {c.change}", f"You said: {c.story_title}") for c in pack.changes_planned]
    actions = [
        (
            f"{a.action} ({a.status_label})",
            f"Owner at {pack.provider.name}: {a.owner}. Due {a.due_on:%-d %b %Y}."
            + (f" {a.note}" if a.note else ""),
        )
        for a in pack.actions or ()
    ]
    sections = (
        []
        if pack.suppressed
        else [
            ("Example stories", examples),
            ("Recurring themes", themes),
            ("You said, we did: changes made", made),
            ("Changes planned", planned),
        ]
    )
    if actions:
        sections.append(("Action plan", actions))
    return pdf.figures_pdf(
        [(measure.capitalize(), value) for _, measure, value in pack.rows()],
        title=f"Quality committee pack: {pack.provider.name}",
        organisation_name=f"{pack.provider.name} ({pack.network.name})",
        period_label=period,
        charts=charts,
        notes=[
            "From published stories and responses only. Counts under "
            f"{SUPPRESS_BELOW} are shown as '{SUPPRESSED}'; a count or share that would let "
            f"one be worked out is shown as '{COMPLEMENTARY}'."
        ],
        sections=sections,
    )
