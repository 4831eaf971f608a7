"""The suite's slow tiers: `make test-fast` leaves out exactly the tests that start browsers,
kill workers, start servers of their own or check the deployment files (tests/conftest.py
SLOW_TIERS), and `make test` still runs them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests import conftest
from tests.conftest import stale_tier_entries, tiers_of

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("nodeid", "fixtures", "tiers"),
    [
        ("tests/browser/test_signup_browser.py::test_x", (), {"browser"}),
        ("tests/infra/test_pooling.py::test_y[session]", (), {"infra"}),
        ("tests/alerts/test_worker_killed.py::test_z", (), {"worker_kill"}),
        ("tests/config/test_embedded_stripe.py::test_a", (), {"embedded_server"}),
        (
            "tests/config/test_embedded.py::test_queued_messages_survive_the_embedded_broker_being_killed",
            (),
            {"embedded_server", "worker_kill"},
        ),
        # Only the named test of a module that is otherwise quick.
        ("tests/config/test_log_redaction.py::test_innocent_urls_are_left_alone", (), set()),
        # A module whose name begins like a listed one is not in its tier.
        ("tests/alerts/test_worker_killed_again.py::test_b", (), set()),
        (
            "tests/feedback/test_retention.py::test_c",
            ("cast", "celery_worker_thread"),
            {"embedded_server"},
        ),
        ("tests/feedback/test_intake.py::test_d", ("cast", "db"), set()),
        ("tests/tenants/test_demo.py::test_e", (), {"demo"}),
        ("tests/billing/test_demo_billing.py::test_f", (), {"demo"}),
        ("tests/fuzz/test_api_schema.py::test_g[GET /api/v2/opinions]", (), {"fuzz"}),
    ],
)
def test_a_test_is_in_the_tiers_of_its_place_and_its_fixtures(
    nodeid: str, fixtures: tuple[str, ...], tiers: set[str]
) -> None:
    assert tiers_of(nodeid, fixtures) == tiers


def test_every_place_the_tiers_name_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    assert stale_tier_entries(ROOT) == []
    renamed = {"infra": ("tests/infra/", "tests/config/test_embedded.py::test_renamed_away")}
    monkeypatch.setattr(conftest, "SLOW_TIERS", renamed)
    assert stale_tier_entries(ROOT) == ["tests/config/test_embedded.py::test_renamed_away"]
    monkeypatch.setattr(conftest, "SLOW_TIERS", {"demo": ("tests/*/test_*nothing_like_it*.py",)})
    assert stale_tier_entries(ROOT) == ["tests/*/test_*nothing_like_it*.py"]


def test_make_test_fast_leaves_out_every_tier_and_pytest_knows_them() -> None:
    makefile = (ROOT / "Makefile").read_text()
    left_out = re.search(r"^SLOW_TIERS := (.+)$", makefile, re.MULTILINE)
    assert left_out, "the Makefile's SLOW_TIERS line is gone"
    assert set(left_out[1].split(" or ")) == set(conftest.SLOW_TIERS)
    assert 'FAST := -m "not ($(SLOW_TIERS))"' in makefile
    assert "test-fast: $(INSTALLED)\n\t$(PY) -m config.launcher test $(FAST)" in makefile
    # `make test` selects nothing away: the fast tiers, then exactly the slow ones.
    recipe = makefile.split("\ntest: ", 1)[1].split("\n\n", 1)[0]
    assert "\t$(PY) -m config.launcher test $(FAST)\n" in recipe
    assert '\t$(PY) -m config.launcher test -m "$(SLOW_TIERS)"\n' in recipe
    assert "\t$(PY) -m config.launcher test $(PYTEST_ARGS)\n" in recipe
    pytest_options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    registered = {line.split(":")[0] for line in pytest_options["ini_options"]["markers"]}
    assert set(conftest.SLOW_TIERS) | set(conftest.SERVER_FIXTURES.values()) <= registered


def test_every_collected_test_carries_the_markers_of_its_tiers(
    request: pytest.FixtureRequest,
) -> None:
    for item in request.session.items:
        marked = {mark.name for mark in item.iter_markers()}
        assert tiers_of(item.nodeid, item.fixturenames) <= marked, item.nodeid


def test_a_parallel_worker_keeps_to_its_own_cache_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make test-fast` runs two pytest-xdist workers against one Redis: each worker's keys
    carry its name, and clearing the cache between tests clears only its own."""
    import os

    from django.core.cache import cache

    assert cache.key_prefix == os.environ.get("PYTEST_XDIST_WORKER", "")
    if not hasattr(cache, "_cache"):
        pytest.skip("the cache is not Redis (CACHE_URL unset), so nothing is shared")
    client = cache._cache.get_client(write=True)
    theirs, ours = "public:gw-other:1:probe", "public:gw-this:1:probe"
    client.set(theirs, b"1")
    client.set(ours, b"1")
    try:
        monkeypatch.setattr(conftest, "XDIST_WORKER", "gw-this")
        conftest.clear_cache(cache)
        assert client.get(theirs) == b"1" and client.get(ours) is None
    finally:
        client.delete(theirs, ours)


def test_stripe_tests_share_one_parallel_group(request: pytest.FixtureRequest) -> None:
    """The local Stripe server has one store, which billing's tests empty: every test that
    may talk to it runs on the same worker, and a test names at most one group."""
    for item in request.session.items:
        groups = [m.args[0] for m in item.iter_markers("xdist_group")]
        assert len(groups) <= 1, item.nodeid  # xdist would honour only one
        names_its_own = "xdist_group(" in Path(item.path).read_text()
        if conftest.uses_local_stripe(Path(item.path)) and not names_its_own:
            assert groups == ["stripe"], item.nodeid
    # Billing's helpers talk to the server without the module naming Stripe (test_seats
    # once raced sync_plans on the other worker); names alone would miss them.
    for module in ("tests/billing/test_seats.py", "tests/signup/test_sweep.py"):
        assert conftest.uses_local_stripe(ROOT / module), module
    assert not conftest.uses_local_stripe(ROOT / "tests/feedback/test_quality.py")
