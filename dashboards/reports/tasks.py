"""Celery tasks for reports. Sent inside an organisation's schema, they run there."""

from __future__ import annotations

from config.celery import app
from dashboards.reports import long_reports


@app.task(name="reports.build_long_pdf", acks_late=True)
def build_long_pdf(token: str, kind: str, start: str, end: str, service: int | None) -> str:
    return long_reports.build(token, kind, start, end, service)
