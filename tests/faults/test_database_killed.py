"""The PostgreSQL connection killed (`pg_terminate_backend`, from a connection of its own, as
an operator or a failover would) in the middle of publishing, responding, provisioning and a
service import.

Each time: nothing is half-written (each operation is one transaction, rolled back with the
connection), the person is told plainly (a 503 page saying nothing was saved, or the import's
own page), and doing it again (the person, or the sweeper) finishes it exactly once.

The kill lands inside the operation's transaction, after some of its rows are written: from a
receiver of a signal it sends there, or around a function it calls. Nothing here wraps a test
transaction (`committed_db`): the operation's own transaction is the outermost one, as in
production. Each test removes what it made.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Max, Model
from django.dispatch import Signal
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists, tenant_context

from feedback.apikeys import create_api_key
from feedback.hub.models import ApiKey, PublicResponse, PublicStory, Submission, SubmissionState
from feedback.models import Response, Story
from feedback.signals import responses_published, stories_written
from onboarding import service_import
from onboarding import tasks as onboarding_tasks
from onboarding.models import ImportState, ServiceImport
from onboarding.signup import tasks as signup_tasks
from onboarding.signup import wizard
from onboarding.signup.models import Signup, Step
from tenants.audit.models import AuditEvent
from tenants.models import Organisation, OutboxMessage
from tenants.signals import organisation_provisioned
from tenants.slugs import schema_name_for
from tests.conftest import Cast, client_for, forget_published_stories, sign_in, tell
from tests.faults.rows import forgetting_new_rows
from tests.faults.test_broker_down import (
    forget_signup,
    large_file,
    own_organisation,
    pay,
    queued_tasks,
    sends_of,
    sign_out,
    warnings_in,
)
from tests.onboarding.test_service_import import counts, upload
from tests.signup.test_signup import hub, through_to_payment

NOTHING_SAVED = "nothing was saved"

# --- killing this test's own connection ------------------------------------------------------


def terminate_own_backend() -> None:
    """End the server process behind Django's connection, from a second connection, and
    wait until it has gone: the next query on Django's connection fails."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    params = connection.settings_dict
    with psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        autocommit=True,
    ) as other:
        (ended,) = other.execute("SELECT pg_terminate_backend(%s, 10000)", [pid]).fetchone()
    assert ended, "the backend did not end"


@contextmanager
def killed_on(signal: Signal) -> Iterator[list[bool]]:
    """Kill the connection the first time `signal` is sent while inside (once)."""
    kills: list[bool] = []

    def kill(**kwargs: Any) -> None:
        if not kills:
            kills.append(True)
            terminate_own_backend()

    signal.connect(kill, weak=False, dispatch_uid="faults.killed_on")
    try:
        yield kills
    finally:
        signal.disconnect(dispatch_uid="faults.killed_on")


def killed_after(calls: int, function: Callable[..., Any], kills: list[bool]) -> Callable:
    """`function`, killing the connection once it has been called `calls` times."""
    seen = []

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        seen.append(1)
        if len(seen) == calls and not kills:
            kills.append(True)
            terminate_own_backend()
        return result

    return wrapped


def newest(model: type[Model]) -> int:
    """The newest row's id in the active schema: what a test made is newer."""
    return model.objects.aggregate(top=Max("pk"))["top"] or 0


def assert_told_to_try_again(response: Any) -> None:
    assert response.status_code == 503, response.content[:500]
    assert int(response["Retry-After"]) > 0
    page = response.content.decode()
    assert NOTHING_SAVED in page and "try again in a moment" in page


# --- publishing ------------------------------------------------------------------------------


