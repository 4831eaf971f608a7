"""Bad input gets a 4xx, never a 500: every address of the hub and of a workspace, asked for
with nonsense in each of its parts, signed out and signed in (a moderator on the hub, an
administrator in the workspace), with GET and with an empty POST. New pages are covered as
soon as they are routed."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import Cast, client_for, pass_second_factor, sign_in

pytestmark = pytest.mark.django_db

# What each kind of path part becomes: an id that exists nowhere, a forged token, an
# unknown slug.
STAND_INS = {"int": "987654", "str": "forged.Token:1x", "slug": "no-such-slug", "path": "x/y"}
PART = re.compile(r"<(?:(\w+):)?\w+>")


def url_paths(urlconf: str) -> list[str]:
    """Every address of `urlconf`, with a stand-in for each part it takes."""
    paths: list[str] = []

    def walk(patterns: list, prefix: str) -> None:
        for pattern in patterns:
            route = str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + route)
            elif isinstance(pattern, URLPattern) and not route.startswith("^"):
                paths.append(
                    "/" + prefix + PART.sub(lambda m: STAND_INS.get(m[1] or "str", "x"), route)
                )

    walk(get_resolver(urlconf).url_patterns, "")
    return sorted(set(paths))


@pytest.fixture
def moderator_client(cast: Cast) -> Client:
    client = client_for(None)
    sign_in(client, cast.moderator.email)
    pass_second_factor(client, cast.moderator.email)
    return client


@pytest.mark.parametrize("path", url_paths("config.urls_hub"))
def test_no_hub_address_answers_a_server_error(
    cast: Cast, moderator_client: Client, path: str
) -> None:
    for client in (client_for(None), moderator_client):
        for method in (client.get, client.post):
            response = method(path)
            assert response.status_code < 500, (path, method.__name__, response.status_code)


@pytest.mark.parametrize("path", url_paths("config.urls_tenant"))
def test_no_workspace_address_answers_a_server_error(
    cast: Cast, admin_a_client: Client, path: str
) -> None:
    for client in (client_for(cast.org_a), admin_a_client):
        for method in (client.get, client.post):
            response = method(path)
            assert response.status_code < 500, (path, method.__name__, response.status_code)
