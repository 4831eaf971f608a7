"""The live dashboard caches figures under the server's data version only: a version made up
by the caller makes no new cache entries and never hides current figures."""

from __future__ import annotations

import pytest

from dashboards import caching
from tests.conftest import Cast, client_for, sign_in, tell_and_publish
from tests.dashboards.dash_client import LIVE, call, csrf_token, live_filters, result
from tests.dashboards.test_live_dashboard import kpi_values

pytestmark = pytest.mark.django_db


def test_made_up_versions_make_no_new_cache_keys(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    client = client_for(cast.org_a)
    assert sign_in(client, cast.member_a.email).status_code == 302
    token = csrf_token(client, LIVE)
    keys: list[str] = []
    figure_key = caching.figure_key

    def recording(name: str, version: str, params: tuple) -> str:
        key = figure_key(name, version, params)
        keys.append(key)
        return key

    monkeypatch.setattr(caching, "figure_key", recording)

    def kpis(version: object) -> dict[str, str]:
        filters = [("version", "data", version), *live_filters()[1:]]
        response = call(client, LIVE, ("kpis", "children"), filters, token=token)
        return kpi_values(result(response, "kpis", "children"))

    first = kpis(None)
    first_keys = set(keys)  # the KPI cards' figures (one key each)
    assert first_keys
    for made_up in ("a", "b", "x" * 500, 12345, {"nested": "object"}, ["list"]):
        assert kpis(made_up) == first
    assert set(keys) == first_keys, set(keys) - first_keys

    # A new story changes the server's version: a caller still posting the old one (or any
    # other) gets the current figures, never the ones cached under the old version.
    old_version = result(
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
    assert kpis(old_version) == first
    with django_capture_on_commit_callbacks(execute=True):
        tell_and_publish(cast, [cast.ward_a])
    assert kpis(old_version) != first
    assert kpis("made-up") == kpis(None) != first