def test_the_connection_killed_while_a_moderator_publishes_writes_nothing_and_again_publishes_once(
    cast: Cast, committed_db: None, caplog: pytest.LogCaptureFixture
) -> None:
    title = "Killed while publishing"
    schema = cast.org_a.schema_name
    client = client_for(None)
    with forgetting_new_rows([schema]):
        submission_id = tell([cast.ward_a], title=title)
        audit, outbox = newest(AuditEvent), newest(OutboxMessage)
        try:
            assert sign_in(client, cast.moderator.email).status_code == 302
            form = {
                "action": "publish",
                "title": title,
                "what_was_good": "The nurses were kind and explained everything.",
                "what_could_be_improved": "The wait for a bed was long.",
                "how_it_felt": "Reassured.",
                "nickname": "Pat",
                "criticality": "mildly critical",
                "tags": ["what was good:kind staff"],
                "services": [cast.ward_a.pk],
            }
            url = f"/moderation/{submission_id}/"
            with (
                queued_tasks() as sent,
                killed_on(stories_written) as kills,
                caplog.at_level(logging.WARNING),
            ):
                refused = client.post(url, form)
            assert kills, "the connection was never killed"
            assert_told_to_try_again(refused)
            assert "database unavailable during POST hub:moderate" in warnings_in(caplog)
            assert title not in warnings_in(caplog)
            # Nothing of it anywhere: no story in A, no public copy, no audit row, no email.
            assert Submission.objects.get(pk=submission_id).state == SubmissionState.PENDING
            assert not PublicStory.objects.filter(title=title).exists()
            with tenant_context(cast.org_a):
                assert not Story.objects.filter(title=title).exists()
            assert not AuditEvent.objects.filter(pk__gt=audit, action="moderation.published")
            assert not OutboxMessage.objects.filter(pk__gt=outbox, kind="feedback.published")
            assert sent == []

            # The same moderator, the same form, a moment later.
            with queued_tasks() as sent:
                published = client.post(url, form)
            assert published.status_code == 302, published.content[:500]
            (public,) = PublicStory.objects.filter(title=title)
            assert Submission.objects.get(pk=submission_id).state == SubmissionState.PUBLISHED
            with tenant_context(cast.org_a):
                (story,) = Story.objects.filter(public_id=public.pk)
            audited = AuditEvent.objects.filter(pk__gt=audit, action="moderation.published")
            assert audited.count() == 1
            told = OutboxMessage.objects.filter(pk__gt=outbox, kind="feedback.published")
            assert told.count() == 1
            alerts = [args for name, args, _ in sent if name == "alerts.evaluate_story"]
            assert alerts == [(story.pk,)]
        finally:
            with schema_context("public"):
                published_ids = list(
                    PublicStory.objects.filter(title=title).values_list("pk", flat=True)
                )
            forget_published_stories([cast.org_a], published_ids)
            with schema_context("public"):
                Submission.objects.filter(pk=submission_id).delete()
            sign_out(client, "public")


# --- responding ------------------------------------------------------------------------------

REPLY = (
    "I am so sorry the wait for a bed on Alpha Ward One was so long, and thank you for telling "
    "us how kind the nurses were. We have added a discharge coordinator so beds free up "
    "earlier in the day. Rita Responder, Ward Manager"
)


def test_the_connection_killed_while_a_responder_publishes_writes_nothing_and_again_responds_once(
    cast: Cast, committed_db: None, caplog: pytest.LogCaptureFixture
) -> None:
    from feedback.moderation import Decision, publish_submission

    title = "Killed while responding"
    schema = cast.org_a.schema_name
    client = client_for(cast.org_a)
    with forgetting_new_rows([schema]):
        try:
            with queued_tasks():
                published = publish_submission(
                    tell([cast.ward_a], title=title),
                    moderator=cast.moderator,
                    decision=Decision("moderately critical", [], [cast.ward_a]),
                )
            public_id = published.public_story.pk
            with tenant_context(cast.org_a):
                story = Story.objects.get(public_id=public_id)
            assert sign_in(client, cast.responder_a.email).status_code == 302
            outbox = newest(OutboxMessage)
            with tenant_context(cast.org_a):
                audit = newest(AuditEvent)
            form = {"action": "publish", "body": REPLY, "change_status": "none"}
            url = f"/stories/{story.pk}/"
            with (
                queued_tasks() as sent,
                killed_on(responses_published) as kills,
                caplog.at_level(logging.WARNING),
            ):
                refused = client.post(url, form)
            assert kills, "the connection was never killed"
            assert_told_to_try_again(refused)
            assert "database unavailable during POST feedback:story" in warnings_in(caplog)
            with tenant_context(cast.org_a):
                assert not Response.objects.filter(story=story).exists()
                story.refresh_from_db()
                assert story.first_responded_at is None
                assert story.progress not in ("responded", "changed")
            assert not PublicResponse.objects.filter(public_story_id=public_id).exists()
            assert not OutboxMessage.objects.filter(pk__gt=outbox, kind="feedback.response")
            with tenant_context(cast.org_a):
                assert not AuditEvent.objects.filter(pk__gt=audit, action="response.published")
            assert sent == []

            answered = client.post(url, form)
            assert answered.status_code == 302, answered.content[:500]
            with tenant_context(cast.org_a):
                assert Response.objects.filter(story=story).count() == 1
                audited = AuditEvent.objects.filter(pk__gt=audit, action="response.published")
                assert audited.count() == 1
            assert PublicResponse.objects.filter(public_story_id=public_id).count() == 1
            told = OutboxMessage.objects.filter(pk__gt=outbox, kind="feedback.response")
            assert told.count() == 1
            page = client.get(url).content.decode()
            assert page.count("discharge coordinator") == 1
        finally:
            with schema_context("public"):
                ids = list(PublicStory.objects.filter(title=title).values_list("pk", flat=True))
            forget_published_stories([cast.org_a], ids)
            with schema_context("public"):
                Submission.objects.filter(title=title).delete()
            sign_out(client, schema)


