"""The read API, fuzzed from its own OpenAPI document: every operation, generated
parameters, a valid key, published stories and a response to read. No answer is a 5xx, and
every answer conforms to the document (status code, content type, body schema).

Requests go through the project's WSGI application (`config.wsgi.application`), the one
gunicorn serves, inside the test's transaction: like Django's own test client, the fixture
keeps the request signals from closing the test's connection, so what the test wrote is
visible and rolled back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from xml.etree import ElementTree

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, event
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from feedback import api
from feedback.apikeys import NewKey, create_api_key
from feedback.choices import ChangeStatus
from feedback.models import Story
from feedback.openapi import description
from feedback.responding import Draft, publish_response
from tenants import ratelimit
from tests.conftest import Cast, client_for, tell_and_publish

pytestmark = pytest.mark.django_db

HUB = f"http://{settings.BASE_DOMAIN}"
schema = schemathesis.openapi.from_dict(description(HUB))

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

REPLY = (
    "I am so sorry the wait for a bed on Alpha Ward One was so long, and thank you for telling "
    "us how kind the nurses were. We have added a discharge coordinator so beds free up "
    "earlier in the day. Rita Responder, Ward Manager"
)


@dataclass(frozen=True)
class Seeded:
    key: NewKey
    # Path values that exist: the fuzzer seldom guesses one, so it is handed them too.
    known: dict[str, list[object]]
    app: object


@pytest.fixture
def seeded(cast: Cast) -> Iterator[Seeded]:
    """A key of A's, two published stories of A's (one with a response claiming a change)
    and one of B's, all made through the product's own operations."""
    key = create_api_key(cast.org_a, name="Fuzzing", actor=cast.admin_a)
    first = tell_and_publish(
        cast,
        [cast.ward_a, cast.clinic_a],
        title="Tea & toast <at last> \u202eevil\u202c \U0001f600",
        tags=["what was good:kind staff", "feelings:grateful"],
    )
    second = tell_and_publish(cast, [cast.ward_a], title="Second", nickname="")
    other = tell_and_publish(cast, [cast.ward_b], title="About Beta")
    with tenant_context(cast.org_a):
        story = Story.objects.get(public_id=first.public_story.pk)
        response = publish_response(
            story,
            Draft(REPLY, ChangeStatus.MADE, "A discharge coordinator"),
            responder=cast.responder_a,
            written_by=cast.responder_a,
        )
    # As Django's test client does: the handler's signals must not close the connection
    # that holds the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    from config.wsgi import application

    try:
        stories = [first.public_story.pk, second.public_story.pk, other.public_story.pk]
        yield Seeded(
            key,
            {
                "/api/v2/opinions": stories,
                "/api/v2/responses": [response.public_id],
                "/api/v2/healthservices": ["AW1", "aec", "BPW", f"CV{cast.ward_a.pk}"],
            },
            application,
        )
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_the_fuzzed_document_is_the_one_the_api_serves() -> None:
    served = client_for(None).get("/api/v2/openapi.json").json()
    assert served == description(HUB)


def _text_parameters() -> dict[str, list[tuple[str, str]]]:
    """Each path's string parameters, as (location, name), read from the document."""
    document = description(HUB)
    components = document["components"]["parameters"]
    found: dict[str, list[tuple[str, str]]] = {}
    for path, item in document["paths"].items():
        for ref in item["get"]["parameters"]:
            parameter = components[ref["$ref"].rsplit("/", 1)[-1]]
            if parameter["schema"].get("type") == "string":
                found.setdefault(path, []).append((parameter["in"], parameter["name"]))
    return found


TEXT_PARAMETERS = _text_parameters()
# What Hypothesis's text seldom tries but people and scripts send: the classics that reach
# PostgreSQL (NUL), JSON containment (tag), date parsing and our own CV<id> codes.
NASTY = st.one_of(
    st.sampled_from(["\x00", "AW1\x00", "\x00\u202e"]),
    st.sampled_from(
        [
            "\u202e\u0301\U0001f600",
            '[{"name": 1}]',
            "%",
            "\\",
            "' OR 1=1 --",
            "CV" + "9" * 30,
            "cv0",
            "9" * 30,
            "0001-01-01",
            "9999-12-31T23:59:59Z",
            "02/30/2024",
            "x" * 5000,
            "   ",
        ]
    ),
)


@schema.parametrize()
@schema.given(data=st.data())
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_within_the_document(
    case: schemathesis.Case, data: st.DataObject, seeded: Seeded
) -> None:
    # Now and then the path names something that exists (another organisation's story among
    # them), and one string parameter gets a value from the list above.
    path = case.operation.path
    if case.path_parameters and data.draw(st.booleans(), label="known"):
        (name,) = case.path_parameters
        known = next(v for k, v in seeded.known.items() if path.startswith(k + "/"))
        case.path_parameters = {name: data.draw(st.sampled_from(known), label="known value")}
    choices = TEXT_PARAMETERS.get(case.operation.path, [])
    if choices and data.draw(st.booleans(), label="nasty"):
        location, name = data.draw(st.sampled_from(choices), label="parameter")
        value = data.draw(NASTY, label="value")
        if location == "path":
            case.path_parameters = {**(case.path_parameters or {}), name: value}
        else:
            case.query = {**(case.query or {}), name: value}
    headers = {
        "Host": settings.BASE_DOMAIN,
        "Authorization": f"SUBSCRIPTION_KEY {seeded.key.secret}",
    }
    # The rate limit has its own tests; here each call starts the key's window afresh.
    ratelimit.reset(api.API_RATE, str(seeded.key.api_key.pk))
    answered = case.call_and_validate(app=seeded.app, headers=headers, checks=CHECKS)
    event(f"answered {answered.status_code}")
    # The same question in XML (not described in the document): never a 5xx, always XML.
    ratelimit.reset(api.API_RATE, str(seeded.key.api_key.pk))
    as_xml = case.call(app=seeded.app, headers=headers, params={"format": "xml"})
    assert as_xml.status_code < 500, as_xml.text[:500]
    if as_xml.status_code in (200, 400, 401, 404):
        ElementTree.fromstring(as_xml.content)
