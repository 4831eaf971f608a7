"""The local Stripe server the launcher starts when no Stripe is configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from config import embedded

ROOT = Path(__file__).resolve().parents[2]


def _products(server: embedded.EmbeddedStripe) -> list[str]:
    response = requests.get(
        f"{server.api_base}/v1/products",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    )
    response.raise_for_status()
    return [p["id"] for p in response.json()["data"]]


def _make_product(server: embedded.EmbeddedStripe, product_id: str) -> None:
    requests.post(
        f"{server.api_base}/v1/products",
        data={"id": product_id, "name": product_id},
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=10,
    ).raise_for_status()


def test_two_local_stripe_servers_keep_their_own_state(tmp_path: Path) -> None:
    shared_pickle = Path("/tmp/localstripe.pickle")
    before = shared_pickle.stat().st_mtime if shared_pickle.exists() else None
    one = embedded.EmbeddedStripe(tmp_path / "one", keep_state=True)
    two = embedded.EmbeddedStripe(tmp_path / "two")
    one.start()
    two.start()
    try:
        assert one.api_base.startswith("http://127.0.0.1:") and one.port != two.port
        env = one.environment()
        assert env["STRIPE_API_KEY"].startswith("sk_test_")
        assert env["STRIPE_WEBHOOK_SECRET"].startswith("whsec_")
        _make_product(one, "only-in-one")
        assert "only-in-one" in _products(one)
        assert "only-in-one" not in _products(two)
        assert (tmp_path / "one" / "localstripe.pickle").exists()
        assert not (tmp_path / "two" / "localstripe.pickle").exists()
    finally:
        one.stop()
        two.stop()
    after = shared_pickle.stat().st_mtime if shared_pickle.exists() else None
    assert after == before, "nothing is written to the shared /tmp/localstripe.pickle"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{one.api_base}/v1/products", timeout=2)

    again = embedded.EmbeddedStripe(tmp_path / "one", keep_state=True)
    again.start()
    try:
        assert "only-in-one" in _products(again)  # `make run` keeps its state across runs
    finally:
        again.stop()


def test_the_launcher_starts_it_only_when_no_stripe_is_named() -> None:
    probe = (
        "import os, sys; "
        "base = os.environ.get('STRIPE_API_BASE', ''); "
        "print(base, os.environ.get('STRIPE_API_KEY', '')[:8]); "
        "sys.exit(0 if base.startswith('http://127.0.0.1:') else 3)"
    )
    # The suite's own database and broker stay named, so only Stripe is the launcher's to
    # start (or not): a PostgreSQL and a Redis per launch would only cost time.
    names = ("STRIPE_API_BASE", "STRIPE_API_KEY", "STRIPE_API_KEY_FILE")
    env = {k: v for k, v in os.environ.items() if k not in names}
    result = subprocess.run(
        [sys.executable, "-m", "config.launcher", "exec", sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sk_test_" in result.stdout

    real = subprocess.run(
        [sys.executable, "-m", "config.launcher", "exec", sys.executable, "-c", probe],
        cwd=ROOT,
        env={**env, "STRIPE_API_KEY": "sk_live_from_the_environment"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert real.returncode == 3, real.stdout + real.stderr  # Stripe itself: nothing started
