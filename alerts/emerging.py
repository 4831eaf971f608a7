"""Emerging themes: something new going wrong, told before a person has spotted it.

For each of the organisation's services (its children's stories included) and for the
organisation as a whole, and for each theme (a tag, or a 2- or 3-word phrase the authors use,
feedback/phrases.py), the stories published in the last WINDOW_DAYS days are counted and set
against what the BASELINE_DAYS before them predict.

The method (a Poisson upper control limit):
- expected = (stories in the baseline + PRIOR) x WINDOW_DAYS / BASELINE_DAYS;
- a theme breaks its limit when, in the window, it has at least MIN_STORIES stories, at least
  MIN_RATIO times the expected number, and P(X >= observed) < alpha for X ~ Poisson(expected),
  where alpha is 1e-6 for a theme expected fewer than 3 times a week, 1e-5 up to 7, and
  2e-4 from 7 (a story a day) up (ALPHA_BY_EXPECTED);
- `limit` is the smallest count that breaks it;
- a theme that broke its limit at a service is not reported again there for QUIET_DAYS;
- when it breaks at a service and at the services above it, only the lowest is reported
  (the one nearest to where it happens).

Alpha is small because every night tests every service and theme: with about a thousand
pairs the false alarms must be spent where a rise can be seen. Rare themes make most chance
runs, and no week's count can show a threefold rise of one; a theme seen daily can show it,
so it gets the looser limit. A 24-week baseline keeps the expectation itself steady.
benchmarks/emerging_themes.py measures the detection rate by the baseline's size and the
false alarms per organisation per quarter, and chose these values.

The stories are read from the organisation's own schema: their moderated public text and
tags, never an author's details. `nights` is the pure part: the benchmark feeds it synthetic
histories and the product feeds it the schema's stories.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from alerts import emails
from alerts.delivering import delivery_key, exists, record, send_pending
from alerts.gate import alerts_enabled
from alerts.matching import recipients
from alerts.models import AlertRule, DeliveryKind, EmergingTheme, Scope, theme_label
from alerts.working_time import UK
from feedback.models import Service, Story, StoryTopic, topic_label
from feedback.phrases import STOP_WORDS, phrases_of
from tenants.accounts.models import User
from tenants.audit.recording import record_audit

WINDOW_DAYS = 7
BASELINE_DAYS = 168
MIN_STORIES = 5
MIN_RATIO = 2.0
ALPHA = 1e-5
# The tail probability asked of a theme, by what its baseline predicts for a week: stricter
# for rare themes, whose chance runs make most false alarms and whose rises no week's count
# can show; looser for themes seen daily, where a threefold rise can be told within a week.
# (benchmarks/emerging_themes.py chose these: see the README.)
ALPHA_BY_EXPECTED = ((7.0, 2e-4), (3.0, ALPHA), (0.0, 1e-6))
PRIOR = 0.5
QUIET_DAYS = 28
# A rule's page previews what it would have raised over this many nights.
PREVIEW_DAYS = 90
# The stories behind a finding kept with it (newest first).
STORIES_KEPT = 20

TAG = "tag"
PHRASE = "phrase"
# A theme learned from the organisation's stories (feedback/topics.py), by its name.
TOPIC = "topic"
# Which of several themes of one run of stories names it (`distinct_by_stories`).
KIND_ORDER = {TAG: 0, TOPIC: 1, PHRASE: 2}


@dataclass(frozen=True)
class Theme:
    kind: str  # TAG, TOPIC or PHRASE
    text: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.text}"

    @property
    def label(self) -> str:
        return theme_label(self.kind, self.text)


# A service id, or None for the organisation as a whole.
Unit = int | None


@dataclass(frozen=True)
class Breach:
    unit: Unit
    theme: Theme
    night: int  # the day number the window ends on (exclusive)
    observed: int
    expected: float
    limit: int
    p_value: float
    # Other themes that broke their limit with the very same stories (distinct_by_stories).
    also: tuple[Theme, ...] = ()


def poisson_upper_tail(observed: int, expected: float) -> float:
    """P(X >= observed) for X ~ Poisson(expected)."""
    if observed <= 0:
        return 1.0
    if expected <= 0:
        return 0.0
    if observed <= expected:
        # Not a rise at all; the exact value is never needed to decide.
        lower = sum(
            math.exp(k * math.log(expected) - expected - math.lgamma(k + 1))
            for k in range(observed)
        )
        return max(0.0, 1.0 - lower)
    # Above the mean the terms only shrink: add them from `observed` up until they vanish.
    total, k = 0.0, observed
    term = math.exp(k * math.log(expected) - expected - math.lgamma(k + 1))
    while term > total * 1e-12 and k < observed + 10_000:
        total += term
        k += 1
        term *= expected / k
    return min(1.0, total)


def expected_in_window(baseline: int) -> float:
    return (baseline + PRIOR) * WINDOW_DAYS / BASELINE_DAYS


def alpha_for(expected: float) -> float:
    return next(alpha for floor, alpha in ALPHA_BY_EXPECTED if expected >= floor)


def limit_for(expected: float) -> int:
    """The smallest number of stories in the window that breaks the limit."""
    count = max(MIN_STORIES, math.ceil(MIN_RATIO * expected))
    alpha = alpha_for(expected)
    while poisson_upper_tail(count, expected) >= alpha:
        count += 1
    return count


def test(observed: int, baseline: int) -> tuple[bool, float, float]:
    """Whether `observed` stories in the window break the limit set by `baseline` stories
    in the baseline; with the expected number and the tail probability."""
    expected = expected_in_window(baseline)
    if observed < MIN_STORIES or observed < MIN_RATIO * expected:
        return False, expected, 1.0
    p_value = poisson_upper_tail(observed, expected)
    return p_value < alpha_for(expected), expected, p_value


def nights(
    series: Mapping[tuple[Unit, Theme], Sequence[int]],
    first_night: int,
    last_night: int,
    *,
    parents: Mapping[int, int | None],
    quiet_before: Mapping[tuple[Unit, str], int] | None = None,
) -> list[Breach]:
    """Every breach from `first_night` to `last_night` (day numbers, both included), as a
    nightly run would have reported them, oldest first.

    `series` holds, for each (unit, theme), the sorted day numbers of its stories (one entry
    per story). A night's window is the WINDOW_DAYS days before it; its baseline the
    BASELINE_DAYS before those. `parents` maps each service id to its parent's (None at the
    top): a breach at a unit hides its ancestors' breaches of the same theme that night.
    `quiet_before` gives, per (unit, theme key), the last night it was reported before
    `first_night`."""
    reported: dict[tuple[Unit, str], int] = dict(quiet_before or {})
    found: dict[int, list[Breach]] = defaultdict(list)
    for (unit, theme), days in series.items():
        if len(days) < MIN_STORIES:
            continue
        # Only nights whose window holds at least MIN_STORIES of these stories can breach:
        # those just after a run of MIN_STORIES stories within the window's length.
        candidates: set[int] = set()
        for index in range(MIN_STORIES - 1, len(days)):
            if days[index] - days[index - MIN_STORIES + 1] < WINDOW_DAYS:
                low = max(first_night, days[index] + 1)
                high = min(last_night, days[index - MIN_STORIES + 1] + WINDOW_DAYS)
                candidates.update(range(low, high + 1))
        for night in sorted(candidates):
            start = night - WINDOW_DAYS
            observed = bisect_left(days, night) - bisect_left(days, start)
            baseline = bisect_left(days, start) - bisect_left(days, start - BASELINE_DAYS)
            breaks, expected, p_value = test(observed, baseline)
            if breaks:
                found[night].append(
                    Breach(unit, theme, night, observed, expected, limit_for(expected), p_value)
                )
    kept: list[Breach] = []
    for night in sorted(found):
        tonight = found[night]
        lowest = _lowest(tonight, parents)
        for breach in sorted(lowest, key=lambda b: (-b.observed / b.expected, b.theme.key)):
            last = reported.get((breach.unit, breach.theme.key))
            if last is not None and night - last < QUIET_DAYS:
                continue
            reported[breach.unit, breach.theme.key] = night
            kept.append(breach)
    return kept


def _lowest(breaches: list[Breach], parents: Mapping[int, int | None]) -> list[Breach]:
    """The breaches of one night without those whose theme also breaks at a unit below."""
    covered: set[tuple[Unit, str]] = set()
    for breach in breaches:
        unit = breach.unit
        while unit is not None:
            unit = parents.get(unit)
            covered.add((unit, breach.theme.key))
    return [b for b in breaches if (b.unit, b.theme.key) not in covered]


# --- from the organisation's stories ---------------------------------------------------------


def day_number(day: date) -> int:
    return day.toordinal()


def uk_day(moment: datetime) -> date:
    return moment.astimezone(UK).date()


@dataclass(frozen=True)
class History:
    """The organisation's stories, as `nights` reads them, with each story id by (unit,
    theme) and day, so a finding can name the stories behind it."""

    series: dict[tuple[Unit, Theme], list[int]]
    stories: dict[tuple[Unit, Theme], list[tuple[int, int]]]  # (day, story id), by day
    parents: dict[int, int | None]


def history(first_day: date, end_day: date) -> History:
    """Every published story from `first_day` up to (not including) `end_day`, by unit and
    theme. Read as plain rows (a story's services and tags from their link tables, in two
    more queries), not as model objects: nine months of a large trust's stories are tens of
    thousands."""
    services = dict(Service.objects.values_list("pk", "parent_id"))
    start = datetime.combine(first_day, time.min, tzinfo=UK)
    end = datetime.combine(end_day, time.min, tzinfo=UK)
    window = {"story__published_at__gte": start, "story__published_at__lt": end}
    services_of: dict[int, list[int]] = defaultdict(list)
    for story_id, service_id in Story.services.through.objects.filter(**window).values_list(
        "story_id", "service_id"
    ):
        services_of[story_id].append(service_id)
    themes: dict[tuple[str, str], Theme] = {}  # one object per theme: quick dictionary keys

    def theme(kind: str, text: str) -> Theme:
        found = themes.get((kind, text))
        if found is None:
            found = themes[kind, text] = Theme(kind, text)
        return found

    tags_of: dict[int, list[Theme]] = defaultdict(list)
    for story_id, name in Story.tags.through.objects.filter(**window).values_list(
        "story_id", "tag__name"
    ):
        tags_of[story_id].append(theme(TAG, name.lower()))
    for story_id, name, terms in StoryTopic.objects.filter(**window).values_list(
        "story_id", "topic__name", "topic__terms"
    ):
        tags_of[story_id].append(theme(TOPIC, topic_label(name, terms)))
    rows = (
        Story.objects.filter(published_at__gte=start, published_at__lt=end)
        .order_by("published_at", "pk")
        .values_list("pk", "title", "body", "published_at")
    )
    stories: dict[tuple[Unit, Theme], list[tuple[int, int]]] = defaultdict(list)
    for pk, title, body, published_at in rows.iterator(chunk_size=2000):
        day = day_number(uk_day(published_at))
        units_of: set[Unit] = {None}
        for service_id in services_of.get(pk, ()):
            unit: int | None = service_id
            while unit is not None and unit not in units_of:
                units_of.add(unit)
                unit = services.get(unit)
        told = set(tags_of.get(pk, ()))
        told.update(theme(PHRASE, phrase) for phrase in phrases_of(f"{title}\n{body}"))
        for unit in units_of:
            for each in told:
                stories[unit, each].append((day, pk))
    series = {key: [day for day, _ in entries] for key, entries in stories.items()}
    return History(series=series, stories=dict(stories), parents=services)


def stories_behind(found: History, breach: Breach) -> list[int]:
    """The ids of the stories in a breach's window, newest first."""
    start = breach.night - WINDOW_DAYS
    entries = found.stories.get((breach.unit, breach.theme), [])
    return [pk for day, pk in reversed(entries) if start <= day < breach.night][:STORIES_KEPT]


