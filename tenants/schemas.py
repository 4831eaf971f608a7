"""Naming the schema code runs in, without paying for a switch that is not needed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context


@contextmanager
def public_schema() -> Iterator[None]:
    """Run in the public schema. Already there (hub requests), this costs nothing; django-
    tenants' schema_context would issue a fresh `SET search_path` on the way in and out."""
    if connection.schema_name == settings.PUBLIC_SCHEMA_NAME:
        yield
        return
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        yield
