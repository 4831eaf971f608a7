"""A sign-up's provisioning survives a worker dying (`onboarding.signup.wizard`): the sign-up
is linked to its new organisation in the provisioning transaction, and the task (redelivered,
or queued again by the sweeper) resumes from that link, so a paid sign-up never ends up
failed with a workspace, nor with two.

Each test runs in one database transaction, and each operation's own transaction is a
savepoint inside it: what an operation commits stays, what it rolls back is gone, as it
would be in production. A killed worker is an exception nothing in the product catches.
"""

from __future__ import annotations

from collections import Counter
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists, tenant_context

from alerts.models import AlertRule
from billing.models import Subscription
from billing.subscriptions import refresh_from_stripe
from onboarding.signup import tasks, wizard
from onboarding.signup.models import Signup, Step
from tenants.accounts.models import User
from tenants.audit.models import AuditEvent
from tenants.models import MembershipStatus, NetworkInvitation, Organisation
from tenants.networks import create_network
from tenants.slugs import schema_name_for
from tests.conftest import Cast
from tests.signup.test_signup import PASSWORD, hub, pay_by_local_card, through_to_payment

pytestmark = pytest.mark.django_db

# Where the sweeper sends a stuck provisioning again: the Celery seam.
QUEUE = "onboarding.signup.tasks.provision_signup.delay"
ADMIN_EMAIL = "robin@riverside-hospice.example"


class WorkerKilled(BaseException):
    """The worker process died: nothing after this point of the task ran."""


def kill_the_worker(*args: object, **kwargs: object) -> None:
    raise WorkerKilled


def provisioning(client: Client, name: str, slug: str) -> Signup:
    """A sign-up paid on the local Stripe server and moved on to provisioning, through the
    hub's pages, with `client` holding its session."""
    mail.outbox.clear()  # through_to_payment follows the one confirmation link it finds
    signup = through_to_payment(client, organisation_name=name, slug=slug)
    pay_by_local_card(client)
    refresh_from_stripe(Subscription.objects.get(reference=signup.reference), source="test")
    assert wizard.note_payment(signup)
    signup.refresh_from_db()
    assert signup.step == Step.PROVISIONING
    return signup


