"""Serving processes freeze their start-up heap once the application is loaded
(config/warming.py): gunicorn workers and Celery worker processes alike."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from celery.signals import worker_process_init

import config.celery  # noqa: F401 - connects the Celery receiver
from config import gunicorn
from config.warming import warm_and_freeze


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_warming_loads_the_name_lists_and_freezes_the_heap() -> None:
    assert gc.get_freeze_count() == 0
    # Frozen objects that are freed leave the count, so it is read as at least, not exactly.
    assert warm_and_freeze() > 10_000
    assert gc.get_freeze_count() > 10_000


def test_each_gunicorn_worker_is_warmed_once_it_has_loaded_the_application() -> None:
    gunicorn.post_worker_init(object())
    assert gc.get_freeze_count() > 10_000


def test_each_celery_worker_process_is_warmed() -> None:
    worker_process_init.send(sender=None)
    assert gc.get_freeze_count() > 10_000