def breaches_between(
    first_night: date,
    last_night: date,
    *,
    quiet_before: Mapping[tuple[Unit, str], int] | None = None,
) -> tuple[History, list[Breach]]:
    """What nightly runs from `first_night` to `last_night` would have reported, given what
    was reported before (`nights`' `quiet_before`)."""
    first_day = first_night - timedelta(days=WINDOW_DAYS + BASELINE_DAYS)
    found = history(first_day, last_night)
    breaches = nights(
        found.series,
        day_number(first_night),
        day_number(last_night),
        parents=found.parents,
        quiet_before=quiet_before,
    )
    return found, distinct_by_stories(found, breaches)


def distinct_by_stories(found: History, breaches: list[Breach]) -> list[Breach]:
    """One breach for each run of stories at a unit on a night: a run of stories about call
    bells breaks "call bell", "pressed the call" and perhaps a tag all at once. A breach whose
    stories are all among those of one already kept is named in that one's `also` (and kept
    quiet with it) rather than reported apart. Kept first: tags, then learned themes, then
    phrases with the fewest
    stop words inside ("call bell" before "bell and nobody"), then the longest."""
    kept: list[tuple[Breach, frozenset[int]]] = []
    preferred = sorted(
        breaches,
        key=lambda b: (
            b.night,
            KIND_ORDER.get(b.theme.kind, len(KIND_ORDER)),
            sum(word in STOP_WORDS for word in b.theme.text.split()),
            -len(b.theme.text.split()),
            b.theme.text,
        ),
    )
    for breach in preferred:
        behind = frozenset(stories_behind(found, breach))
        for index, (first, first_behind) in enumerate(kept):
            if (first.night, first.unit) == (breach.night, breach.unit) and behind <= first_behind:
                kept[index] = (replace(first, also=(*first.also, breach.theme)), first_behind)
                break
        else:
            kept.append((breach, behind))
    return sorted((breach for breach, _ in kept), key=lambda b: b.night)


