"""The schema editor names the constraints Django writes inline in ADD COLUMN, on Citus only
(tenants/citus/base.py)."""

from __future__ import annotations

import pytest
from django.db import connection

from tenants.citus.base import is_citus, name_inline_constraints


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            'ALTER TABLE "otp_static_staticdevice" ADD COLUMN "throttling_failure_count" '
            'integer DEFAULT 0 NOT NULL CHECK ("throttling_failure_count" >= 0)',
            'ALTER TABLE "otp_static_staticdevice" ADD COLUMN "throttling_failure_count" '
            "integer DEFAULT 0 NOT NULL CONSTRAINT "
            '"otp_static_staticdevice_throttling_failure_count_check" '
            'CHECK ("throttling_failure_count" >= 0)',
        ),
        (
            'ALTER TABLE "feedback_story" ADD COLUMN "code" varchar(8) NULL UNIQUE',
            'ALTER TABLE "feedback_story" ADD COLUMN "code" varchar(8) NULL '
            'CONSTRAINT "feedback_story_code_key" UNIQUE',
        ),
        (
            'ALTER TABLE "x" ADD COLUMN "id" bigint NOT NULL PRIMARY KEY',
            'ALTER TABLE "x" ADD COLUMN "id" bigint NOT NULL CONSTRAINT "x_pkey" PRIMARY KEY',
        ),
        # Named already (Django's inline foreign keys), or not an ADD COLUMN: unchanged.
        (
            'ALTER TABLE "a" ADD COLUMN "b_id" bigint CONSTRAINT "a_b_id_fk" REFERENCES "b"("id")',
            'ALTER TABLE "a" ADD COLUMN "b_id" bigint CONSTRAINT "a_b_id_fk" REFERENCES "b"("id")',
        ),
        (
            'ALTER TABLE "a" ADD CONSTRAINT "c" CHECK (x > 0)',
            'ALTER TABLE "a" ADD CONSTRAINT "c" CHECK (x > 0)',
        ),
    ],
)
def test_inline_constraints_get_postgresql_default_names(sql: str, expected: str) -> None:
    assert name_inline_constraints(sql) == expected


def test_plain_postgresql_is_not_taken_for_citus(db: None) -> None:
    assert is_citus(connection) is False
