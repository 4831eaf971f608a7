"""The demo signs its platform staff and administrators in with a second factor: `seed_demo`
prints their keys, and `demo_code` prints the current code for anyone without an app."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tenants.demo import DEMO_PASSWORD
from tenants.models import Organisation
from tests.conftest import VERIFY_URL, client_for

pytestmark = pytest.mark.django_db


def _app_codes(key: str) -> set[str]:
    """The codes an authenticator app holding `key` shows now and in the next step."""
    secret = base64.b32decode(key)
    step = int(time.time() // 30)
    codes = set()
    for t in (step, step + 1):
        digest = hmac.new(secret, struct.pack(">Q", t), hashlib.sha1).digest()
        offset = digest[-1] & 15
        number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
        codes.add(f"{number % 1_000_000:06d}")
    return codes


def _code(*args: str) -> str:
    out = StringIO()
    call_command("demo_code", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_the_demo_prints_keys_and_its_accounts_sign_in_with_the_printed_code() -> None:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    output = out.getvalue()
    for email in (
        "admin@northshire-hospitals.example",
        "moderator@carevoice.example",
        "support@carevoice.example",
    ):
        assert f"otpauth://totp/Carevoice%3A{email.replace('@', '%40')}?secret=" in output
    assert "manage.py demo_code EMAIL" in output
    # Responders and members need no second factor, so none is printed for them.
    assert "otpauth://totp/Carevoice%3Aresponder%40" not in output

    # What an authenticator app shows for the printed key (RFC 6238, worked out here, not by
    # the product) is what demo_code prints: both name the same device.
    key = re.search(
        r"admin@northshire-hospitals\.example\s+second factor: key ([A-Z2-7]+)", output
    ).group(1)
    assert _code("admin@northshire-hospitals.example") in _app_codes(key)

    trust = Organisation.objects.get(slug="northshire-hospitals")
    client = client_for(trust)
    client.post(
        "/accounts/login/",
        {"username": "admin@northshire-hospitals.example", "password": DEMO_PASSWORD},
    )
    assert client.get("/staff/")["Location"].startswith(VERIFY_URL)
    code = _code("admin@northshire-hospitals.example")
    assert len(code) == 6 and code.isdigit()
    assert client.post(VERIFY_URL, {"code": code}).status_code == 302
    assert client.get("/staff/").status_code == 200

    # (The suite's own cast may already hold the demo moderator's address; support is the
    # demo's alone.)
    hub = client_for(None)
    signed_in = hub.post(
        "/admin/login/",
        {"username": "support@carevoice.example", "password": DEMO_PASSWORD, "next": "/admin/"},
    )
    assert signed_in.status_code == 302
    assert hub.get("/admin/")["Location"].startswith(VERIFY_URL)
    assert hub.post(VERIFY_URL, {"code": _code("support@carevoice.example")}).status_code == 302
    assert hub.get("/admin/").status_code == 200


def test_demo_code_refuses_other_accounts_and_production(cast: object, settings: object) -> None:
    with pytest.raises(CommandError, match="not one of the demo's accounts"):
        _code("admin@alpha.example", "--schema", "alpha")
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="PRODUCTION is true"):
        _code("moderator@carevoice.example")
