"""The live dashboard of one organisation, at /dashboards/live/ on its workspace domain.

Every few seconds the page asks whether the organisation's data version changed (one cache
read); only when it has, or when a filter changes, do the figure callbacks run, and they
read figures cached per organisation under that version.
"""

from __future__ import annotations

from datetime import timedelta

from dash import Input, Output, State, dash_table, dcc, html, no_update
from dash.exceptions import PreventUpdate
from django.utils import timezone

from alerts.targets import current_targets
from alerts.working_time import SAME_DAY
from dashboards import charts, filters, queries
from dashboards.caching import cached_figure
from dashboards.freshness import data_version
from dashboards.serving import current_viewer, make_app, prime, viewer_or_none
from feedback.choices import Criticality
from feedback.models import Service, Story
from feedback.service_limits import limited_services

MOUNT = "/dashboards/live/"
POLL_MILLISECONDS = 5000

app = make_app(
    "carevoice_live",
    MOUNT,
    page_template="dashboards/dash_page.html",
    page_title="Live dashboard",
)


def _service_options() -> list[dict[str, object]]:
    viewer = viewer_or_none()
    if viewer is None:
        return []
    return filters.service_options(within=limited_services(viewer.user))


def layout() -> html.Div:
    today = timezone.localdate()
    return html.Div(
        className="dashboard",
        children=[
            dcc.Location(id="go", refresh=True),
            dcc.Interval(id="tick", interval=POLL_MILLISECONDS),
            dcc.Store(id="version"),
            html.Div(
                className="dash-filters",
                children=[
                    html.Label(["Period", html.Br()], htmlFor="period", id="period-label"),
                    dcc.DatePickerRange(
                        id="period",
                        start_date=today - timedelta(days=filters.DEFAULT_DAYS - 1),
                        end_date=today,
                        max_date_allowed=today,
                        display_format="D MMM YYYY",
                        first_day_of_week=1,
                    ),
                    html.Label("Service", htmlFor="service", id="service-label"),
                    dcc.Dropdown(
                        id="service",
                        options=_service_options(),
                        placeholder="All services",
                        clearable=True,
                    ),
                    html.Label("Criticality", htmlFor="criticality", id="criticality-label"),
                    dcc.Dropdown(
                        id="criticality",
                        options=[{"label": c.label, "value": c.value} for c in Criticality],
                        multi=True,
                        placeholder="Every criticality",
                    ),
                ],
            ),
            html.Div(id="kpis", className="kpis", **{"aria-live": "polite"}),
            html.Div(
                className="dash-grid",
                children=[
                    dcc.Graph(id="over-time", config={"displaylogo": False}),
                    dcc.Graph(id="response-times", config={"displaylogo": False}),
                ],
            ),
            html.H2("Services"),
            html.P("Select a service's name to open its stories in the inbox.", className="hint"),
            dash_table.DataTable(
                id="services",
                columns=[
                    {"name": "Service", "id": "service", "presentation": "markdown"},
                    {"name": "Stories", "id": "stories", "type": "numeric"},
                    {"name": "Responded %", "id": "responded", "type": "numeric"},
                    {"name": "Median days to respond", "id": "median_days", "type": "numeric"},
                    {"name": "Critical %", "id": "critical", "type": "numeric"},
                    {"name": "Open breaches", "id": "open_breaches", "type": "numeric"},
                    {"name": "Changes made", "id": "changes_made", "type": "numeric"},
                ],
                sort_action="native",
                page_size=25,
                markdown_options={"html": False, "link_target": "_self"},
                style_cell={"fontFamily": "inherit", "padding": "6px", "textAlign": "left"},
                style_header={"fontWeight": "600"},
            ),
            html.Div(
                className="dash-grid",
                children=[
                    dcc.Graph(id="tags", config={"displaylogo": False}),
                    html.Div(
                        [
                            # Names the radios below (dashboards/static/dashboards/dash-aria.js).
                            html.Span(
                                "Colour the stories in the chart",
                                id="swarm-colour-label",
                                className="visually-hidden",
                            ),
                            dcc.RadioItems(
                                id="swarm-colour",
                                options=[
                                    {"label": " Colour by criticality", "value": "criticality"},
                                    {"label": " Colour by progress", "value": "progress"},
                                ],
                                value="criticality",
                                inline=True,
                            ),
                            dcc.Graph(id="swarm", config={"displaylogo": False}),
                        ]
                    ),
                ],
            ),
            html.H2("Learned themes"),
            html.P(
                "Themes learned each night from the organisation's own stories: names and "
                "examples on the Themes page.",
                className="hint",
            ),
            dcc.Graph(id="learned-topics", config={"displaylogo": False}),
        ],
    )


