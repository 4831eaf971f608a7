"""Static files: WhiteNoise's list of the apps' files is made once per process
(config/staticfiles.py), and every middleware chain built afterwards serves the same files."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from config import staticfiles
from tests.conftest import client_for


def test_the_files_are_listed_once_and_every_new_chain_serves_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(staticfiles, "_FROM_FINDERS", {})
    listed = []
    real = finders.get_finders

    def counting() -> object:
        listed.append(1)
        return real()

    monkeypatch.setattr(finders, "get_finders", counting)
    bodies = []
    for _ in range(3):  # each test client builds its own middleware chain
        response = Client().get("/static/css/carevoice.css")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/css")
        bodies.append(b"".join(response.streaming_content))
    assert len(listed) == 1
    assert bodies[0] == bodies[1] == bodies[2] and bodies[0]


def test_a_file_no_finder_knows_is_not_served(db: None) -> None:
    hub = client_for(None)
    assert hub.get("/static/../config/settings.py").status_code == 404
    assert hub.get("/static/no-such-file.css").status_code == 404
