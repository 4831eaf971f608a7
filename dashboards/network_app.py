"""Network comparison, at /dashboards/network/ on the workspace of a network's lead or of a
member that agreed to be compared: a league table, a funnel plot with control limits and
trends per provider. Built from the public rollups alone; no member's schema is opened, and
providers that have not consented, or have left, are absent.
"""

from __future__ import annotations

from datetime import timedelta

from dash import Input, Output, dash_table, dcc, html
from dash.exceptions import PreventUpdate
from django.conf import settings
from django.utils import timezone

from dashboards import charts, compliance, filters, queries
from dashboards.caching import cached_figure
from dashboards.freshness import combined_version
from dashboards.network_standards import StandardsClock, standards_of, standards_text
from dashboards.serving import current_viewer, make_app, prime, viewer_or_none
from dashboards.statistics import SUPPRESS_BELOW, funnel_position, share, suppressed
from dashboards.suppression import Suppression, suppress_counts, suppressed_part
from tenants.models import Network, Organisation, public_url
from tenants.networks import comparable_members, comparison_networks

MOUNT = "/dashboards/network/"
DEFAULT_DAYS = 365
# A provider with fewer than 8 stories: every figure is "fewer than 8".
EVERYTHING: Suppression[str] = suppress_counts(
    {"stories": 0, "responded": 0, "critical": 0, "changes": 0}
)

app = make_app(
    "carevoice_network",
    MOUNT,
    page_template="dashboards/dash_page.html",
    page_title="Network comparison",
)


def layout() -> html.Div:
    viewer = viewer_or_none()
    networks = comparison_networks(viewer.organisation) if viewer else []
    today = timezone.localdate()
    return html.Div(
        className="dashboard",
        children=[
            html.Div(
                className="dash-filters",
                children=[
                    html.Label("Network", htmlFor="network"),
                    dcc.Dropdown(
                        id="network",
                        options=[{"label": n.name, "value": n.pk} for n in networks],
                        value=networks[0].pk if networks else None,
                        clearable=False,
                    ),
                    html.Label(["Period", html.Br()], htmlFor="period"),
                    dcc.DatePickerRange(
                        id="period",
                        start_date=today - timedelta(days=DEFAULT_DAYS - 1),
                        end_date=today,
                        max_date_allowed=today,
                        display_format="D MMM YYYY",
                        first_day_of_week=1,
                    ),
                ],
            ),
            html.P(
                f"Only members that agreed to be compared appear. Counts under "
                f"{SUPPRESS_BELOW}, and figures that would let one be worked out, are "
                "suppressed.",
                className="hint",
            ),
            html.H2("League table"),
            dash_table.DataTable(
                id="league",
                columns=[
                    {"name": "Provider", "id": "provider", "presentation": "markdown"},
                    {"name": "Stories", "id": "stories"},
                    {"name": "Responded %", "id": "responded"},
                    {"name": "Median days to respond", "id": "median_days"},
                    {"name": "Critical %", "id": "critical"},
                    {"name": "Changes per 100 stories", "id": "changes"},
                    {"name": "Funnel position", "id": "position"},
                    {"name": "Committee pack", "id": "pack", "presentation": "markdown"},
                ],
                sort_action="native",
                markdown_options={"html": False, "link_target": "_blank"},
                style_cell={"fontFamily": "inherit", "padding": "6px", "textAlign": "left"},
                style_header={"fontWeight": "600"},
            ),
            html.H2("Network response standards"),
            html.P(id="standards", className="hint"),
            dash_table.DataTable(
                id="compliance",
                columns=[
                    {"name": "Provider", "id": "provider"},
                    {"name": "Stories measured", "id": "measured"},
                    {"name": "Answered within standard %", "id": "share"},
                    {"name": "Median hours to first response", "id": "median"},
                    {"name": "Open breaches", "id": "breaches"},
                    {"name": "Standards", "id": "met"},
                ],
                sort_action="native",
                style_cell={"fontFamily": "inherit", "padding": "6px", "textAlign": "left"},
                style_header={"fontWeight": "600"},
            ),
            html.Div(
                className="dash-grid",
                children=[
                    dcc.Graph(id="funnel", config={"displaylogo": False}),
                    dcc.Graph(id="trends", config={"displaylogo": False}),
                ],
            ),
        ],
    )


app.layout = layout


def chosen_network(network_id: object) -> Network:
    """The network asked for, if the viewer's organisation may see its comparison."""
    viewer = current_viewer()
    try:
        pk = int(network_id)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise PreventUpdate from None
    for network in comparison_networks(viewer.organisation):
        if network.pk == pk:
            return network
    raise PreventUpdate


def _comparison(network: Network, start: object, end: object):  # noqa: ANN202
    """The providers compared, the period, and one version for all their data."""
    first, last = filters.period(start, end, today=timezone.localdate(), default_days=365)
    providers = comparable_members(network)
    version = combined_version(o.schema_name for o in providers)
    return providers, first, last, version


def _markdown_text(text: str) -> str:
    return "".join(f"\\{ch}" if not ch.isalnum() and not ch.isspace() else ch for ch in text)


def _public_page(organisation: Organisation) -> str:
    return public_url(settings.BASE_DOMAIN, f"/organisations/{organisation.slug}/")