app.layout = layout

FILTERS = [
    Input("version", "data"),
    Input("period", "start_date"),
    Input("period", "end_date"),
    Input("service", "value"),
    Input("criticality", "value"),
]


def _scope(start: object, end: object, service: object, criticality: object) -> queries.Scope:
    viewer = current_viewer()
    return filters.tenant_scope(
        viewer.organisation.pk,
        start=start,
        end=end,
        service=service,
        criticality=criticality,
        today=timezone.localdate(),
        within=limited_services(viewer.user),
    )


def _cached(name: str, scope: queries.Scope, compute):  # noqa: ANN001, ANN202
    """Figures for `scope` under the organisation's current data version. TRICKY: the
    version the page posts only triggers the callbacks; it is never part of the key, or
    any caller could make cache entries without end (and read figures cached under an old
    version as if they were current)."""
    return cached_figure(name, data_version(), (scope,), compute)


@app.callback(Output("version", "data"), Input("tick", "n_intervals"), State("version", "data"))
def watch(_tick: object, known: object) -> object:
    """The cheap change check: one cache read, and nothing else runs unless it changed."""
    current_viewer()
    version = data_version()
    return no_update if version == known else version


def target_hours(scope: queries.Scope) -> tuple[float, str]:
    """The allowance most of the stories in scope have: the longest among their
    criticalities ('same day' counts as a day)."""
    allowances = current_targets().allowances
    chosen = scope.criticalities or tuple(Criticality.values)
    hours = []
    for criticality in chosen:
        allowance = allowances[criticality]
        if allowance == SAME_DAY:
            hours.append((24.0, "same day"))
        elif isinstance(allowance, str):
            days = int(allowance.split()[0])
            hours.append((days * 24.0, f"{days} days"))
        else:
            hours.append((float(allowance), f"{allowance:g} working hours"))
    return max(hours) if hours else (168.0, "7 days")


def _change(now: int, before: int) -> str:
    if before == 0:
        return "none in the period before" if now else "none before either"
    delta = (now - before) / before
    return f"{delta:+.0%} on the period before ({before:,})"


def _card(label: str, value: str, note: str, ident: str) -> html.Div:
    return html.Div(
        className="kpi",
        children=[
            html.Span(label, className="kpi-label"),
            html.Strong(value, id=ident, className="kpi-value"),
            html.Span(note, className="kpi-note"),
        ],
    )


@app.callback(Output("kpis", "children"), *FILTERS)
def kpi_cards(version, start, end, service, criticality):  # noqa: ANN001, ANN201
    scope = _scope(start, end, service, criticality)
    k = _cached("kpis", scope, lambda: queries.kpis(scope))
    target, target_label = target_hours(scope)
    responded = k.share_responded
    within = k.share_within_target
    median = k.median_response_hours
    return [
        _card(
            "Stories in the last 7 days",
            f"{k.stories_week:,}",
            _change(k.stories_week, k.stories_previous_week),
            "kpi-week",
        ),
        _card(
            "Stories in the last 30 days",
            f"{k.stories_month:,}",
            _change(k.stories_month, k.stories_previous_month),
            "kpi-month",
        ),
        _card(
            "Responded to",
            "–" if responded is None else f"{responded:.0%}",
            f"{k.responded:,} of {k.stories:,} stories in the period",
            "kpi-responded",
        ),
        _card(
            "Median time to first response",
            charts.describe_hours(median) if median is not None else "–",
            f"target {target_label}"
            + ("" if within is None else f"; {within:.0%} answered within target")
            + ("" if median is None else (" · met" if median <= target else " · missed")),
            "kpi-median",
        ),
        _card(
            "Open breaches",
            f"{k.open_breaches:,}",
            "stories past their target with no response, published at any time",
            "kpi-breaches",
        ),
        _card(
            "Changes made",
            f"{k.changes_made:,}",
            f"and {k.changes_planned:,} planned, from stories in the period",
            "kpi-changes",
        ),
        *_author_mark_cards(_cached("author-marks", scope, lambda: queries.author_marks(scope))),
    ]


