"""The reports' Celery tasks live in dashboards/reports/tasks.py, found by autodiscovery
alone (no CELERY_IMPORTS), under the names beat and the queue routes use."""

from __future__ import annotations

from django.conf import settings

from config.celery import app
from dashboards.reports import tasks

NAMES = {
    "reports.build_long_pdf": tasks.build_long_pdf,
    "dashboards.deliver_reports": tasks.deliver_reports,
    "dashboards.dispatch_report_deliveries": tasks.dispatch_report_deliveries,
}


def test_the_report_tasks_are_found_without_celery_imports() -> None:
    assert not getattr(settings, "CELERY_IMPORTS", ())
    app.loader.import_default_modules()
    for name, task in NAMES.items():
        assert app.tasks[name].name == task.name == name
        assert app.tasks[name].run.__module__ == "dashboards.reports.tasks"


def test_beat_names_the_report_tasks_that_exist() -> None:
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    ours = {name for name in scheduled if name.startswith(("reports.", "dashboards."))}
    assert "dashboards.dispatch_report_deliveries" in ours
    for name in ours:
        assert name in app.tasks, name
