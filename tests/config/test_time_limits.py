"""Every Celery task has a soft and a hard time limit, so a hung task cannot hold a worker for
good, and no limit outlasts what would take the same work again (config/settings.py)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from celery import Task
from django.conf import settings

from config.celery import app


def our_tasks() -> dict[str, Task]:
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_every_task_has_a_soft_limit_under_its_hard_limit() -> None:
    tasks = our_tasks()
    assert len(tasks) > 20
    for name, task in tasks.items():
        assert task.soft_time_limit and task.time_limit, name
        assert 0 < task.soft_time_limit < task.time_limit, name


def test_the_long_tasks_get_more_than_the_default() -> None:
    tasks = our_tasks()
    default = settings.CELERY_TASK_TIME_LIMIT
    for name in (
        "onboarding.run_service_import",
        "reports.build_long_pdf",
        "dashboards.rebuild_rollups",
        "dashboards.deliver_reports",
        "billing.reconcile_subscriptions",
        "feedback.apply_retention",
    ):
        assert tasks[name].time_limit > default, name
    # Every named limit is for a task that exists (a renamed task would lose its limits).
    assert set(settings.CELERY_TASK_ANNOTATIONS) <= set(tasks)


def test_no_task_outlasts_the_visibility_timeout() -> None:
    """A task unacknowledged for that long is delivered to a second worker beside the first."""
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    for name, task in our_tasks().items():
        assert task.time_limit < visibility, name


def seconds(delta: timedelta) -> float:
    return delta.total_seconds()


def test_each_sweeper_takes_work_again_only_once_its_worker_has_stopped() -> None:
    from dashboards.reports.long_reports import STALE_AFTER
    from onboarding.service_import import STALE_CLAIM
    from onboarding.signup.wizard import STUCK_PROVISIONING

    tasks = our_tasks()
    assert tasks["onboarding.run_service_import"].time_limit < seconds(STALE_CLAIM)
    assert tasks["signup.provision"].time_limit < seconds(STUCK_PROVISIONING)
    assert tasks["reports.build_long_pdf"].time_limit < seconds(STALE_AFTER)
    # Tasks that claim outbox rows end before any of their claims goes stale.
    stale = {
        "alerts.send_deliveries": settings.ALERT_STALE_CLAIM_SECONDS,
        "alerts.sweep": settings.ALERT_STALE_CLAIM_SECONDS,
        "alerts.send_digests": settings.ALERT_STALE_CLAIM_SECONDS,
        "alerts.evaluate_story": settings.ALERT_STALE_CLAIM_SECONDS,
        "alerts.evaluate_network_story": settings.ALERT_STALE_CLAIM_SECONDS,
        "dashboards.deliver_reports": settings.REPORT_STALE_CLAIM_SECONDS,
        "tenants.send_outbox_message": settings.OUTBOX_STALE_CLAIM_SECONDS,
        "tenants.send_alert_outbox_message": settings.OUTBOX_STALE_CLAIM_SECONDS,
        "tenants.send_due_outbox_messages": settings.OUTBOX_STALE_CLAIM_SECONDS,
        "billing.process_webhook_event": settings.WEBHOOK_STALE_CLAIM_SECONDS,
    }
    for name, stale_seconds in stale.items():
        assert tasks[name].time_limit < stale_seconds, name


@pytest.mark.parametrize(
    ("task_name", "args", "limits"),
    [
        ("reports.build_long_pdf", ["t", "summary", "2025-01-01", "2025-12-31", None], [900, 1200]),
        ("feedback.send_receipt_notice", [1], None),
    ],
)
def test_a_sent_task_carries_its_limits_to_the_worker(
    task_name: str, args: list[object], limits: list[int] | None
) -> None:
    """On the real broker, in a Redis database of its own (no test worker reads it): the
    message names the limits, which the worker applies (the sender's settings decide)."""
    import redis

    task = our_tasks()[task_name]
    expected = limits or [settings.CELERY_TASK_SOFT_TIME_LIMIT, settings.CELERY_TASK_TIME_LIMIT]
    queue = app.amqp.router.route({}, task_name)["queue"].name
    url = f"{settings.CELERY_BROKER_URL}?virtual_host=12"
    with app.connection_for_write(url) as conn:
        client: redis.Redis = conn.default_channel.client
        client.delete(queue)
        try:
            app.amqp.queues[queue](conn.default_channel).declare()
            task.apply_async(args=args, connection=conn)
            (raw,) = client.lrange(queue, 0, -1)
        finally:
            client.delete(queue)
    hard, soft = json.loads(raw)["headers"]["timelimit"]
    assert [soft, hard] == expected


def test_email_timeout_reaches_the_smtp_backend() -> None:
    from django.core.mail import get_connection

    assert settings.EMAIL_TIMEOUT == 20
    smtp = get_connection("django.core.mail.backends.smtp.EmailBackend")
    assert smtp.timeout == settings.EMAIL_TIMEOUT
