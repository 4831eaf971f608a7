"""The live tenant dashboard: a native Dash app behind the workspace's login, reading
figures from the rollups, cached per organisation, never another organisation's."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from dashboards import queries
from dashboards.filters import tenant_scope
from feedback.models import Story
from tests.conftest import Cast, client_for, sign_in, tell_and_publish
from tests.dashboards.dash_client import LIVE, call, csrf_token, live_filters, result

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in_a(cast: Cast):  # noqa: ANN201
    client = client_for(cast.org_a)
    assert sign_in(client, cast.member_a.email).status_code == 302
    return client, csrf_token(client, LIVE)


def kpi_values(children: list) -> dict[str, str]:
    values = {}
    for card in children:
        label, value, _note = card["props"]["children"]
        values[value["props"]["id"]] = value["props"]["children"]
    return values


def test_the_page_needs_sign_in_and_callbacks_refuse_strangers(cast: Cast) -> None:
    client = client_for(cast.org_a)
    page = client.get(LIVE)
    assert page.status_code == 302 and "/accounts/login/" in page["Location"]
    assert client.get(f"{LIVE}_dash-layout").status_code == 403
    refused = call(client, LIVE, ("kpis", "children"), live_filters())
    assert refused.status_code == 403
    assert b"kpi" not in refused.content


def test_a_member_sees_the_page_with_its_csp_hash_and_the_dash_scripts(
    cast: Cast, signed_in_a
) -> None:  # noqa: ANN001
    client, _ = signed_in_a
    page = client.get(LIVE)
    html = page.content.decode()
    assert 'id="_dash-config"' in html and "DashRenderer" in html
    assert cast.org_a.name in html  # the workspace header around it
    policy = page["Content-Security-Policy"]
    assert re.search(r"script-src 'self' 'sha256-[A-Za-z0-9+/=]+'", policy)
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    layout = client.get(f"{LIVE}_dash-layout")
    assert layout.status_code == 200
    text = layout.content.decode()
    assert "Alpha Ward One" in text or cast.ward_a.name in text
    assert cast.ward_b.name not in text  # the service filter lists only A's services


def test_a_callback_without_the_csrf_token_is_refused(cast: Cast, signed_in_a) -> None:  # noqa: ANN001
    client, _ = signed_in_a
    from django.test import Client

    strict = Client(HTTP_HOST=client.defaults["HTTP_HOST"], enforce_csrf_checks=True)
    strict.cookies = client.cookies
    response = call(strict, LIVE, ("kpis", "children"), live_filters())
    assert response.status_code == 403


def test_kpis_count_published_stories_and_a_new_one_changes_the_version(
    cast: Cast, signed_in_a, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    client, token = signed_in_a
    before = kpi_values(
        result(
            call(client, LIVE, ("kpis", "children"), live_filters(), token=token),
            "kpis",
            "children",
        )
    )
    version = result(
        call(
            client,
            LIVE,
            ("version", "data"),
            [("tick", "n_intervals", 1)],
            state=[("version", "data", None)],
            token=token,
        ),
        "version",
        "data",
    )
    with django_capture_on_commit_callbacks(execute=True):
        tell_and_publish(cast, [cast.ward_a], criticality="strongly critical")
    changed = result(
        call(
            client,
            LIVE,
            ("version", "data"),
            [("tick", "n_intervals", 2)],
            state=[("version", "data", version)],
            token=token,
        ),
        "version",
        "data",
    )
    assert changed != version
    # Nothing new: the tick answers "no update" without computing anything.
    unchanged = call(
        client,
        LIVE,
        ("version", "data"),
        [("tick", "n_intervals", 3)],
        state=[("version", "data", changed)],
        token=token,
    )
    assert unchanged.status_code in (200, 204)
    assert "version" not in (json.loads(unchanged.content or b"{}").get("response") or {})
    after = kpi_values(
        result(
            call(
                client,
                LIVE,
                ("kpis", "children"),
                [("version", "data", changed), *live_filters()[1:]],
                token=token,
            ),
            "kpis",
            "children",
        )
    )
    assert int(after["kpi-week"]) == int(before["kpi-week"]) + 1
    assert int(after["kpi-breaches"]) == int(before["kpi-breaches"])


def test_figures_match_the_queries_and_filters_narrow_them(cast: Cast, signed_in_a) -> None:  # noqa: ANN001
    client, token = signed_in_a
    for criticality in ("not critical", "severely critical", "severely critical"):
        tell_and_publish(
            cast,
            [cast.ward_a],
            criticality=criticality,
            tags=["what could be improved:waiting time"],
        )
    tell_and_publish(cast, [cast.clinic_a], criticality="mildly critical")
    rows = result(
        call(client, LIVE, ("services", "data"), live_filters(), token=token), "services", "data"
    )
    by_id = {row["id"]: row for row in rows}
    today = timezone.localdate()
    with tenant_context(cast.org_a):
        scope = tenant_scope(
            cast.org_a.pk, start=None, end=None, service=None, criticality=None, today=today
        )
        expected = {f.service_id: f.stories for f in queries.by_service(scope)}
    assert {pk: row["stories"] for pk, row in by_id.items()} == expected
    assert by_id[cast.ward_a.service_id]["stories"] >= 3
    assert f"/stories/?service={cast.ward_a.service_id}" in by_id[cast.ward_a.service_id]["service"]

    severe = result(
        call(
            client,
            LIVE,
            ("services", "data"),
            live_filters(crit=["severely critical"]),
            token=token,
        ),
        "services",
        "data",
    )
    assert [(r["id"], r["stories"], r["critical"]) for r in severe] == [
        (cast.ward_a.service_id, 2, 100)
    ]
    clinic_only = result(
        call(
            client,
            LIVE,
            ("services", "data"),
            live_filters(service=cast.clinic_a.service_id),
            token=token,
        ),
        "services",
        "data",
    )
    assert [r["id"] for r in clinic_only] == [cast.clinic_a.service_id]
    figure = result(
        call(client, LIVE, ("tags", "figure"), live_filters(), token=token), "tags", "figure"
    )
    assert any("waiting time" in label for trace in figure["data"] for label in trace["y"])


def test_bad_input_is_ignored_not_a_500(cast: Cast, signed_in_a) -> None:  # noqa: ANN001
    client, token = signed_in_a
    response = call(
        client,
        LIVE,
        ("services", "data"),
        live_filters("not-a-date", "2026-99-99", "x", 7),
        token=token,
    )
    assert response.status_code == 200
    garbage = client.post(
        f"{LIVE}_dash-update-component",
        data="{",
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert garbage.status_code == 400
    unknown = call(client, LIVE, ("nothing", "children"), live_filters(), token=token)
    assert unknown.status_code == 400
    assert json.loads(unknown.content) == {"error": "There is no such callback."}


def test_another_organisations_ids_and_domain_give_nothing(cast: Cast, signed_in_a) -> None:  # noqa: ANN001
    client, token = signed_in_a
    tell_and_publish(cast, [cast.ward_b], criticality="severely critical")
    # B's service id, asked for on A's domain: it is not one of A's services, so no rows.
    rows = result(
        call(
            client,
            LIVE,
            ("services", "data"),
            live_filters(service=cast.ward_b.service_id + 10_000),
            token=token,
        ),
        "services",
        "data",
    )
    assert rows == []
    with tenant_context(cast.org_b):
        b_story = Story.objects.latest("pk")
    with tenant_context(cast.org_a):
        a_has_same_pk = Story.objects.filter(pk=b_story.pk).exists()
    opened = call(
        client,
        LIVE,
        ("go", "href"),
        [("swarm", "clickData", {"points": [{"customdata": b_story.pk}]})],
        token=token,
    )
    assert opened.status_code == (200 if a_has_same_pk else 204)
    # A's session cookie on B's domain: not signed in there.
    on_b = client_for(cast.org_b)
    on_b.cookies = client.cookies
    assert on_b.get(LIVE).status_code == 302
    refused = call(on_b, LIVE, ("services", "data"), live_filters(), token=token)
    assert refused.status_code == 403
    assert cast.ward_b.name.encode() not in refused.content


def test_ten_managers_watching_cost_the_queries_of_one(cast: Cast, signed_in_a) -> None:  # noqa: ANN001
    client, token = signed_in_a
    tell_and_publish(cast, [cast.ward_a])
    managers = []
    for _ in range(10):
        manager = client_for(cast.org_a)
        sign_in(manager, cast.member_a.email)
        managers.append((manager, csrf_token(manager, LIVE)))

    def rollup_queries(people) -> int:  # noqa: ANN001
        with CaptureQueriesContext(connection) as queries_run:
            for person, person_token in people:
                for output in (("kpis", "children"), ("services", "data"), ("over-time", "figure")):
                    assert (
                        call(person, LIVE, output, live_filters(), token=person_token).status_code
                        == 200
                    )
        return sum(1 for q in queries_run.captured_queries if "rollups_" in q["sql"])

    one = rollup_queries(managers[:1])
    assert one > 0
    assert rollup_queries(managers) == 0  # all ten served from the first one's figures


def test_a_dot_in_the_swarm_opens_its_story(cast: Cast, signed_in_a) -> None:  # noqa: ANN001
    client, token = signed_in_a
    published = tell_and_publish(cast, [cast.ward_a], title="Swarm probe")
    figure = result(
        call(
            client,
            LIVE,
            ("swarm", "figure"),
            [*live_filters(), ("swarm-colour", "value", "progress")],
            token=token,
        ),
        "swarm",
        "figure",
    )
    with tenant_context(cast.org_a):
        story = Story.objects.get(public_id=published.public_story.pk)
    dots = {pk for trace in figure["data"] for pk in trace.get("customdata", [])}
    assert story.pk in dots
    assert any("Swarm probe" in text for trace in figure["data"] for text in trace.get("text", []))
    opened = call(
        client,
        LIVE,
        ("go", "href"),
        [("swarm", "clickData", {"points": [{"customdata": story.pk}]})],
        token=token,
    )
    assert result(opened, "go", "href") == f"/stories/{story.pk}/"
    junk = call(
        client, LIVE, ("go", "href"), [("swarm", "clickData", {"points": "x"})], token=token
    )
    assert junk.status_code == 204


def test_titles_are_escaped_in_charts(cast: Cast, signed_in_a) -> None:  # noqa: ANN001
    client, token = signed_in_a
    tell_and_publish(cast, [cast.ward_a], title="<b>bold</b> <a href='x'>link</a>")
    figure = result(
        call(
            client,
            LIVE,
            ("swarm", "figure"),
            [*live_filters(), ("swarm-colour", "value", "criticality")],
            token=token,
        ),
        "swarm",
        "figure",
    )
    texts = [t for trace in figure["data"] for t in trace.get("text", [])]
    assert "&lt;b&gt;bold&lt;/b&gt; &lt;a href=&#x27;x&#x27;&gt;link&lt;/a&gt;" in texts
    assert not any("<b>" in t for t in texts)


def test_kpis_show_authors_marks_as_shares_and_a_mark_changes_the_version(
    cast: Cast, signed_in_a, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    from feedback.choices import ChangeStatus
    from tests.reports.test_author_marks import build_marked_set, mark, respond

    client, token = signed_in_a
    build_marked_set(cast)

    def cards(filters: list, version: object = None) -> dict[str, tuple[str, str]]:
        children = result(
            call(
                client,
                LIVE,
                ("kpis", "children"),
                [("version", "data", version), *filters[1:]],
                token=token,
            ),
            "kpis",
            "children",
        )
        return {
            value["props"]["id"]: (value["props"]["children"], note["props"]["children"])
            for _label, value, note in (card["props"]["children"] for card in children)
        }

    today = timezone.localdate()
    month = live_filters(start=(today - timedelta(days=29)).isoformat(), end=today.isoformat())
    shown = cards(month)
    assert shown["kpi-helpful"][0] == "50%"
    assert shown["kpi-helpful"][1].startswith("3 of 6 responses published in the period")
    assert shown["kpi-confirmed"] == ("50%", "2 of 4 changes claimed in those responses")
    ward = cards(live_filters(start=month[1][2], end=month[2][2], service=cast.ward_a.service_id))
    assert ward["kpi-helpful"][1].startswith("2 of 5 responses")
    assert ward["kpi-confirmed"][1].startswith("1 of 3 changes")
    # The default 90 days take in the response answered 60 days ago; B's never count.
    assert cards(live_filters())["kpi-helpful"][1].startswith("4 of 7 responses")

    version = result(
        call(
            client,
            LIVE,
            ("version", "data"),
            [("tick", "n_intervals", 1)],
            state=[("version", "data", None)],
            token=token,
        ),
        "version",
        "data",
    )
    unmarked = respond(cast, cast.org_a, cast.clinic_a, cast.responder_a, change=ChangeStatus.MADE)
    with django_capture_on_commit_callbacks(execute=True):
        mark(unmarked, True, happened=True)
    changed = result(
        call(
            client,
            LIVE,
            ("version", "data"),
            [("tick", "n_intervals", 2)],
            state=[("version", "data", version)],
            token=token,
        ),
        "version",
        "data",
    )
    assert changed != version
    after = cards(month, changed)
    assert after["kpi-helpful"][1].startswith("4 of 7 responses")
    assert after["kpi-confirmed"][1].startswith("3 of 5 changes")
