"""A queue per workload: alerts never wait behind reports or Stripe events."""

from __future__ import annotations

import pytest
from django.conf import settings

from config.celery import app

EXPECTED = {
    "alerts.evaluate_story": "alerts",
    "alerts.send_digests": "alerts",
    "feedback.notify_author_of_response": "alerts",
    "reports.build_long_pdf": "reports",
    "dashboards.deliver_reports": "reports",
    "dashboards.rebuild_rollups": "reports",
    "billing.process_webhook_event": "billing",
    "signup.provision": "billing",
    "onboarding.run_service_import": "celery",
    "training.send_reminders": "celery",
    "tenants.clear_expired_sessions": "celery",
}


def queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name)["queue"].name


@pytest.mark.parametrize(("task_name", "queue"), EXPECTED.items())
def test_each_workload_has_its_queue(task_name: str, queue: str) -> None:
    app.loader.import_default_modules()
    assert task_name in app.tasks
    assert queue_of(task_name) == queue


def test_every_task_goes_to_a_queue_workers_consume() -> None:
    app.loader.import_default_modules()
    consumed = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    ours = [name for name in app.tasks if not name.startswith("celery.")]
    assert len(ours) > 20
    assert {queue_of(name) for name in ours} == consumed
    # A worker started without -Q (make run, compose, the cluster's default) consumes them all
    # (tests may have added queues of their own since, hence a subset).
    assert consumed <= set(app.amqp.queues)


def test_each_queue_is_bound_by_its_own_name() -> None:
    bindings = [(q.exchange.name, q.routing_key) for q in app.amqp.queues.values()]
    assert len(set(bindings)) == len(bindings), bindings
    for name in ("alerts", "reports", "billing", "celery"):
        assert app.amqp.queues[name].routing_key == name


@pytest.mark.parametrize(("task_name", "queue"), list(EXPECTED.items())[:4])
def test_a_routed_task_lands_in_its_queue_only(task_name: str, queue: str) -> None:
    """On the real broker, in a Redis database of its own (no test worker reads it)."""
    import redis

    url = f"{settings.CELERY_BROKER_URL}?virtual_host=11"
    names = [q.name for q in settings.CELERY_TASK_QUEUES]
    with app.connection_for_write(url) as conn:
        client: redis.Redis = conn.default_channel.client
        client.delete(*names)
        try:
            for declared in app.amqp.queues.values():
                declared(conn.default_channel).declare()
            app.send_task(task_name, connection=conn)
            lengths = {name: client.llen(name) for name in names}
        finally:
            client.delete(*names)
    assert lengths == {name: int(name == queue) for name in names}