def _cell(value: float | None, table: Suppression[str], *keys: str) -> str:
    """A figure made from `keys`' counts, shown only when they all may be (a share of a
    suppressed count would give it back)."""
    if not table.shows(*keys):
        return table.label(*keys)
    return "–" if value is None else value


def _tables(f: queries.ProviderFigures) -> dict[str, Suppression[str]]:
    """Each league column's counts as parts of the provider's stories."""
    if suppressed(f.stories):
        return dict.fromkeys(("stories", "responded", "critical", "changes", "median"), EVERYTHING)

    def part(name: str, count: int) -> Suppression[str]:
        return suppressed_part(name, count, f.stories)

    return {
        "stories": suppress_counts({"stories": f.stories}),
        "responded": part("responded", f.responded),
        "critical": part("critical", f.critical),
        # Changes are not a part of the stories (a story can have several); small is enough.
        "changes": suppress_counts({"changes": f.changes}),
        # A median from fewer than 8 responses describes too few people.
        "median": suppress_counts({"responded": f.responded}),
    }


@app.callback(
    Output("league", "data"),
    Output("funnel", "figure"),
    Input("network", "value"),
    Input("period", "start_date"),
    Input("period", "end_date"),
)
def league(network_id, start, end):  # noqa: ANN001, ANN201
    network = chosen_network(network_id)
    providers, first, last, version = _comparison(network, start, end)
    ids = [o.pk for o in providers]
    figures = cached_figure(
        "network-league",
        version,
        (network.pk, tuple(ids), first, last),
        lambda: queries.provider_figures(ids, first, last),
    )
    tables = {o.pk: _tables(figures[o.pk]) for o in providers}
    # Only providers whose share responded is shown are plotted or make the network
    # average; the average of the others would give a hidden count back by subtraction.
    shown = [(o, figures[o.pk]) for o in providers if tables[o.pk]["responded"].shows("responded")]
    average = share(sum(f.responded for _, f in shown), sum(f.stories for _, f in shown))
    rows = []
    for organisation in providers:
        f, table = figures[organisation.pk], tables[organisation.pk]
        median = None if f.median_response_hours is None else f.median_response_hours / 24
        percent = lambda v: None if v is None else format(100 * v, ".0f")  # noqa: E731
        rows.append(
            {
                "provider": f"[{_markdown_text(organisation.name)}]({_public_page(organisation)})",
                "stories": _cell(f.stories, table["stories"], "stories"),
                "responded": _cell(percent(f.share_responded), table["responded"], "responded"),
                "median_days": _cell(
                    None if median is None else format(median, ".1f"),
                    table["median"],
                    "responded",
                ),
                "critical": _cell(percent(f.share_critical), table["critical"], "critical"),
                "changes": _cell(
                    None if f.changes_per_100 is None else format(f.changes_per_100, ".1f"),
                    table["changes"],
                    "changes",
                ),
                "position": table["responded"].label("responded")
                if average is None or not table["responded"].shows("responded")
                else funnel_position(f.share_responded, average, f.stories),
                "pack": f"[Pack](/reports/committee/?network={network.pk}"
                f"&provider={organisation.pk}&start={first}&end={last})",
            }
        )
    return rows, charts.funnel([(o.name, f) for o, f in shown], average)


def describe_standards(network: Network, clock: StandardsClock | None) -> str:
    if clock is None:
        return f"{network.lead.name} has set no response standards for {network.name} yet."
    allowances = "; ".join(f"{c}: {a}" for c, a in standards_text(clock).items())
    return (
        f"Set by {network.lead.name}: {allowances}. A provider meets them when at least "
        f"{clock.met_percent}% of its stories are answered in time. Working hours are Monday "
        "to Friday, 09:00 to 17:00 UK time; stories not yet due and unanswered are not counted."
    )


@app.callback(
    Output("compliance", "data"),
    Output("standards", "children"),
    Input("network", "value"),
    Input("period", "start_date"),
    Input("period", "end_date"),
)
def compliance_table(network_id, start, end):  # noqa: ANN001, ANN201
    network = chosen_network(network_id)
    providers, first, last, version = _comparison(network, start, end)
    standards = standards_of(network)
    clock = StandardsClock.of(standards)
    if clock is None:
        return [], describe_standards(network, None)
    ids = [o.pk for o in providers]
    # Open breaches change with the clock as well as the data: a key per minute.
    now = timezone.now().replace(second=0, microsecond=0)
    figures = cached_figure(
        "network-compliance",
        version,
        (network.pk, tuple(ids), first, last, standards.changed_at, now),
        lambda: compliance.member_compliance(ids, first, last, clock, now),
    )
    rows = [{"provider": o.name, **figures[o.pk].shown()} for o in providers]
    return rows, describe_standards(network, clock)


@app.callback(
    Output("trends", "figure"),
    Input("network", "value"),
    Input("period", "start_date"),
    Input("period", "end_date"),
)
def trends(network_id, start, end):  # noqa: ANN001, ANN201
    network = chosen_network(network_id)
    providers, first, last, version = _comparison(network, start, end)
    ids = [o.pk for o in providers]
    points = cached_figure(
        "network-trends",
        version,
        (network.pk, tuple(ids), first, last),
        lambda: queries.provider_trends(ids, first, last),
    )
    return charts.trends(points, {o.pk: o.name for o in providers})


prime(app)
