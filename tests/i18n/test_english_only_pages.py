"""Sign-up, moderation and the platform's admin are written in English: a visitor who chose
Welsh gets them in English, and the page says so (`lang`), not Welsh it does not have."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_a_welsh_visitor_gets_sign_up_in_english_and_told_so() -> None:
    client = client_for(None)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "cy"
    page = client.get("/signup/").content.decode()
    assert '<html lang="en-gb">' in page
    # The public pages keep their Welsh.
    assert '<html lang="cy">' in client.get("/tell/").content.decode()
