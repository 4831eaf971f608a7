"""Fixtures the fault suite shares: workers of its own (tests/faults/worker.py), and the
rows a test commits forgotten afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cast
from tests.faults.rows import forgetting_new_rows
from tests.faults.worker import Workers


def send_to_queue(queue: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every task this process sends (the product's own `.delay` after a commit) goes to
    `queue`, whatever its route."""
    from config.celery import app

    monkeypatch.setattr(app.amqp.router, "routes", [lambda name, *args, **kwargs: {"queue": queue}])


@pytest.fixture
def workers(
    cast: Cast, committed_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workers]:
    """This test's workers (none started yet) and its own queue, which every task this
    process sends goes to. Stopped, and their connections ended, afterwards."""
    harness = Workers(folder=tmp_path)
    send_to_queue(harness.queue, monkeypatch)
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture
def new_rows_forgotten(cast: Cast, committed_db: None) -> Iterator[None]:
    """Audit rows and outgoing emails the test commits (in the hub and in organisation A),
    deleted afterwards, so that tests counting them later see none of this test's."""
    with forgetting_new_rows([cast.org_a.schema_name]):
        yield
