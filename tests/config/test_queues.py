"""A queue per workload: alerts never wait behind reports, Stripe events or mail."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.conf import settings

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]

EXPECTED = {
    "alerts.evaluate_story": "alerts",
    "alerts.evaluate_network_story": "alerts",
    "alerts.send_digests": "alerts",
    "feedback.escalate_safeguarding_concerns": "alerts",
    "feedback.watch_moderation_queue": "alerts",
    "feedback.notify_author_of_response": "mail",
    "feedback.send_receipt_notice": "mail",
    "feedback.send_publication_notice": "mail",
    "feedback.send_rejection_notice": "mail",
    "feedback.send_withdrawal_notice": "mail",
    "training.send_reminders": "mail",
    "tenants.send_outbox_message": "mail",
    "tenants.send_alert_outbox_message": "alerts",
    "tenants.send_due_outbox_messages": "mail",
    "reports.build_long_pdf": "reports",
    "exports.build_story_export": "reports",
    "topics.fit": "reports",
    "dashboards.deliver_reports": "reports",
    "dashboards.rebuild_rollups": "reports",
    "billing.process_webhook_event": "billing",
    "signup.provision": "billing",
    "onboarding.run_service_import": "celery",
    "feedback.apply_retention": "celery",
    "tenants.clear_expired_sessions": "celery",
}
# One task of each queue, for the test on the real broker.
ONE_PER_QUEUE = {queue: task_name for task_name, queue in reversed(EXPECTED.items())}


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


def test_alerts_and_mail_never_share_a_queue() -> None:
    """A slow mail server or a burst of author mail cannot hold an alert back."""
    app.loader.import_default_modules()
    ours = [name for name in app.tasks if not name.startswith("celery.")]
    alert_tasks = [name for name in ours if name.startswith("alerts.")] + [
        "feedback.escalate_safeguarding_concerns",
        "feedback.watch_moderation_queue",
    ]
    # Every task that sends mail to story authors (feedback/emails.py), and training mail.
    mail_tasks = [
        name for name in ours if name.startswith(("feedback.send_", "feedback.notify_"))
    ] + [name for name in ours if name.startswith("training.")]
    assert len(mail_tasks) >= 6
    alert_queues = {queue_of(name) for name in alert_tasks}
    mail_queues = {queue_of(name) for name in mail_tasks}
    assert alert_queues == {"alerts"}
    assert mail_queues == {"mail"}


def consumed_by(command: list[str]) -> set[str]:
    """The queues a `celery worker` command line consumes: without -Q, every declared one."""
    if "-Q" not in command:
        return {queue.name for queue in settings.CELERY_TASK_QUEUES}
    return set(command[command.index("-Q") + 1].split(","))


def test_the_worker_make_run_starts_consumes_every_queue(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from config import launcher

    commands: list[list[str]] = []
    # Nothing is started: the launcher's command lines are only recorded.
    monkeypatch.setattr(
        launcher.subprocess, "Popen", lambda command, **kwargs: commands.append(list(command))
    )
    launcher.start_processes({}, "8000", tmp_path)
    (worker,) = [c for c in commands if "worker" in c]
    assert consumed_by(worker) == {queue.name for queue in settings.CELERY_TASK_QUEUES}


def test_the_compose_worker_consumes_every_queue() -> None:
    compose = yaml.safe_load((ROOT / "infra" / "compose.yaml").read_text())
    workers = [
        service["command"]
        for service in compose["services"].values()
        if "worker" in service.get("command", [])
    ]
    assert workers
    consumed = set().union(*(consumed_by(command) for command in workers))
    assert consumed == {queue.name for queue in settings.CELERY_TASK_QUEUES}


def test_each_queue_is_bound_by_its_own_name() -> None:
    bindings = [(q.exchange.name, q.routing_key) for q in app.amqp.queues.values()]
    assert len(set(bindings)) == len(bindings), bindings
    for name in ("alerts", "mail", "reports", "billing", "celery"):
        assert app.amqp.queues[name].routing_key == name


# Its cases share one Redis database: under `make test-fast`'s two workers, one worker runs them.
@pytest.mark.xdist_group("broker-database-11")
@pytest.mark.parametrize(("queue", "task_name"), sorted(ONE_PER_QUEUE.items()))
def test_a_routed_task_lands_in_its_queue_only(queue: str, task_name: str) -> None:
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


@pytest.mark.django_db
def test_an_alerts_email_is_sent_from_the_alerts_queue_and_an_authors_from_mail(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks
) -> None:  # noqa: ANN001
    """Alert emails wait in the one outbox like every other, but their send is queued with
    the alerts, so a burst of author receipts never holds one back."""
    from tenants import messages, tasks

    queued: list[tuple[str, int]] = []
    for task in (tasks.send_alert_outbox_message, tasks.send_outbox_message):
        monkeypatch.setattr(
            task, "delay", lambda pk, name=task.name: queued.append((queue_of(name), pk))
        )
    with django_capture_on_commit_callbacks(execute=True):
        alert = messages.enqueue_email(
            kind="alerts.instant",
            key="probe:alert",
            recipient="responder@example.org",
            subject="A new story",
            text_body="A new story about Ward One.",
        )
        notice = messages.enqueue_email(
            kind="feedback.received",
            key="probe:receipt",
            recipient="author@example.org",
            subject="We have your story",
            text_body="Thank you.",
        )
    assert queued == [("alerts", alert.pk), ("mail", notice.pk)]
    # Platform staff's "retry now" keeps an alert with the alerts.
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert messages.retry_message(alert)
    assert queued == [("alerts", alert.pk)]