# --- recording what was found, and telling the rules' recipients ----------------------------


def find_emerging_themes(night: date | None = None) -> list[EmergingTheme]:
    """The themes that broke their limit in the WINDOW_DAYS before `night` (by default
    today in the UK), recorded once each and alerted to the rules that asked for emerging
    themes at their services. Safe to run twice: a night's findings are recorded once
    (the table's key) and each alert once (the delivery key). Returns the night's findings."""
    night = night or uk_day(timezone.now())
    quiet: dict[tuple[Unit, str], int] = {}
    for row in EmergingTheme.objects.filter(
        found_on__gt=night - timedelta(days=QUIET_DAYS), found_on__lt=night
    ).order_by("found_on"):
        for key in (f"{row.theme_kind}:{row.theme}", *row.also_themes):
            quiet[row.service_id, key] = day_number(row.found_on)
    found, breaches = breaches_between(night, night, quiet_before=quiet)
    with transaction.atomic():
        for breach in breaches:
            EmergingTheme.objects.get_or_create(
                service_id=breach.unit,
                theme_kind=breach.theme.kind,
                theme=breach.theme.text[:200],
                found_on=night,
                defaults={
                    "window_start": night - timedelta(days=WINDOW_DAYS),
                    "observed": breach.observed,
                    "expected": breach.expected,
                    "limit": breach.limit,
                    "p_value": breach.p_value,
                    "story_ids": stories_behind(found, breach),
                    "also_themes": [theme.key for theme in breach.also],
                },
            )
        findings = list(EmergingTheme.objects.filter(found_on=night).select_related("service"))
        keys = _record_alerts(findings)
    send_pending(keys)
    return findings


