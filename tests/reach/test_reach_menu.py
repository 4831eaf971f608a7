"""The workspace menu leads responders and administrators to leaflets and screens and to
invitations to tell, and members (who may not use those pages) not at all."""

from __future__ import annotations

import pytest

from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db


def test_the_menu_shows_leaflets_and_screens_to_those_who_may_use_them(cast: Cast) -> None:
    for email, shown in (
        (cast.admin_a.email, True),
        (cast.responder_a.email, True),
        (cast.member_a.email, False),
    ):
        client = client_for(cast.org_a)
        sign_in(client, email)
        page = client.get("/").content.decode()
        for path in ("/reach/", "/invitations/tell/"):
            assert (f'href="{path}"' in page) is shown, (email, path)
            assert client.get(path).status_code == (200 if shown else 403), (email, path)