# --- the read API: a JSON answer, and the connection discarded --------------------------------


def test_the_connection_killed_during_an_api_request_answers_json_503_and_the_next_works(
    cast: Cast, committed_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from feedback import api

    key = create_api_key(cast.org_a, name="killed connection")
    client = client_for(None, HTTP_AUTHORIZATION=f"SUBSCRIPTION_KEY {key.secret}")
    kills: list[bool] = []
    try:
        # Killed once the key is found, before the stories are read.
        monkeypatch.setattr(api, "_note_use", killed_after(1, api._note_use, kills))
        refused = client.get("/api/v2/opinions")
        assert kills and refused.status_code == 503
        assert refused["Content-Type"].startswith("application/json")
        assert refused.json() == {"status": 503, "message": refused.json()["message"]}
        assert NOTHING_SAVED in refused.json()["message"]
        assert int(refused["Retry-After"]) > 0
        # No test-client magic reconnects: the middleware closed the dead connection.
        assert client.get("/api/v2/opinions").status_code == 200
    finally:
        with schema_context("public"):
            ApiKey.objects.filter(pk=key.api_key.pk).delete()


# --- provisioning ----------------------------------------------------------------------------


def test_the_connection_killed_while_provisioning_makes_nothing_and_the_sweeper_provisions_once(
    cast: Cast, committed_db: None
) -> None:
    slug = "killed-hospice"
    client = hub()
    organisation: Organisation | None = None
    with forgetting_new_rows([]):
        signup = through_to_payment(client, organisation_name="Killed Hospice", slug=slug)
        audit = newest(AuditEvent)
        try:
            with queued_tasks() as sent:
                pay(signup)
            assert sent == [("signup.provision", (signup.pk,), "public")]

            # The worker's task, its connection killed inside provisioning's transaction
            # (organisation, schema and first administrator made, not yet committed).
            with killed_on(organisation_provisioned) as kills, pytest.raises(DatabaseError):
                signup_tasks.provision_signup(signup.pk)
            assert kills, "the connection was never killed"
            signup.refresh_from_db()
            assert signup.step == Step.PROVISIONING and signup.organisation_id is None
            assert not Organisation.objects.filter(slug=slug).exists()
            assert not schema_exists(schema_name_for(slug))
            # The payer's page still says it is being set up: nothing failed that they must
            # act on.
            status = client.get("/signup/status/").json()
            assert status["step"] == "provisioning" and status["error"] == ""

            # The sweeper finds it stuck and queues it again; that run provisions it.
            Signup.objects.filter(pk=signup.pk).update(
                updated_at=timezone.now() - wizard.STUCK_PROVISIONING * 2
            )
            with queued_tasks() as sent:
                wizard.sweep_signups()
            assert sends_of(signup, sent) == [("signup.provision", (signup.pk,), "public")]
            with queued_tasks():
                assert signup_tasks.provision_signup(signup.pk) == Step.READY
                assert signup_tasks.provision_signup(signup.pk) == Step.READY  # redelivered
            (organisation,) = Organisation.objects.filter(slug__startswith=slug)
            signup.refresh_from_db()
            assert signup.organisation == organisation
            assert AuditEvent.objects.filter(
                action="signup.completed", target_id=str(organisation.pk)
            ).exists()
            assert AuditEvent.objects.filter(pk__gt=audit, action="signup.completed").count() == 1
            status = client.get("/signup/status/").json()
            assert status["step"] == "ready" and status["workspace"]
        finally:
            forget_signup(signup)
            if organisation is not None:
                organisation.delete(force_drop=True)
            sign_out(client, settings.PUBLIC_SCHEMA_NAME)


def test_provisioning_whose_connection_is_killed_is_tried_again_by_the_task_itself(
    cast: Cast, committed_db: None
) -> None:
    """The task retries a lost connection itself (seconds), not only through the sweeper
    (minutes): run as a worker runs it (`apply`), the killed first attempt is followed by one
    that provisions the workspace once."""
    slug = "retried-hospice"
    client = hub()
    organisation: Organisation | None = None
    with forgetting_new_rows([]):
        signup = through_to_payment(client, organisation_name="Retried Hospice", slug=slug)
        try:
            with queued_tasks():
                pay(signup)
            with killed_on(organisation_provisioned) as kills, queued_tasks():
                result = signup_tasks.provision_signup.apply(args=[signup.pk])
            assert kills, "the connection was never killed"
            assert result.get() == Step.READY
            (organisation,) = Organisation.objects.filter(slug__startswith=slug)
            signup.refresh_from_db()
            assert signup.organisation == organisation and signup.step == Step.READY
        finally:
            forget_signup(signup)
            if organisation is not None:
                organisation.delete(force_drop=True)
            sign_out(client, settings.PUBLIC_SCHEMA_NAME)


# --- a service import ------------------------------------------------------------------------


def test_the_connection_killed_during_an_import_imports_nothing_and_the_sweeper_imports_once(
    committed_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with own_organisation() as organisation:
        import_killed_and_swept(organisation, monkeypatch)


def import_killed_and_swept(
    fresh_organisation: Organisation, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = 250
    client = client_for(fresh_organisation)
    assert sign_in(client, "admin@delta-import.example").status_code == 302
    with queued_tasks() as sent:
        queued = upload(client, large_file(rows), "delta.csv")
    assert queued.status_code == 302
    ((name, (import_id,), schema),) = sent
    assert name == "onboarding.run_service_import"
    assert schema == fresh_organisation.schema_name

    # The worker's run, its connection killed after 100 services are written.
    kills: list[bool] = []
    with monkeypatch.context() as patch:
        patch.setattr(
            service_import,
            "save_service",
            killed_after(100, service_import.save_service, kills),
        )
        with tenant_context(fresh_organisation), pytest.raises(DatabaseError):
            onboarding_tasks.run_service_import(import_id)
    assert kills, "the connection was never killed"
    assert counts(fresh_organisation) == (0, 0, 0)  # not one of the 100
    # Put back in the queue, its file kept; its page says so.
    with tenant_context(fresh_organisation):
        assert ServiceImport.objects.get(pk=import_id).state == ImportState.QUEUED
    page = client.get(queued["Location"]).content.decode()
    assert "nothing is imported yet: it will start again by itself" in page

    # The sweeper sends it again at once; that run imports the file, whole, once.
    with tenant_context(fresh_organisation):
        with queued_tasks() as sent:
            assert onboarding_tasks.sweep_imports() == 1
        assert sent == [("onboarding.run_service_import", (import_id,), schema)]
        assert onboarding_tasks.run_service_import(import_id) == "done"
        assert onboarding_tasks.run_service_import(import_id) == "not claimed"  # redelivered
        with queued_tasks() as sent:
            assert onboarding_tasks.sweep_imports() == 0
        record = ServiceImport.objects.get(pk=import_id)
        assert record.state == ImportState.DONE and record.services_created == rows
    assert counts(fresh_organisation) == (1, rows, rows)
    assert f"{rows} services added" in client.get(queued["Location"]).content.decode()