def _author_mark_cards(marks: queries.AuthorMarks) -> list[html.Div]:
    """What authors said, through their link, of the responses published in the period."""
    helpful, confirmed = marks.share_helpful, marks.share_confirmed
    return [
        _card(
            "Responses marked helpful",
            "–" if helpful is None else f"{helpful:.0%}",
            f"{marks.helpful:,} of {marks.responses:,} responses published in the period, "
            "marked helpful by their authors",
            "kpi-helpful",
        ),
        _card(
            "Changes confirmed by authors",
            "–" if confirmed is None else f"{confirmed:.0%}",
            f"{marks.changes_confirmed:,} of {marks.changes_claimed:,} changes claimed in "
            "those responses",
            "kpi-confirmed",
        ),
    ]


@app.callback(Output("over-time", "figure"), *FILTERS)
def over_time(version, start, end, service, criticality):  # noqa: ANN001, ANN201
    scope = _scope(start, end, service, criticality)
    rows = _cached("over-time", scope, lambda: queries.stories_over_time(scope))
    return charts.stories_over_time(rows, queries.granularity(scope))


@app.callback(Output("response-times", "figure"), *FILTERS)
def response_times(version, start, end, service, criticality):  # noqa: ANN001, ANN201
    scope = _scope(start, end, service, criticality)
    buckets = _cached("response-times", scope, lambda: queries.response_times(scope))
    return charts.response_times(buckets, target_hours(scope)[0])


def _markdown_text(text: str) -> str:
    """Text shown literally in a markdown cell: every punctuation mark escaped."""
    return "".join(f"\\{ch}" if not ch.isalnum() and not ch.isspace() else ch for ch in text)


@app.callback(Output("services", "data"), *FILTERS)
def service_table(version, start, end, service, criticality):  # noqa: ANN001, ANN201
    scope = _scope(start, end, service, criticality)
    rows = _cached("services", scope, lambda: queries.by_service(scope))
    names = dict(
        Service.objects.filter(pk__in=[r.service_id for r in rows]).values_list("pk", "name")
    )
    table = []
    for row in rows:
        name = names.get(row.service_id, "(removed service)")
        median = median_hours_to_days(row.median_response_hours)
        table.append(
            {
                "id": row.service_id,
                "service": f"[{_markdown_text(name)}](/stories/?service={row.service_id})",
                "stories": row.stories,
                "responded": round(100 * row.responded / row.stories) if row.stories else None,
                "median_days": median,
                "critical": round(100 * row.critical / row.stories) if row.stories else None,
                "open_breaches": row.open_breaches,
                "changes_made": row.changes_made,
            }
        )
    return table


def median_hours_to_days(hours: float | None) -> float | None:
    return None if hours is None else round(hours / 24, 1)


@app.callback(Output("tags", "figure"), *FILTERS)
def tags(version, start, end, service, criticality):  # noqa: ANN001, ANN201
    scope = _scope(start, end, service, criticality)
    return charts.top_tags(_cached("tags", scope, lambda: queries.top_tags(scope)))


@app.callback(Output("learned-topics", "figure"), *FILTERS)
def learned_topics(version, start, end, service, criticality):  # noqa: ANN001, ANN201
    scope = _scope(start, end, service, criticality)
    found = _cached("learned-topics", scope, lambda: queries.learned_topics(scope))
    return charts.learned_topics(found)


@app.callback(Output("swarm", "figure"), *FILTERS, Input("swarm-colour", "value"))
def swarm(version, start, end, service, criticality, colour_by):  # noqa: ANN001, ANN201
    scope = _scope(start, end, service, criticality)
    stories = _cached("swarm", scope, lambda: queries.recent_stories(scope))
    return charts.story_swarm(stories, "progress" if colour_by == "progress" else "criticality")


@app.callback(Output("go", "href"), Input("swarm", "clickData"), prevent_initial_call=True)
def open_story(click: object) -> str:
    """A dot in the swarm opens its story, if it is one of this organisation's."""
    current_viewer()
    try:
        pk = int(click["points"][0]["customdata"])  # type: ignore[index]
    except (KeyError, IndexError, TypeError, ValueError):
        raise PreventUpdate from None
    if not Story.objects.filter(pk=pk).exists():
        raise PreventUpdate
    return f"/stories/{pk}/"


prime(app)
