"""`python -m tests.faults.paused_worker WORKER-ARGS...`: the product's Celery worker
(`celery -A config worker WORKER-ARGS...`), made to stop for a while at one function so that a
test can kill it exactly there. Test-only: production code has no hooks for this.

Read from the environment:
- FAULT_PAUSE_AT="module:function" (e.g. "billing.webhooks:record_invoice"): the module's
  attribute is replaced by a wrapper that, on call number FAULT_PAUSE_ON_CALL (default 1),
  writes `paused-<pid>` into FAULT_DIR and sleeps FAULT_PAUSE_SECONDS (default 300) before
  calling the function. The function must be looked up through its module at call time (a
  module-level name the caller uses), or the wrapper is never called.
- FAULT_QUEUE: every task this worker sends goes to that queue, the test's own, so the work
  it queues (an email after an alert, an import after a sweep) stays with the test's workers.
- FAULT_DIR: `ready-<pid>` is written there once the worker consumes.
- FAULT_CACHE_KEY_PREFIX: the cache key prefix of the test process (pytest-xdist gives each
  test process its own), so progress the worker writes is what the test's pages read.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def pause_at(target: str, folder: Path, seconds: float, on_call: int) -> None:
    module_name, _, name = target.partition(":")
    module = importlib.import_module(module_name)
    original: Callable[..., Any] = getattr(module, name)
    calls = 0

    @functools.wraps(original)
    def paused(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == on_call:
            (folder / f"paused-{os.getpid()}").write_text(target)
            time.sleep(seconds)
        return original(*args, **kwargs)

    setattr(module, name, paused)


def route_everything_to(queue: str) -> None:
    from config.celery import app

    app.conf.task_routes = ({"*": {"queue": queue}},)
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)  # a cached Router holds the routes it was made with


def say_when_ready(folder: Path) -> None:
    from celery.signals import worker_ready

    def ready(**kwargs: object) -> None:
        (folder / f"ready-{os.getpid()}").write_text("ready")

    worker_ready.connect(ready, weak=False)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.conf import settings

    prefix = os.environ.get("FAULT_CACHE_KEY_PREFIX")
    if prefix:
        settings.CACHES["default"]["KEY_PREFIX"] = prefix
    django.setup()
    folder = Path(os.environ["FAULT_DIR"])
    target = os.environ.get("FAULT_PAUSE_AT")
    if target:
        pause_at(
            target,
            folder,
            float(os.environ.get("FAULT_PAUSE_SECONDS", "300")),
            int(os.environ.get("FAULT_PAUSE_ON_CALL", "1")),
        )
    queue = os.environ.get("FAULT_QUEUE")
    if queue:
        route_everything_to(queue)
    say_when_ready(folder)

    from celery.bin.celery import main as celery_main

    sys.argv = ["celery", "-A", "config", "worker", *sys.argv[1:]]
    sys.exit(celery_main())


if __name__ == "__main__":
    main()
