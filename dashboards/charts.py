"""Plotly figures from figures already computed. Every piece of text that came from people
(titles, names) is escaped: Plotly renders a subset of HTML in labels and hover text."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from html import escape

import plotly.graph_objects as go

from dashboards import queries
from dashboards.rollups.models import RESPONSE_BUCKET_HOURS
from dashboards.statistics import SUPPRESS_BELOW, funnel_limits
from dashboards.suppression import suppressed_part
from feedback.choices import Criticality, Progress

CRITICALITY_COLOURS = {
    Criticality.NOT_CRITICAL: "#1a7f37",
    Criticality.MINIMALLY_CRITICAL: "#76b041",
    Criticality.MILDLY_CRITICAL: "#d4a72c",
    Criticality.MODERATELY_CRITICAL: "#e36209",
    Criticality.STRONGLY_CRITICAL: "#cf222e",
    Criticality.SEVERELY_CRITICAL: "#82071e",
}
PROGRESS_COLOURS = {
    Progress.UNHEARD: "#cf222e",
    Progress.HEARD: "#e36209",
    Progress.READ: "#d4a72c",
    Progress.RESPONDED: "#0969da",
    Progress.CHANGED: "#1a7f37",
}
BUCKET_LABELS = (
    "< 1 h",
    "1–4 h",
    "4–12 h",
    "12–24 h",
    "1–2 d",
    "2–3 d",
    "3–5 d",
    "5–7 d",
    "7–14 d",
    "14–30 d",
    "> 30 d",
)
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Arial, sans-serif", "size": 13}


def _layout(figure: go.Figure, **kwargs: object) -> go.Figure:
    settings = {
        "margin": {"l": 48, "r": 16, "t": 36, "b": 40},
        "font": FONT,
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "legend": {"orientation": "h", "y": -0.2},
    }
    figure.update_layout(**{**settings, **kwargs})
    return figure


def empty(message: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=escape(message), showarrow=False, font={"size": 15})
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return _layout(figure)


def stories_over_time(rows: Sequence[tuple[date, str, int]], unit: str) -> go.Figure:
    if not rows:
        return empty("No stories in this period")
    figure = go.Figure()
    for criticality in Criticality:
        points = [(day, n) for day, c, n in rows if c == criticality.value]
        if points:
            figure.add_bar(
                name=criticality.label,
                x=[day for day, _ in points],
                y=[n for _, n in points],
                marker_color=CRITICALITY_COLOURS[criticality],
            )
    figure.update_xaxes(
        type="date",
        tickformat="%-d %b %Y" if unit != "month" else "%b %Y",
        # Never finer than the bars: one tick per day at the most.
        tickformatstops=[{"dtickrange": [None, 86_400_000], "value": "%-d %b %Y"}],
        minor={"showgrid": False},
    )
    return _layout(
        figure,
        barmode="stack",
        title={"text": f"Stories by {unit}, stacked by criticality", "font": {"size": 14}},
        yaxis_title="Stories",
    )


def response_times(buckets: Sequence[int], target_hours: float | None) -> go.Figure:
    if not sum(buckets):
        return empty("No responses in this period")
    colours = [
        "#0969da"
        if target_hours is None or (RESPONSE_BUCKET_HOURS + (1e9,))[i] <= target_hours
        else "#8c959f"
        for i in range(len(buckets))
    ]
    figure = go.Figure(go.Bar(x=list(BUCKET_LABELS), y=list(buckets), marker_color=colours))
    if target_hours is not None:
        # Category positions: the line falls after the last bucket inside the target.
        position = sum(1 for h in RESPONSE_BUCKET_HOURS if h <= target_hours) - 0.5
        figure.add_vline(
            x=position,
            line_dash="dash",
            line_color="#cf222e",
            annotation_text=f"Target: {describe_hours(target_hours)}",
            annotation_position="top right",
        )
    return _layout(
        figure,
        title={"text": "Time to first response", "font": {"size": 14}},
        yaxis_title="Stories",
        showlegend=False,
    )


def describe_hours(hours: float | None) -> str:
    if hours is None:
        return "no responses"
    if hours < 24:
        return f"{hours:.1f} hours" if hours >= 1 else f"{round(hours * 60)} minutes"
    days = hours / 24
    return f"{days:.1f} days"


def learned_topics(topics: Sequence[queries.TopicCount]) -> go.Figure:
    """The learned themes (feedback/topics.py) of the stories in the period, critical and
    not."""
    if not topics:
        return empty("No learned themes for these stories yet")
    shown = list(topics)[::-1]
    labels = [escape(t.label) for t in shown]
    figure = go.Figure()
    figure.add_bar(
        name="Critical",
        orientation="h",
        y=labels,
        x=[t.critical for t in shown],
        marker_color="#e36209",
    )
    figure.add_bar(
        name="Not critical",
        orientation="h",
        y=labels,
        x=[t.stories - t.critical for t in shown],
        marker_color="#1a7f37",
    )
    return _layout(
        figure,
        barmode="stack",
        title={"text": "Learned themes", "font": {"size": 14}},
        xaxis_title="Stories",
        height=420,
        margin={"l": 260, "r": 16, "t": 36, "b": 40},
    )


def top_tags(tags: Sequence[queries.TagCount]) -> go.Figure:
    if not tags:
        return empty("No tags in this period")
    figure = go.Figure()
    for group, colour, label in (
        ("what was good", "#1a7f37", "What was good"),
        ("what could be improved", "#e36209", "Could be improved"),
    ):
        mine = [t for t in tags if t.group == group][::-1]
        if mine:
            figure.add_bar(
                name=label,
                orientation="h",
                y=[f"{escape(t.name)} ({label.lower()})" for t in mine],
                x=[t.stories for t in mine],
                marker_color=colour,
            )
    return _layout(
        figure,
        title={"text": "Top tags", "font": {"size": 14}},
        xaxis_title="Stories",
        height=420,
        margin={"l": 260, "r": 16, "t": 36, "b": 40},
    )


def _jitter(pk: int) -> float:
    return int(hashlib.sha1(str(pk).encode()).hexdigest()[:6], 16) / 0xFFFFFF * 0.7 - 0.35


def story_swarm(stories: Sequence[queries.RecentStory], colour_by: str) -> go.Figure:
    if not stories:
        return empty("No stories in this period")
    figure = go.Figure()
    ranks = {c.value: i for i, c in enumerate(Criticality)}
    if colour_by == "progress":
        groups = [(p.value, p.label, colour) for p, colour in PROGRESS_COLOURS.items()]
        key = "progress"
    else:
        groups = [(c.value, c.label, colour) for c, colour in CRITICALITY_COLOURS.items()]
        key = "criticality"
    for value, label, colour in groups:
        mine = [s for s in stories if getattr(s, key) == value]
        if not mine:
            continue
        figure.add_scatter(
            name=label,
            mode="markers",
            x=[s.published_at for s in mine],
            y=[ranks[s.criticality] + _jitter(s.pk) for s in mine],
            customdata=[s.pk for s in mine],
            text=[escape(s.title) for s in mine],
            hovertemplate="%{text}<br>%{x|%d %b %Y %H:%M}<extra>" + escape(label) + "</extra>",
            marker={"color": colour, "size": 9, "line": {"width": 0.5, "color": "white"}},
        )
    figure.update_yaxes(
        tickvals=list(range(len(Criticality))),
        ticktext=[c.label for c in Criticality],
        range=[-0.6, len(Criticality) - 0.4],
    )
    return _layout(
        figure,
        title={"text": "Recent stories: select one to open it", "font": {"size": 14}},
        height=420,
        margin={"l": 150, "r": 16, "t": 36, "b": 40},
    )


# --- network comparison -------------------------------------------------------------------


def funnel(
    providers: Sequence[tuple[str, queries.ProviderFigures]], average: float | None
) -> go.Figure:
    shown = [(name, p) for name, p in providers if p.stories >= SUPPRESS_BELOW]
    if not shown or average is None:
        return empty("Not enough stories to compare")
    most = max(p.stories for _, p in shown)
    volumes = sorted({SUPPRESS_BELOW, *range(SUPPRESS_BELOW, most + 1, max(1, most // 80)), most})
    limits = [funnel_limits(average, n) for n in volumes]
    figure = go.Figure()
    for attribute, label, dash_style in (
        ("upper_998", "99.8% limits", "dot"),
        ("lower_998", None, "dot"),
        ("upper_95", "95% limits", "dash"),
        ("lower_95", None, "dash"),
    ):
        figure.add_scatter(
            x=volumes,
            y=[getattr(limit, attribute) for limit in limits],
            mode="lines",
            line={"color": "#57606a", "dash": dash_style, "width": 1},
            name=label or "",
            showlegend=label is not None,
            hoverinfo="skip",
        )
    figure.add_hline(
        y=average, line_color="#0969da", annotation_text=f"Network average {average:.0%}"
    )
    figure.add_scatter(
        x=[p.stories for _, p in shown],
        y=[p.share_responded for _, p in shown],
        mode="markers",
        name="Providers",
        text=[escape(name) for name, _ in shown],
        hovertemplate="%{text}<br>%{x} stories, %{y:.0%} responded<extra></extra>",
        marker={"size": 11, "color": "#0969da", "line": {"width": 1, "color": "white"}},
    )
    figure.update_yaxes(tickformat=".0%", range=[0, 1.02], title="Share of stories responded to")
    figure.update_xaxes(title="Stories in the period")
    return _layout(figure, title={"text": "Funnel plot: share responded", "font": {"size": 14}})


def _share_shown(point: queries.TrendPoint) -> bool:
    if point.stories < SUPPRESS_BELOW:
        return False
    return suppressed_part("responded", point.responded, point.stories).shows("responded")


def trends(points: Sequence[queries.TrendPoint], names: dict[int, str]) -> go.Figure:
    if not points:
        return empty("No stories in this period")
    figure = go.Figure()
    for organisation_id, name in names.items():
        mine = [p for p in points if p.organisation_id == organisation_id]
        if not mine:
            continue
        figure.add_scatter(
            name=escape(name),
            mode="lines+markers",
            x=[p.month for p in mine],
            # Months from fewer than 8 stories, or with fewer than 8 responded or not, are
            # gaps, never numbers.
            y=[p.responded / p.stories if _share_shown(p) else None for p in mine],
            connectgaps=False,
        )
    figure.update_yaxes(tickformat=".0%", range=[0, 1.02], title="Share responded")
    return _layout(
        figure, title={"text": "Share responded by month, per provider", "font": {"size": 14}}
    )
