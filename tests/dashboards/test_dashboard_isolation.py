"""Dashboards' tasks, cache keys and data versions stay within their organisation."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context, tenant_context

from dashboards.caching import cached_figure
from dashboards.freshness import bump_data_version, data_version
from dashboards.rollups import tasks
from dashboards.rollups.models import ServiceDay
from tests.conftest import Cast, tell_and_publish

pytestmark = pytest.mark.django_db


def test_the_rebuild_task_repairs_only_its_own_organisation(cast: Cast) -> None:
    tell_and_publish(cast, [cast.ward_a])
    tell_and_publish(cast, [cast.ward_b])
    ServiceDay.objects.update(stories=50)
    with tenant_context(cast.org_a):
        assert tasks.rebuild_rollups.apply().get() == 1
    assert ServiceDay.objects.get(organisation=cast.org_a).stories == 1
    assert ServiceDay.objects.get(organisation=cast.org_b).stories == 50


def test_the_missed_targets_task_marks_only_its_own_organisation(cast: Cast) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from feedback.models import Story

    for listing, organisation in ((cast.ward_a, cast.org_a), (cast.ward_b, cast.org_b)):
        tell_and_publish(cast, [listing], criticality="severely critical")
        with tenant_context(organisation):
            Story.objects.update(due_at=timezone.now() - timedelta(hours=1))
    with tenant_context(cast.org_b):
        assert tasks.mark_missed_targets.apply().get() == 1
    assert ServiceDay.objects.get(organisation=cast.org_b).breaches_open == 1
    assert ServiceDay.objects.get(organisation=cast.org_a).breaches_open == 0


def test_cached_figures_are_per_schema(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        assert (
            cached_figure("kpis", "v1", ("same",), lambda: "alpha's figures") == "alpha's figures"
        )
    with tenant_context(cast.org_b):
        assert cached_figure("kpis", "v1", ("same",), lambda: "beta's figures") == "beta's figures"
    with tenant_context(cast.org_a):
        assert cached_figure("kpis", "v1", ("same",), lambda: "recomputed") == "alpha's figures"


def test_data_versions_are_per_organisation(
    cast: Cast, django_capture_on_commit_callbacks: object
) -> None:
    a, b = data_version(cast.org_a.schema_name), data_version(cast.org_b.schema_name)
    assert a != b
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        bump_data_version(cast.org_a.schema_name)
    with schema_context(cast.org_b.schema_name):
        assert data_version() == b
    assert data_version(cast.org_a.schema_name) not in (a, b)