def crash_after_the_workspace_commits(signup: Signup, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the task with the worker dying at the first step after provisioning's
    transaction commits: handing the subscription to the new organisation."""
    with monkeypatch.context() as patched:
        patched.setattr(wizard, "attach_organisation", kill_the_worker)
        with pytest.raises(WorkerKilled):
            tasks.provision_signup(signup.pk)


def organisations_named(slug: str) -> list[Organisation]:
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        return list(Organisation.objects.filter(slug__startswith=slug))


def test_a_worker_dying_after_provisioning_leaves_the_sign_up_linked_and_the_sweep_finishes_it(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    network = create_network(lead=cast.org_a, name="Alpha's network")
    NetworkInvitation.objects.create(network=network, email=ADMIN_EMAIL)
    signup = provisioning(hub(), "Crash Hospice", "crash-hospice")
    before = Organisation.objects.count()
    mail.outbox.clear()

    crash_after_the_workspace_commits(signup, monkeypatch)
    signup.refresh_from_db()
    [organisation] = organisations_named("crash-hospice")
    # The link committed with the organisation; the sign-up is still under way, not failed.
    assert signup.organisation == organisation and organisation.is_ready
    assert signup.step == Step.PROVISIONING and signup.error == ""
    assert Subscription.objects.get(reference=signup.reference).organisation is None

    # The sweeper finds it stuck and queues it again; the task resumes from the link.
    Signup.objects.filter(pk=signup.pk).update(
        updated_at=timezone.now() - wizard.STUCK_PROVISIONING * 2
    )
    with mock.patch(QUEUE) as queued:
        wizard.sweep_signups()
    queued.assert_called_once_with(signup.pk)
    assert tasks.provision_signup(signup.pk) == Step.READY
    assert tasks.provision_signup(signup.pk) == Step.READY  # and a redelivered message

    signup.refresh_from_db()
    assert signup.step == Step.READY and signup.progress == 100
    assert signup.organisation == organisation
    assert organisations_named("crash-hospice") == [organisation]
    assert Organisation.objects.count() == before + 1
    assert Subscription.objects.get(reference=signup.reference).organisation == organisation
    assert AuditEvent.objects.filter(action="signup.completed").count() == 1
    assert network.memberships.get(organisation=organisation).status == MembershipStatus.INVITED
    sent = Counter((m.subject, tuple(m.to)) for m in mail.outbox)
    assert all(count == 1 for count in sent.values()), sent
    with tenant_context(organisation):
        admin = User.objects.get()
        assert admin.email == ADMIN_EMAIL and admin.check_password(PASSWORD)
        assert AlertRule.objects.count() == 1
        assert AuditEvent.objects.filter(action="billing.organisation_attached").count() == 1
    workspace = Client(HTTP_HOST=f"{organisation.slug}.{settings.BASE_DOMAIN}")
    signed_in = workspace.post("/accounts/login/", {"username": ADMIN_EMAIL, "password": PASSWORD})
    assert signed_in.status_code == 302


def test_a_redelivered_task_after_the_crash_finishes_rather_than_failing_on_its_own_address(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = hub()
    signup = provisioning(client, "Again Hospice", "again-hospice")
    crash_after_the_workspace_commits(signup, monkeypatch)
    # acks_late: the dead worker's message goes to another worker.
    assert tasks.provision_signup(signup.pk) == Step.READY
    status = client.get("/signup/status/").json()
    assert status["step"] == "ready" and status["error"] == ""
    assert status["workspace"].startswith(f"http://again-hospice.{settings.BASE_DOMAIN}")
    assert len(organisations_named("again-hospice")) == 1


def test_changing_the_address_after_the_crash_makes_no_second_workspace(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = hub()
    signup = provisioning(client, "Twice Hospice", "twice-hospice")
    crash_after_the_workspace_commits(signup, monkeypatch)
    [organisation] = organisations_named("twice-hospice")

    # Asked for another address while its workspace exists, the sign-up keeps the one it
    # has (before, a redelivered task found its own address taken and failed it, and the
    # payer's new address made a second workspace).
    wizard.change_address_after_failure(signup, "twice-hospice-2")
    signup.refresh_from_db()
    assert signup.slug == "twice-hospice" and signup.step == Step.PROVISIONING
    tasks.provision_signup(signup.pk)  # the redelivered message
    # The page offers another address only to a failed sign-up; a finished one goes on.
    assert client.post("/signup/retry/", {"slug": "twice-hospice-3"}).status_code == 302
    tasks.provision_signup(signup.pk)

    signup.refresh_from_db()
    assert signup.step == Step.READY and signup.organisation == organisation
    assert signup.slug == "twice-hospice"
    assert organisations_named("twice-hospice") == [organisation]
    assert not schema_exists(schema_name_for("twice-hospice-2"))
    assert not schema_exists(schema_name_for("twice-hospice-3"))


def test_a_failure_between_provisioning_and_the_link_leaves_neither(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    signup = provisioning(hub(), "Torn Hospice", "torn-hospice")
    with monkeypatch.context() as patched:
        patched.setattr(wizard, "link_signup", kill_the_worker)
        with pytest.raises(WorkerKilled):
            tasks.provision_signup(signup.pk)
    signup.refresh_from_db()
    assert signup.organisation is None and signup.step == Step.PROVISIONING
    assert organisations_named("torn-hospice") == []
    assert not schema_exists(schema_name_for("torn-hospice"))

    assert tasks.provision_signup(signup.pk) == Step.READY
    signup.refresh_from_db()
    assert organisations_named("torn-hospice") == [signup.organisation]


def test_a_failure_inside_provisioning_leaves_nothing_and_a_retry_provisions_once(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    signup = provisioning(hub(), "Broken Hospice", "broken-hospice")

    def broken(admin: User) -> None:
        raise RuntimeError("the default rule could not be made")

    # A receiver of organisation_provisioned fails, inside provisioning's transaction.
    with monkeypatch.context() as patched:
        patched.setattr("alerts.receivers.create_default_rule", broken)
        with pytest.raises(RuntimeError, match="default rule"):
            tasks.provision_signup(signup.pk)
    signup.refresh_from_db()
    assert signup.organisation is None and signup.step == Step.PROVISIONING
    assert organisations_named("broken-hospice") == []
    assert not schema_exists(schema_name_for("broken-hospice"))

    # The sweeper's next run provisions it, once.
    Signup.objects.filter(pk=signup.pk).update(
        updated_at=timezone.now() - wizard.STUCK_PROVISIONING * 2
    )
    with mock.patch(QUEUE) as queued:
        wizard.sweep_signups()
    queued.assert_called_once_with(signup.pk)
    assert tasks.provision_signup(signup.pk) == Step.READY
    assert tasks.provision_signup(signup.pk) == Step.READY
    signup.refresh_from_db()
    assert organisations_named("broken-hospice") == [signup.organisation]
    assert AuditEvent.objects.filter(action="signup.completed").count() == 1
