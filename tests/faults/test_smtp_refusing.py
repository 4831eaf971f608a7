"""Fault: the SMTP server refuses for a while, then accepts (and: nothing listens at all).

A real SMTP server (aiosmtpd, on 127.0.0.1) answers every recipient with 451 (a temporary
failure, quoting the address as real servers do) while it is refusing, and 250 afterwards.
Django's own SMTP backend sends the outbox's messages to it (tenants/messages.py). Shown:
- while refusing, the message waits: each try is counted, the server's reply is kept on
  the row without the address, and the next try waits longer; nothing is sent early;
- once the server accepts, the next due send delivers it, and the server holds exactly one
  copy however often the sweeper or a repeated task runs after;
- refused long enough, the message is parked (platform staff see it, with the reason,
  on the hub's outbox page) and sent once when they retry it;
- a server that is not listening at all (connection refused) is the same: waits, then one
  copy once it listens.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings
from django.utils import timezone

from tenants import tasks as tenant_tasks
from tenants.accounts.models import User
from tenants.messages import enqueue_email, send_due_messages, send_message
from tenants.models import OutboxMessage, OutboxMessageState
from tests.conftest import PASSWORD, Cast, client_for, pass_second_factor

pytestmark = pytest.mark.django_db

ADDRESS = "sam.private@example.org"
SUBJECT = "Your story was published"
BODY = "Thank you: your story about the day unit is now on the public site."


@dataclass
class MailServer:
    """The SMTP server's handler (aiosmtpd calls its `handle_*` methods): every recipient
    gets 451 while `refusing` is set, and is accepted otherwise."""

    refusing: bool = True
    refused: list[str] = field(default_factory=list)
    # (recipients, message) for each message accepted.
    received: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.refusing:
            self.refused.append(address)
            return f"451 4.3.0 <{address}>: mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def copies_to(self, address: str) -> list[bytes]:
        """What was accepted for `address` (a sweep may also send rows other tests left)."""
        return [content for recipients, content in self.received if address in recipients]

    def refusals_of(self, address: str) -> int:
        return self.refused.count(address)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_port() -> Iterator[int]:
    """A port on 127.0.0.1, and Django's SMTP backend sending to it."""
    port = free_port()
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_TIMEOUT=10,
    ):
        yield port


@dataclass
class Servers:
    port: int
    started: list[Controller] = field(default_factory=list)

    def start(self, handler: MailServer) -> MailServer:
        controller = Controller(handler, hostname="127.0.0.1", port=self.port)
        controller.start()
        self.started.append(controller)
        return handler


@pytest.fixture
def servers(smtp_port: int) -> Iterator[Servers]:
    """Starts real SMTP servers on the port Django sends to; stops them after the test."""
    made = Servers(smtp_port)
    yield made
    for controller in made.started:
        controller.stop()


@pytest.fixture
def mail_server(servers: Servers) -> MailServer:
    """A real SMTP server, refusing until told otherwise."""
    return servers.start(MailServer())


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids queued for a worker; the test runs the task's body itself."""
    sent: list[int] = []
    monkeypatch.setattr(tenant_tasks.send_outbox_message, "delay", sent.append)
    return sent


def write_message(key: str = "fault:smtp:1") -> OutboxMessage:
    return enqueue_email(
        kind="feedback.published", key=key, recipient=ADDRESS, subject=SUBJECT, text_body=BODY
    )


def row(message: OutboxMessage) -> OutboxMessage:
    return OutboxMessage.objects.get(pk=message.pk)


def let_the_wait_pass(message: OutboxMessage) -> None:
    """The backoff's time passes (the row is made due now)."""
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


def assert_waiting_without_the_address(message: OutboxMessage, attempts: int, reply: str) -> None:
    waiting = row(message)
    assert waiting.state == OutboxMessageState.WAITING and waiting.attempts == attempts
    assert reply in waiting.last_error
    assert ADDRESS not in waiting.last_error and "sam.private" not in waiting.last_error
    assert waiting.next_attempt_at > timezone.now() and waiting.sent_at is None


def assert_sent_once(server: MailServer, message: OutboxMessage) -> None:
    copies = server.copies_to(ADDRESS)
    assert len(copies) == 1, f"{len(copies)} copies reached the server"
    assert SUBJECT.encode() in copies[0] and b"day unit" in copies[0]
    sent = row(message)
    assert sent.state == OutboxMessageState.SENT and sent.sent_at is not None
    assert sent.last_error == "" and sent.recipient == ""


