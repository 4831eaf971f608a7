"""The sign-up's confirmation email goes through the outbox (onboarding/signup/wizard.py):
one row per sign-up and link, none for a sign-up step rolled back."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core import mail
from django.db import transaction
from django_tenants.utils import schema_context

from onboarding.signup import wizard
from onboarding.signup.models import Signup
from tenants.messages import send_due_messages
from tenants.models import OutboxMessage

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase-42"


class RolledBack(Exception):
    pass


def new_signup() -> Signup:
    return wizard.start_signup(
        wizard.Details(
            organisation_name="Outbox Hospice",
            kind="hospice",
            ods_code="",
            region="london",
            website="https://outbox-hospice.example",
            slug="outbox-hospice",
        )
    )


def rows() -> int:
    with schema_context("public"):
        return OutboxMessage.objects.filter(kind="signup.verify").count()


def test_the_same_link_twice_is_one_email_and_a_new_link_another() -> None:
    signup = new_signup()
    with mock.patch("django.core.signing.time.time", return_value=1_800_000_000):
        wizard.save_account(signup, name="Robin", email="robin@outbox.example", password=PASSWORD)
        wizard.send_verification(signup)  # the same token: no second email
    assert rows() == 1
    with mock.patch("django.core.signing.time.time", return_value=1_800_000_060):
        wizard.send_verification(signup)  # sent again later: a new link
    assert rows() == 2
    assert send_due_messages() == 2
    assert [m.to for m in mail.outbox] == [["robin@outbox.example"]] * 2
    assert all("/signup/verify/" in m.body for m in mail.outbox)


def test_a_rolled_back_step_writes_no_email() -> None:
    signup = new_signup()
    with schema_context("public"), pytest.raises(RolledBack), transaction.atomic():
        wizard.save_account(signup, name="Robin", email="robin@outbox.example", password=PASSWORD)
        raise RolledBack
    assert rows() == 0
    assert send_due_messages() == 0 and mail.outbox == []
