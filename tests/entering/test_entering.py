"""Entering a story for its author (feedback/entering.py): by a moderator on the hub or by an
organisation's story taker in its workspace, with the route, the author's consent and an
optional scan of the paper form; into the same moderation as any other story."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import schema_context, tenant_context
from PIL import Image

from feedback.hub.models import Submission
from feedback.models import Story
from feedback.moderation import Decision, publish_submission
from tenants.accounts.models import User
from tenants.audit.models import AuditEvent
from tenants.staff import set_story_taker
from tests.conftest import Cast, client_for, sign_in

pytestmark = pytest.mark.django_db

STORY_TEXT = "The porters were kind and wheeled me gently to the scan room."


def pdf_bytes() -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "Carevoice paper form")
    page.save()
    return buffer.getvalue()


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 94, 184)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def media(settings: object, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def make_story_taker(cast: Cast, organisation: object, user: User) -> None:
    admin = cast.admin_a if organisation == cast.org_a else cast.admin_b
    with tenant_context(organisation):
        set_story_taker(user, True, actor=admin)


def staff_client(organisation: object, email: str) -> Client:
    client = client_for(organisation)
    assert sign_in(client, email).status_code == 302
    return client


def moderator_client(cast: Cast) -> Client:
    client = client_for(None)
    sign_in(client, cast.moderator.email)
    return client


def fields(chosen: list[int], **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "services": [str(pk) for pk in chosen],
        "route": "paper",
        "language": "en",
        "title": "Gentle porters",
        "what_was_good": STORY_TEXT,
        "what_could_be_improved": "",
        "how_it_felt": "Looked after.",
        "author_role": "patient",
        "author_age_group": "65-74",
        "nickname": "",
        "email": "",
        "postcode": "",
        "consent_given": "signed the paper form",
        "consent_confirmed": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_a_story_taker_enters_a_paper_story_with_its_scan_into_moderation(
    cast: Cast, media: Path
) -> None:
    make_story_taker(cast, cast.org_a, cast.member_a)
    client = staff_client(cast.org_a, cast.member_a.email)
    page = client.get("/stories/enter/")
    assert page.status_code == 200 and "Alpha Ward One" in page.content.decode()
    assert "Beta Private Ward" not in page.content.decode()
    scan = pdf_bytes()
    response = client.post(
        "/stories/enter/",
        fields(
            [cast.ward_a.pk],
            scan=SimpleUploadedFile("form.png", scan, content_type="image/png"),
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    submission = Submission.objects.get(title="Gentle porters")
    assert submission.state == "pending" and submission.route == "paper"
    assert submission.staff_entered and submission.entered_by_organisation_id == cast.org_a.pk
    assert submission.entered_by == "Mo Member (Alpha Hospitals NHS Trust)"
    assert submission.entered_by_user_id == cast.member_a.pk
    assert submission.consent_given == "signed the paper form"
    # Stored by what it is (a PDF, whatever its name said), under the organisation's folder.
    assert submission.scan.startswith("scans/org_alpha/") and submission.scan.endswith(".pdf")
    assert (media / submission.scan).read_bytes() == scan

    with tenant_context(cast.org_a):
        event = AuditEvent.objects.get(action="story.entered_for_someone")
    assert event.actor_id == cast.member_a.pk and event.target_id == str(submission.pk)
    assert event.detail["route"] == "paper" and event.detail["staff_entered"] is True
    assert event.detail["scan"] is True
    recorded = json.dumps(event.detail) + event.summary
    assert "porters" not in recorded and "Gentle" not in recorded

    # The workspace lists its own entries, and its story takers may fetch their scan.
    listed = client.get("/stories/enter/").content.decode()
    assert f"/stories/entered/{submission.pk}/scan/" in listed
    fetched = client.get(f"/stories/entered/{submission.pk}/scan/")
    assert fetched.status_code == 200 and b"".join(fetched.streaming_content) == scan
    assert fetched["Content-Type"] == "application/pdf"

    # Moderators see the route, who entered it, the consent and the scan.
    moderator = moderator_client(cast)
    queue = moderator.get("/moderation/").content.decode()
    assert "Staff-entered" in queue
    page = moderator.get(f"/moderation/{submission.pk}/").content.decode()
    assert "Staff-entered" in page and "Mo Member (Alpha Hospitals NHS Trust)" in page
    assert "They signed the paper form" in page and "Paper" in page
    assert f"/moderation/{submission.pk}/scan/" in page
    fetched = moderator.get(f"/moderation/{submission.pk}/scan/")
    assert fetched.status_code == 200 and b"".join(fetched.streaming_content) == scan
    assert fetched["Cache-Control"] == "private, no-store"

    # The same moderation as any other; published, the organisation's story says so.
    published = publish_submission(
        submission.pk,
        moderator=cast.moderator,
        decision=Decision("mildly critical", ["what was good:kind staff"], [cast.ward_a]),
    )
    with tenant_context(cast.org_a):
        story = Story.objects.get(public_id=published.public_story.pk)
    assert story.staff_entered and story.submission_route == "paper"
    assert published.public_story.submission_route == "paper"
    inbox = client.get("/stories/").content.decode()
    assert "entered by staff" in inbox
    assert "entered by staff" in client.get(f"/stories/{story.pk}/").content.decode()


def test_staff_cannot_enter_a_story_about_another_organisations_service(
    cast: Cast, media: Path
) -> None:
    make_story_taker(cast, cast.org_a, cast.member_a)
    client = staff_client(cast.org_a, cast.member_a.email)
    response = client.post("/stories/enter/", fields([cast.ward_b.pk]))
    assert response.status_code == 400
    assert "Choose Alpha Hospitals NHS Trust&#x27;s own services" in response.content.decode()
    assert not Submission.objects.filter(title="Gentle porters").exists()


def test_staff_without_the_flag_get_403_and_strangers_sign_in_first(cast: Cast) -> None:
    client = staff_client(cast.org_a, cast.member_a.email)
    assert client.get("/stories/enter/").status_code == 403
    assert client.post("/stories/enter/", fields([cast.ward_a.pk])).status_code == 403
    anonymous = client_for(cast.org_a).get("/stories/enter/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert not Submission.objects.filter(title="Gentle porters").exists()
    assert "Enter a story for someone" not in client.get("/stories/").content.decode()


def test_entering_is_csrf_protected(cast: Cast) -> None:
    make_story_taker(cast, cast.org_a, cast.member_a)
    client = client_for(cast.org_a, enforce_csrf_checks=True)
    sign_in(client, cast.member_a.email)
    assert client.post("/stories/enter/", fields([cast.ward_a.pk])).status_code == 403
    moderator = client_for(None, enforce_csrf_checks=True)
    moderator.force_login(cast.moderator)
    response = moderator.post("/moderation/enter/", fields([cast.ward_a.pk], action="send"))
    assert response.status_code == 403
    assert not Submission.objects.filter(title="Gentle porters").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"consent_confirmed": None}, "Confirm that the author agreed to publication"),
        ({"consent_given": None}, "Say how the author agreed"),
        ({"consent_given": "a nod"}, "Select a valid choice"),
        ({"route": None}, "Say how the story reached you"),
        ({"route": "web"}, "Select a valid choice"),
        ({"services": []}, "Choose at least one service"),
        ({"services": ["999999"]}, "Choose Alpha Hospitals NHS Trust"),
        ({"what_was_good": "", "how_it_felt": ""}, "at least one box"),
        (
            {"scan": SimpleUploadedFile("form.pdf", b"hello, world", "application/pdf")},
            "The scan must be a PDF, PNG or JPEG file.",
        ),
        (
            {"scan": SimpleUploadedFile("form.pdf", b"%PDF-1.4\ncut short", "application/pdf")},
            "That PDF is incomplete or damaged",
        ),
        (
            {"scan": SimpleUploadedFile("f.png", b"\x89PNG\r\n\x1a\n" + b"x" * 40, "image/png")},
            "That picture is damaged",
        ),
        (
            {
                "scan": SimpleUploadedFile(
                    "big.pdf", b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024) + b"%%EOF", "x/y"
                )
            },
            "Choose a scan under 10 MB.",
        ),
    ],
)
def test_bad_input_gets_a_clear_message_and_a_400_and_nothing_is_stored(
    cast: Cast, media: Path, overrides: dict, message: str
) -> None:
    make_story_taker(cast, cast.org_a, cast.member_a)
    client = staff_client(cast.org_a, cast.member_a.email)
    response = client.post("/stories/enter/", fields([cast.ward_a.pk], **overrides))
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Submission.objects.filter(title="Gentle porters").exists()
    assert not list(media.rglob("*.*"))


def test_a_scan_of_one_organisations_entry_is_never_served_to_anyone_else(
    cast: Cast, media: Path
) -> None:
    make_story_taker(cast, cast.org_a, cast.member_a)
    make_story_taker(cast, cast.org_b, cast.responder_b)
    client = staff_client(cast.org_a, cast.member_a.email)
    scan = jpeg_bytes()
    client.post(
        "/stories/enter/",
        fields([cast.ward_a.pk], scan=SimpleUploadedFile("form.pdf", scan, "application/pdf")),
    )
    submission = Submission.objects.get(title="Gentle porters")
    assert submission.scan.endswith(".jpg")
    url = f"/stories/entered/{submission.pk}/scan/"

    other = staff_client(cast.org_b, cast.responder_b.email)
    assert other.get(url).status_code == 404
    assert other.get("/stories/enter/").content.decode().count("/scan/") == 0
    not_taker = staff_client(cast.org_a, cast.responder_a.email)
    assert not_taker.get(url).status_code == 403
    anonymous = client_for(cast.org_a).get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    hub_anonymous = client_for(None).get(f"/moderation/{submission.pk}/scan/")
    assert hub_anonymous.status_code == 302 and "/admin/login/" in hub_anonymous["Location"]
    # Never through /media/, on the hub or on either workspace.
    for host in (None, cast.org_a, cast.org_b):
        assert client_for(host).get(f"/media/{submission.scan}").status_code == 404
    # A moderator's page is for moderators only.
    assert other.get(f"/moderation/{submission.pk}/scan/").status_code in (302, 403, 404)


def test_a_moderator_enters_a_phone_story_for_any_organisations_service(
    cast: Cast, media: Path
) -> None:
    moderator = moderator_client(cast)
    found = moderator.post("/moderation/enter/", {"q": "Beta Private", "action": "find"})
    assert found.status_code == 200 and "Beta Private Ward" in found.content.decode()
    unknown = moderator.post("/moderation/enter/", fields(["999999"], action="send", route="phone"))
    assert unknown.status_code == 400 and "not in the directory" in unknown.content.decode()
    response = moderator.post(
        "/moderation/enter/",
        fields(
            [cast.ward_b.pk],
            action="send",
            route="phone",
            consent_given="said yes on the phone",
            email="caller@example.net",
        ),
    )
    submission = Submission.objects.get(title="Gentle porters")
    assert response.status_code == 302 and response["Location"] == f"/moderation/{submission.pk}/"
    assert submission.route == "phone" and not submission.staff_entered
    assert submission.entered_by == "Morgan Moderator, Carevoice moderator"
    assert submission.entered_by_organisation_id is None and submission.scan == ""
    assert submission.email == "caller@example.net"
    with schema_context("public"):
        event = AuditEvent.objects.get(action="story.entered_for_someone")
    assert event.actor_id == cast.moderator.pk and event.detail["route"] == "phone"
    assert "porters" not in json.dumps(event.detail) + event.summary
    page = moderator.get(f"/moderation/{submission.pk}/").content.decode()
    assert "They said yes on the phone" in page and "none attached" in page
    assert "Staff-entered" not in page
    assert moderator.get(f"/moderation/{submission.pk}/scan/").status_code == 404
    # Only moderators: a member of an organisation's staff has no hub account.
    stranger = client_for(None).get("/moderation/enter/")
    assert stranger.status_code == 302 and "/admin/login/" in stranger["Location"]


def test_an_administrator_grants_story_taker_audited_and_only_administrators_may(
    cast: Cast, admin_a_client: Client
) -> None:
    response = admin_a_client.post(
        f"/staff/{cast.member_a.pk}/story-taker/", {"is_story_taker": "on"}
    )
    assert response.status_code == 302
    with tenant_context(cast.org_a):
        assert User.objects.get(pk=cast.member_a.pk).is_story_taker
        event = AuditEvent.objects.get(action="staff.story_taker_granted")
        assert event.actor_id == cast.admin_a.pk and event.target_id == str(cast.member_a.pk)
    assert "Story taker" in admin_a_client.get(f"/staff/{cast.member_a.pk}/").content.decode()
    admin_a_client.post(f"/staff/{cast.member_a.pk}/story-taker/", {})
    with tenant_context(cast.org_a):
        assert not User.objects.get(pk=cast.member_a.pk).is_story_taker
        assert AuditEvent.objects.filter(action="staff.story_taker_removed").exists()

    responder = staff_client(cast.org_a, cast.responder_a.email)
    refused = responder.post(f"/staff/{cast.responder_a.pk}/story-taker/", {"is_story_taker": "on"})
    assert refused.status_code == 403
    with tenant_context(cast.org_a):
        assert not User.objects.get(pk=cast.responder_a.pk).is_story_taker


def test_only_the_entering_organisations_copy_is_marked_staff_entered(
    cast: Cast, media: Path
) -> None:
    make_story_taker(cast, cast.org_a, cast.member_a)
    client = staff_client(cast.org_a, cast.member_a.email)
    assert client.post("/stories/enter/", fields([cast.ward_a.pk])).status_code == 302
    submission = Submission.objects.get(title="Gentle porters")
    # The moderator finds it is about Beta's ward too.
    published = publish_submission(
        submission.pk,
        moderator=cast.moderator,
        decision=Decision("mildly critical", [], [cast.ward_a, cast.ward_b]),
    )
    with tenant_context(cast.org_a):
        assert Story.objects.get(public_id=published.public_story.pk).staff_entered
    with tenant_context(cast.org_b):
        assert not Story.objects.get(public_id=published.public_story.pk).staff_entered