@override_settings(OUTBOX_RETRY_BASE_SECONDS=60, OUTBOX_MAX_ATTEMPTS=8)
def test_while_the_server_refuses_the_message_waits_then_is_delivered_exactly_once(
    mail_server: MailServer, queued: list[int]
) -> None:
    message = write_message()

    # The queued task's first try: refused, counted, the reply kept without the address.
    before = timezone.now()
    assert not tenant_tasks.send_outbox_message(message.pk)
    assert mail_server.refusals_of(ADDRESS) == 1 and mail_server.copies_to(ADDRESS) == []
    assert_waiting_without_the_address(message, 1, "451")
    assert "[recipient]" in row(message).last_error  # the address the reply quoted
    first_wait = row(message).next_attempt_at - before
    # Not due yet: neither the sweeper nor a repeated task tries again early.
    send_due_messages()
    assert not send_message(message.pk)
    assert mail_server.refusals_of(ADDRESS) == 1 and row(message).attempts == 1

    # Still refusing when it is due again: counted again, and the next wait is longer.
    let_the_wait_pass(message)
    before = timezone.now()
    send_due_messages()
    assert mail_server.refusals_of(ADDRESS) == 2
    assert_waiting_without_the_address(message, 2, "451")
    assert row(message).next_attempt_at - before > first_wait >= timedelta(seconds=120)

    # The server accepts again: the next due send delivers it, once.
    mail_server.refusing = False
    send_due_messages()
    assert mail_server.copies_to(ADDRESS) == []  # not before its time
    let_the_wait_pass(message)
    assert send_due_messages() >= 1
    assert_sent_once(mail_server, message)
    # A sweep, a redelivered task, a retry by hand: nothing more reaches the server.
    send_due_messages()
    assert not tenant_tasks.send_outbox_message(message.pk)
    let_the_wait_pass(message)
    send_due_messages()
    assert_sent_once(mail_server, message)
    assert row(message).attempts == 3


@override_settings(OUTBOX_RETRY_BASE_SECONDS=60, OUTBOX_MAX_ATTEMPTS=3)
def test_refused_long_enough_it_is_parked_and_platform_staffs_retry_sends_it_once(
    cast: Cast,
    mail_server: MailServer,
    queued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    message = write_message()
    for attempt in (1, 2, 3):
        let_the_wait_pass(message)
        send_due_messages()
        assert row(message).attempts == attempt
    parked = row(message)
    assert parked.state == OutboxMessageState.PARKED and "451" in parked.last_error
    assert ADDRESS not in parked.last_error
    assert mail_server.refusals_of(ADDRESS) == 3

    # Parked, it waits for a person even once the server accepts: nothing sends it.
    mail_server.refusing = False
    let_the_wait_pass(message)
    send_due_messages()
    assert not send_message(message.pk)
    assert mail_server.copies_to(ADDRESS) == [] and row(message).state == OutboxMessageState.PARKED

    # Platform staff see it on the hub's outbox page, with the reason and no address...
    operator = User.objects.create_superuser("ops@carevoice.example", PASSWORD, full_name="Ops")
    hub = client_for(None)
    hub.force_login(operator)
    pass_second_factor(hub, operator.email)
    page = hub.get("/admin/tenants/outboxmessage/?state__exact=parked")
    html = page.content.decode()
    assert page.status_code == 200 and "s***@example.org" in html and "451" in html
    assert ADDRESS not in html and SUBJECT not in html
    # ...and retry it: queued once, and the worker's task sends it once.
    with django_capture_on_commit_callbacks(execute=True):
        response = hub.post(
            "/admin/tenants/outboxmessage/",
            {"action": "retry_now", "_selected_action": [message.pk]},
            follow=True,
        )
    assert "1 message retried" in response.content.decode()
    assert queued == [message.pk]
    assert tenant_tasks.send_outbox_message(message.pk)
    assert not tenant_tasks.send_outbox_message(message.pk)  # the task, redelivered
    send_due_messages()
    assert_sent_once(mail_server, message)
    assert row(message).attempts == 4


@override_settings(OUTBOX_RETRY_BASE_SECONDS=60, OUTBOX_MAX_ATTEMPTS=8)
def test_a_server_not_listening_at_all_is_waited_for_then_gets_one_copy(
    servers: Servers, queued: list[int]
) -> None:
    message = write_message()
    # Nothing listens on the port: the connection is refused.
    for attempt in (1, 2):
        let_the_wait_pass(message)
        assert send_due_messages() == 0
        waiting = row(message)
        assert waiting.state == OutboxMessageState.WAITING and waiting.attempts == attempt
        assert "refused" in waiting.last_error.lower() and ADDRESS not in waiting.last_error

    # The server comes up, accepting: the next due send delivers once.
    server = servers.start(MailServer(refusing=False))
    send_due_messages()
    assert server.copies_to(ADDRESS) == []  # it waits out its backoff first
    let_the_wait_pass(message)
    assert send_due_messages() >= 1
    send_due_messages()
    assert not send_message(message.pk)
    assert_sent_once(server, message)
    assert server.refusals_of(ADDRESS) == 0
