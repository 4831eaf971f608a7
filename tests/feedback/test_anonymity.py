"""Authors stay anonymous: their contact details live only, encrypted, in the hub inbox."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.db import connection
from django.http import HttpResponse
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from feedback.apikeys import create_api_key
from feedback.hub.models import Submission
from tests.conftest import (
    AUTHOR_EMAIL,
    AUTHOR_POSTCODE,
    Cast,
    client_for,
    sign_in,
    tell_and_publish,
)
from tests.tenants.test_isolation import tenant_url_paths

pytestmark = pytest.mark.django_db


def test_contact_details_are_encrypted_at_rest(cast: Cast) -> None:
    published = tell_and_publish(cast, [cast.ward_a])
    submission = Submission.objects.get(public_story=published.public_story)
    assert submission.email == AUTHOR_EMAIL
    with connection.cursor() as cursor:
        cursor.execute("SELECT email, postcode FROM hub_submission WHERE id = %s", [submission.pk])
        email, postcode = cursor.fetchone()
    assert AUTHOR_EMAIL not in email and email.startswith("gAAAA")
    assert AUTHOR_POSTCODE not in postcode


def test_no_tenant_table_holds_the_authors_details(cast: Cast) -> None:
    tell_and_publish(cast, [cast.ward_a])
    with tenant_context(cast.org_a), connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'org_alpha' AND data_type IN ('text', 'character varying')"
        )
        columns = cursor.fetchall()
        for table, column in columns:
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}" ILIKE %s OR "{column}" ILIKE %s',
                [f"%{AUTHOR_EMAIL}%", f"%{AUTHOR_POSTCODE}%"],
            )
            assert cursor.fetchone()[0] == 0, f"{table}.{column}"


def test_no_workspace_page_shows_the_authors_details(cast: Cast) -> None:
    published = tell_and_publish(cast, [cast.ward_a])
    story_id = published.stories[0][1]
    client = client_for(cast.org_a)
    sign_in(client, cast.admin_a.email)
    for path in tenant_url_paths(pk=story_id):
        body = readable_text(client.get(path))
        assert AUTHOR_EMAIL not in body and AUTHOR_POSTCODE not in body, path


def readable_text(response: HttpResponse) -> str:
    """What a reader of the response sees: the text of a PDF, the body of anything else."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("application/pdf"):
        return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return content.decode()


def test_no_public_page_or_api_answer_shows_the_authors_details(cast: Cast) -> None:
    public = tell_and_publish(cast, [cast.ward_a]).public_story
    key = create_api_key(cast.org_a, name="k").secret
    hub = client_for(None)
    pages = [
        "/",
        "/stories/",
        f"/stories/{public.pk}/",
        "/organisations/alpha/",
        "/o/alpha/widget/",
        f"/api/v2/opinions?key={key}",
        f"/api/v2/opinions/{public.pk}?key={key}",
        f"/api/v2/opinions/{public.pk}?key={key}&format=xml",
        f"/api/v2/opinions/{public.pk}/healthservices?key={key}",
    ]
    for path in pages:
        body = hub.get(path).content.decode()
        assert AUTHOR_EMAIL not in body and AUTHOR_POSTCODE not in body, path


def test_no_email_to_staff_carries_the_authors_details(cast: Cast) -> None:
    tell_and_publish(cast, [cast.ward_a])
    for message in mail.outbox:
        if AUTHOR_EMAIL not in message.to:
            assert AUTHOR_EMAIL not in message.body