def rule_units(rule: AlertRule) -> set[Unit] | None:
    """The units an emerging-theme rule hears about: its services and everything within
    them; None (every unit, the whole organisation included) when it names no service."""
    chosen = list(rule.services.all())
    if not chosen:
        return None
    units: set[Unit] = set()
    for service in chosen:
        units.update(service.subtree_ids())
    return units


def _record_alerts(findings: list[EmergingTheme]) -> list[str]:
    if not findings or not alerts_enabled():
        return []
    keys: list[str] = []
    rules = AlertRule.objects.filter(is_active=True, emerging_themes=True, scope=Scope.OWN)
    for rule in rules.prefetch_related("services", "recipients"):
        units = rule_units(rule)
        for finding in findings:
            if units is not None and finding.service_id not in units:
                continue
            stories = _stories_of(finding)
            about = [finding.service_id] if finding.service_id else None
            for recipient in recipients(rule, about):
                key = delivery_key(DeliveryKind.EMERGING, rule, f"theme-{finding.pk}", recipient)
                keys.append(key)
                if exists(key):
                    continue
                record(
                    kind=DeliveryKind.EMERGING,
                    key=key,
                    recipient=recipient,
                    rule=rule,
                    stories_count=finding.observed,
                    reason=(
                        f"Emerging theme {finding.theme_label} at {_place(finding)} "
                        f"for “{rule.name}”"
                    ),
                    message=emails.emerging_theme(
                        finding, _place(finding), stories, rule, recipient, BASELINE_DAYS // 7
                    ),
                )
    return keys


def _place(finding: EmergingTheme) -> str:
    return finding.service.name if finding.service else "all services"


