"""The staff password reset email goes through the outbox (tenants/accounts/forms.py): one
row per account and link, none for a request rolled back."""

from __future__ import annotations

from datetime import datetime
from unittest import mock

import pytest
from django.core import mail
from django.db import transaction
from django_tenants.utils import tenant_context

from tenants.accounts.forms import RateLimitedPasswordResetForm
from tenants.messages import send_due_messages
from tenants.models import OutboxMessage
from tests.conftest import Cast, client_for

pytestmark = pytest.mark.django_db

NOW = "django.contrib.auth.tokens.PasswordResetTokenGenerator._now"
# Naive, as the token generator's own clock is.
NINE = datetime(2030, 1, 1, 9, 0)  # noqa: DTZ001
FIVE_PAST = datetime(2030, 1, 1, 9, 5)  # noqa: DTZ001


class RolledBack(Exception):
    pass


def rows() -> int:
    return OutboxMessage.objects.filter(kind="accounts.password_reset").count()


def test_the_same_link_twice_is_one_email_and_a_later_one_another(cast: Cast) -> None:
    client = client_for(cast.org_a)
    email = cast.responder_a.email
    with mock.patch(NOW, return_value=NINE):
        client.post("/accounts/password/reset/", {"email": email})
        client.post("/accounts/password/reset/", {"email": email})
    assert rows() == 1
    with mock.patch(NOW, return_value=FIVE_PAST):
        client.post("/accounts/password/reset/", {"email": email})
    assert rows() == 2
    assert send_due_messages() == 2
    assert [m.to for m in mail.outbox] == [[email]] * 2
    assert all("/accounts/password/reset/" in m.body for m in mail.outbox)
    assert all(m.alternatives for m in mail.outbox)  # the HTML part too


def test_a_rolled_back_request_writes_no_email(cast: Cast) -> None:
    with tenant_context(cast.org_a), pytest.raises(RolledBack), transaction.atomic():
        form = RateLimitedPasswordResetForm({"email": cast.responder_a.email})
        assert form.is_valid()
        form.save(
            domain_override="alpha.localhost",
            email_template_name="accounts/email/password_reset.txt",
            html_email_template_name="accounts/email/password_reset.html",
            subject_template_name="accounts/email/password_reset_subject.txt",
        )
        assert rows() == 1
        raise RolledBack
    assert rows() == 0
    assert send_due_messages() == 0 and mail.outbox == []
