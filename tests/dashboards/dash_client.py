"""Calling a Dash app's endpoints the way its front end does."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

LIVE = "/dashboards/live/"
NETWORK = "/dashboards/network/"


def csrf_token(client: Client, mount: str) -> str:
    page = client.get(mount)
    assert page.status_code == 200, page.status_code
    return client.cookies["csrftoken"].value


def call(
    client: Client,
    mount: str,
    output: tuple[str, str] | list[tuple[str, str]],
    inputs: list[tuple[str, str, Any]],
    *,
    state: list[tuple[str, str, Any]] = (),
    token: str | None = None,
) -> Any:
    """POST one callback; returns the Django response."""
    outputs = output if isinstance(output, list) else [output]
    body = {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + ".."
        if len(outputs) > 1
        else f"{outputs[0][0]}.{outputs[0][1]}",
        "outputs": [{"id": i, "property": p} for i, p in outputs]
        if len(outputs) > 1
        else {"id": outputs[0][0], "property": outputs[0][1]},
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
    }
    headers = {"HTTP_X_CSRFTOKEN": token} if token else {}
    return client.post(
        f"{mount}_dash-update-component",
        data=json.dumps(body),
        content_type="application/json",
        **headers,
    )


def result(response: Any, component: str, prop: str) -> Any:
    assert response.status_code == 200, (response.status_code, response.content[:300])
    return json.loads(response.content)["response"][component][prop]


def live_filters(start: str | None = None, end: str | None = None, service=None, crit=None):  # noqa: ANN001, ANN201
    return [
        ("version", "data", None),
        ("period", "start_date", start),
        ("period", "end_date", end),
        ("service", "value", service),
        ("criticality", "value", crit),
    ]