def _stories_of(finding: EmergingTheme) -> list[Story]:
    found = {s.pk: s for s in Story.objects.filter(pk__in=finding.story_ids)}
    return [found[pk] for pk in finding.story_ids if pk in found]


@dataclass(frozen=True)
class PreviewedTheme:
    found_on: date
    unit: Unit
    place: str
    theme: str
    observed: int
    expected: float
    story_ids: tuple[int, ...]
    stories: tuple[Story, ...] = ()


# The replay behind every rule's preview is worked out once a day per organisation, by a
# worker (it reads nine months of stories: about a minute at 200,000 stories), and kept for
# the rule pages. The tenant cache key function puts the schema in the key.
PREVIEW_SECONDS = 2 * 24 * 60 * 60
PREVIEW_LOCK_SECONDS = 10 * 60


def _preview_key(today: date) -> str:
    return f"alerts:emerging-preview:{today.isoformat()}"


def work_out_preview(today: date | None = None) -> list[PreviewedTheme]:
    """What nightly runs over the last PREVIEW_DAYS nights would have reported, at every
    unit, newest first: kept in the cache for the rule pages (which filter it by their
    services)."""
    today = today or uk_day(timezone.now())
    found, breaches = breaches_between(today - timedelta(days=PREVIEW_DAYS - 1), today)
    names = dict(Service.objects.values_list("pk", "name"))
    replayed = [
        PreviewedTheme(
            found_on=date.fromordinal(breach.night),
            unit=breach.unit,
            place=names.get(breach.unit, "all services") if breach.unit else "all services",
            theme=breach.theme.label,
            observed=breach.observed,
            expected=breach.expected,
            story_ids=tuple(stories_behind(found, breach)[:5]),
        )
        for breach in reversed(breaches)
    ]
    cache.set(_preview_key(today), replayed, timeout=PREVIEW_SECONDS)
    return replayed


def preview_emerging_themes(rule: AlertRule) -> list[PreviewedTheme] | None:
    """The emerging themes a rule would have been told about over the last PREVIEW_DAYS
    nights, newest first, with up to five stories each; None while a worker is still
    working the replay out (asked for here, once, if nobody has yet today)."""
    today = uk_day(timezone.now())
    replayed = cache.get(_preview_key(today))
    if replayed is None:
        if cache.add(f"{_preview_key(today)}:asked", 1, timeout=PREVIEW_LOCK_SECONDS):
            from alerts.tasks import work_out_emerging_preview

            transaction.on_commit(lambda: work_out_emerging_preview.delay())
        return None
    units = rule_units(rule)
    chosen = [p for p in replayed if units is None or p.unit in units]
    ids = {pk for p in chosen for pk in p.story_ids}
    stories = Story.objects.in_bulk(ids)
    return [
        replace(p, stories=tuple(stories[pk] for pk in p.story_ids if pk in stories))
        for p in chosen
    ]


REVIEW_NOTE_LENGTH = 500


class ReviewError(ValueError):
    """The review cannot be recorded; the message says why, in words for the page."""


@transaction.atomic
def review_emerging_theme(
    finding: EmergingTheme, *, actor: User, note: str, request: HttpRequest | None = None
) -> EmergingTheme:
    """Record that `actor` looked into a finding, with what they found (may be empty), and
    audit it. A later review replaces an earlier one; both are in the audit log."""
    note = note.strip()
    if len(note) > REVIEW_NOTE_LENGTH:
        raise ReviewError(f"Keep the note to {REVIEW_NOTE_LENGTH} characters or fewer.")
    finding.reviewed_at = timezone.now()
    finding.reviewed_by = actor
    finding.review_note = note
    finding.save(update_fields=["reviewed_at", "reviewed_by", "review_note"])
    record_audit(
        "alerts.emerging_theme_reviewed",
        actor=actor,
        target=finding,
        summary=f"Looked into the emerging theme {finding.theme_label} ({finding.found_on})",
        detail={"note": note},
        request=request,
    )
    return finding


@transaction.atomic
def ask_for_emerging_themes(*, actor: User, request: HttpRequest | None = None) -> None:
    """Look for emerging themes now rather than tonight: the run is queued on the alerts
    queue (once this transaction commits) and the asking is audited."""
    from alerts.tasks import find_emerging_themes as task

    record_audit(
        "alerts.emerging_themes_asked",
        actor=actor,
        summary="Asked to look for emerging themes now",
        request=request,
    )
    transaction.on_commit(lambda: task.delay())
