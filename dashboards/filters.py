"""Turning what a dashboard's controls send into a Scope, refusing nothing but trusting
nothing: unknown dates fall back to the default period, unknown services and criticalities
select no stories rather than someone else's."""

from __future__ import annotations

from datetime import date, timedelta

from dashboards.queries import Scope
from feedback.choices import Criticality
from feedback.models import Service

DEFAULT_DAYS = 90
MAX_DAYS = 5 * 366


def parse_day(value: object) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def period(start: object, end: object, *, today: date, default_days: int = DEFAULT_DAYS):  # noqa: ANN201
    """(start, end) as dates, inclusive, no later than today and at most MAX_DAYS long."""
    last = min(parse_day(end) or today, today)
    first = parse_day(start) or last - timedelta(days=default_days - 1)
    first = max(min(first, last), last - timedelta(days=MAX_DAYS))
    return first, last


def service_ids(service: object) -> tuple[int, ...] | None:
    """The chosen service and everything below it, in the active organisation; None for all."""
    if service in (None, "", []):
        return None
    try:
        pk = int(service)
    except (TypeError, ValueError):
        return ()
    chosen = Service.objects.filter(pk=pk).first()
    return tuple(chosen.subtree_ids()) if chosen else ()


def criticalities(values: object) -> tuple[str, ...] | None:
    if not values:
        return None
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        return ()
    return tuple(v for v in Criticality.values if v in values)


def tenant_scope(
    organisation_id: int,
    *,
    start: object,
    end: object,
    service: object,
    criticality: object,
    today: date,
    within: frozenset[int] | None = None,
) -> Scope:
    """`within`: the only services a person limited to some may see (their subtrees,
    feedback/service_limits.py); their figures are of those services, whatever is asked."""
    first, last = period(start, end, today=today)
    chosen = service_ids(service)
    if within is not None:
        chosen = (
            tuple(sorted(within)) if chosen is None else tuple(i for i in chosen if i in within)
        )
    return Scope(
        organisation_id=organisation_id,
        start=first,
        end=last,
        service_ids=chosen,
        criticalities=criticalities(criticality),
    )


def service_options(within: frozenset[int] | None = None) -> list[dict[str, object]]:
    """The active organisation's services as a tree, for a dropdown (only those `within`,
    for a person limited to some)."""
    services = list(Service.objects.select_related("site").order_by("site__name", "name"))
    if within is not None:
        services = [s for s in services if s.pk in within]
        tops = {s.pk for s in services}
        # A limited person's highest services stand at the top of their tree.
        for service in services:
            if service.parent_id not in tops:
                service.parent_id = None
    children: dict[int | None, list[Service]] = {}
    for service in services:
        children.setdefault(service.parent_id, []).append(service)
    options: list[dict[str, object]] = []

    def walk(parent: int | None, depth: int) -> None:
        for service in children.get(parent, []):
            prefix = "\u2003" * depth
            label = f"{prefix}{service.name}" + ("" if depth else f" ({service.site.name})")
            options.append({"label": label, "value": service.pk})
            walk(service.pk, depth + 1)

    walk(None, 0)
    return options
