"""The clone refuses a template it could not copy faithfully (committed: read elsewhere)."""

from __future__ import annotations

import pytest
from django.db import connection

from tenants.cloning import CloneError, read_snapshot


def test_a_template_holding_what_cannot_be_copied_is_refused(
    committed_db: None,
) -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA refusal_probe")
        cursor.execute("CREATE TABLE refusal_probe.t (id int PRIMARY KEY)")
        cursor.execute("CREATE VIEW refusal_probe.v AS SELECT id FROM refusal_probe.t")
    try:
        with pytest.raises(CloneError, match="relation v"):
            read_snapshot("refusal_probe", (0, 0))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA refusal_probe CASCADE")
