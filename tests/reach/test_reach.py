"""Leaflets, posters, the paper form, campaign codes and waiting-room screens (issue #18,
feedback/reach): the QR code decoded from the PDF opens the story form with the service
chosen, the story it brings is counted for its campaign, and a screen link shows only
published, positive stories until it is revoked."""

from __future__ import annotations

import re
from io import BytesIO
from urllib.parse import parse_qs, urlsplit

import pypdfium2
import pytest
import segno
import zxingcpp
from django.test import Client
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from feedback.choices import ChangeStatus
from feedback.hub.models import Submission
from feedback.models import Story
from feedback.reach.campaigns import campaign_counts, tell_url
from feedback.reach.models import Campaign, DisplayScreen, SubmissionCampaign
from feedback.responding import Draft, publish_response
from tenants.audit.models import AuditEvent
from tenants.models import Organisation, OrganisationStatus
from tests.conftest import Cast, client_for, sign_in, tell_and_publish

pytestmark = pytest.mark.django_db

STORY = {
    "action": "send",
    "title": "The leaflet brought me here",
    "what_was_good": "The nurses on the ward were kind and explained everything to me.",
    "what_could_be_improved": "The wait for a bed was long.",
    "how_it_felt": "Reassured.",
    "author_role": "patient",
    "author_age_group": "55-64",
    "consent": "on",
}
REPLY = (
    "Thank you for telling us how kind the nurses on Alpha Ward One were; I have shared your "
    "story with the whole team. We have added a discharge coordinator so beds free up earlier "
    "in the day. Rita Responder, Ward Manager"
)


def signed_in(organisation: Organisation, email: str) -> Client:
    client = client_for(organisation)
    assert sign_in(client, email).status_code == 302
    return client


def decode_qr(pdf: bytes) -> str:
    """Render the PDF's first page and read its QR code with zxing-cpp."""
    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=3).to_pil()
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1, found
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    return found[0].text


def audited(organisation: Organisation, action: str) -> int:
    with tenant_context(organisation):
        return AuditEvent.objects.filter(action=action).count()


@pytest.mark.parametrize("printed", ["leaflet", "poster", "paper-form"])
def test_the_qr_code_on_the_pdf_opens_the_form_with_the_service_and_counts_the_story(
    cast: Cast, printed: str
) -> None:
    staff = signed_in(cast.org_a, cast.responder_a.email)
    response = staff.get(f"/reach/{printed}.pdf?service={cast.clinic_a.pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert audited(cast.org_a, "reach.downloaded") == 1

    link = urlsplit(decode_qr(pdf))
    assert link.path == "/tell/"
    query = parse_qs(link.query)
    assert query["service"] == [str(cast.clinic_a.pk)]
    (code,) = query["campaign"]
    campaign = Campaign.objects.get(code=code)
    assert campaign.organisation == cast.org_a and campaign.service == cast.clinic_a
    assert campaign.created_by == cast.responder_a.email
    # Vector: the code is drawn, not pasted in as a picture.
    reader = PdfReader(BytesIO(pdf))
    assert not list(reader.pages[0].images)

    author = client_for(None)
    form = author.get(f"{link.path}?{link.query}")
    assert form.status_code == 200
    page = form.content.decode()
    assert re.search(rf'name="services" value="{cast.clinic_a.pk}"[^>]*checked', page)
    assert f'name="campaign" value="{code}"' in page
    # The form posts back to where it came from, carrying the code in its hidden field too.
    sent = author.post("/tell/", {**STORY, "services": [cast.clinic_a.pk], "campaign": code})
    assert sent.status_code == 302, sent.content.decode()[-2000:]
    submission = Submission.objects.get(title=STORY["title"])
    assert SubmissionCampaign.objects.get(submission=submission).campaign == campaign

    (row,) = campaign_counts(cast.org_a.pk)
    assert (row.campaign, row.received, row.published) == (campaign, 1, 0)
    listing = staff.get("/reach/").content.decode()
    assert "Stories by leaflet or poster" in listing and code in listing


def test_the_paper_form_has_the_three_prompts_and_the_consent_wording(cast: Cast) -> None:
    staff = signed_in(cast.org_a, cast.responder_a.email)
    pdf = staff.get(f"/reach/paper-form.pdf?service={cast.ward_a.pk}").content
    text = PdfReader(BytesIO(pdf)).pages[0].extract_text()
    for prompt in ("What was good?", "What could have been improved?", "How did it make you feel?"):
        assert prompt in text
    assert "I agree: my story may be published" in text
    assert "Freepost" in text


def test_downloading_again_reuses_the_code_and_the_whole_organisation_has_its_own(
    cast: Cast,
) -> None:
    staff = signed_in(cast.org_a, cast.responder_a.email)
    first = decode_qr(staff.get(f"/reach/poster.pdf?service={cast.ward_a.pk}").content)
    again = decode_qr(staff.get(f"/reach/poster.pdf?service={cast.ward_a.pk}").content)
    assert first == again
    whole = urlsplit(decode_qr(staff.get("/reach/poster.pdf").content))
    assert "service" not in parse_qs(whole.query)
    assert Campaign.objects.filter(organisation=cast.org_a).count() == 2
    assert audited(cast.org_a, "reach.downloaded") == 3


def test_who_may_download_and_for_which_services(cast: Cast) -> None:
    member = signed_in(cast.org_a, cast.member_a.email)
    assert member.get("/reach/leaflet.pdf").status_code == 403
    assert member.get("/reach/").status_code == 403
    staff = signed_in(cast.org_a, cast.responder_a.email)
    # Another organisation's service, a malformed id, an unknown printed thing: 404.
    assert staff.get(f"/reach/leaflet.pdf?service={cast.ward_b.pk}").status_code == 404
    assert staff.get("/reach/leaflet.pdf?service=12x").status_code == 404
    assert staff.get("/reach/flyer.pdf").status_code == 404
    assert staff.post("/reach/leaflet.pdf").status_code == 405
    assert not Campaign.objects.exists()
    assert audited(cast.org_a, "reach.downloaded") == 0


@pytest.mark.parametrize("code", ["", "nonsense", "ZZZZZZZZ", "'; drop", "ÄBCDEFGH", "A" * 500])
def test_an_unknown_or_malformed_code_is_ignored(cast: Cast, code: str) -> None:
    author = client_for(None)
    assert author.get("/tell/", {"service": cast.ward_a.pk, "campaign": code}).status_code == 200
    sent = author.post("/tell/", {**STORY, "services": [cast.ward_a.pk], "campaign": code})
    assert sent.status_code == 302
    assert Submission.objects.filter(title=STORY["title"]).exists()
    assert not SubmissionCampaign.objects.exists()


def test_a_code_on_a_story_about_another_organisation_counts_for_nobody(cast: Cast) -> None:
    staff = signed_in(cast.org_a, cast.responder_a.email)
    link = urlsplit(decode_qr(staff.get("/reach/leaflet.pdf").content))
    code = parse_qs(link.query)["campaign"][0]
    sent = client_for(None).post(
        "/tell/", {**STORY, "services": [cast.ward_b.pk], "campaign": code}
    )
    assert sent.status_code == 302
    assert not SubmissionCampaign.objects.exists()


def test_organisation_b_never_sees_a_campaigns_or_counts(cast: Cast) -> None:
    staff_a = signed_in(cast.org_a, cast.responder_a.email)
    code = parse_qs(
        urlsplit(
            decode_qr(staff_a.get(f"/reach/leaflet.pdf?service={cast.ward_a.pk}").content)
        ).query
    )["campaign"][0]
    client_for(None).post("/tell/", {**STORY, "services": [cast.ward_a.pk], "campaign": code})
    assert SubmissionCampaign.objects.count() == 1

    staff_b = signed_in(cast.org_b, cast.responder_b.email)
    page = staff_b.get("/reach/").content.decode()
    assert code not in page and "Alpha Ward One" not in page
    assert "Nothing printed yet." in page
    assert campaign_counts(cast.org_b.pk) == []
    # B's own leaflet gets its own code, counted only for B.
    staff_b.get(f"/reach/leaflet.pdf?service={cast.ward_b.pk}")
    (row,) = campaign_counts(cast.org_b.pk)
    assert row.campaign.code != code and row.received == 0


def test_the_period_filter_and_a_bad_period(cast: Cast) -> None:
    staff = signed_in(cast.org_a, cast.responder_a.email)
    assert staff.get("/reach/", {"since": "2020-01-01", "until": "2020-01-31"}).status_code == 200
    bad = staff.get("/reach/", {"since": "2020-02-01", "until": "2020-01-01"})
    assert bad.status_code == 400
    assert "before its start" in bad.content.decode()
    assert staff.get("/reach/", {"since": "not a date"}).status_code == 400


# --- waiting-room screens ------------------------------------------------------------------


def make_screen(client: Client, **fields: object) -> str:
    response = client.post("/reach/screens/", {"name": "Main entrance", **fields})
    assert response.status_code == 200, response.content.decode()[-2000:]
    (url,) = re.findall(r'<code class="secret">([^<]+)</code>', response.content.decode())
    return urlsplit(url).path


def _published_with_reply(cast: Cast, criticality: str, title: str) -> int:
    published = tell_and_publish(cast, [cast.ward_a], criticality=criticality, title=title)
    with tenant_context(cast.org_a):
        story = Story.objects.get(public_id=published.public_story.pk)
        publish_response(
            story,
            Draft(REPLY, ChangeStatus.MADE, "A discharge coordinator on Alpha Ward One"),
            responder=cast.responder_a,
            written_by=cast.responder_a,
        )
    return published.public_story.pk


def test_a_screen_shows_positive_published_stories_with_their_response_and_change(
    cast: Cast, admin_a_client: Client
) -> None:
    _published_with_reply(cast, "not critical", "Kind <b>nurses</b> <script>x()</script>")
    tell_and_publish(cast, [cast.ward_a], criticality="severely critical", title="Left alone")
    client_for(None).post("/tell/", {**STORY, "services": [cast.ward_a.pk], "title": "Waiting"})

    path = make_screen(admin_a_client, service=cast.ward_a.pk)
    assert audited(cast.org_a, "display_screen.created") == 1
    screen = DisplayScreen.objects.get()
    assert screen.service == cast.ward_a and path.split("/")[-2] not in screen.token_hash
    # The link is shown once: the workspace page lists the screen but never its link.
    assert path not in admin_a_client.get("/reach/").content.decode()

    response = client_for(None).get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert "&lt;script&gt;x()&lt;/script&gt;" in page and "<script>" not in page
    assert "Rita Responder" in page and "A discharge coordinator on Alpha Ward One" in page
    assert "Left alone" not in page and "Waiting" not in page
    # It moves on by itself: a static script reloads it after data-refresh seconds.
    assert re.search(r'<body class="display-screen" data-refresh="\d+">', page)
    assert re.search(r'<script src="/static/reach/screen\.js" defer></script>', page)
    assert 'http-equiv="refresh"' not in page
    assert "<svg" in page
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]


def test_revoked_wrong_and_misplaced_tokens_and_suspended_organisations_get_404(
    cast: Cast, admin_a_client: Client
) -> None:
    path = make_screen(admin_a_client)
    hub = client_for(None)
    assert hub.get(path).status_code == 200
    token = path.split("/")[-2]
    assert hub.get(f"/o/{cast.org_b.slug}/display/{token}/").status_code == 404
    assert hub.get(f"/o/{cast.org_a.slug}/display/{token[:-1]}x/").status_code == 404
    assert hub.get(f"/o/{cast.org_a.slug}/display/short/").status_code == 404

    Organisation.objects.filter(pk=cast.org_a.pk).update(status=OrganisationStatus.SUSPENDED)
    try:
        assert hub.get(path).status_code == 404
    finally:
        Organisation.objects.filter(pk=cast.org_a.pk).update(status=OrganisationStatus.ACTIVE)
    assert hub.get(path).status_code == 200

    screen = DisplayScreen.objects.get()
    # Only an administrator revokes, and only their own organisation's screens.
    responder = signed_in(cast.org_a, cast.responder_a.email)
    assert responder.post(f"/reach/screens/{screen.pk}/revoke/").status_code == 403
    admin_b = signed_in(cast.org_b, cast.admin_b.email)
    assert admin_b.post(f"/reach/screens/{screen.pk}/revoke/").status_code == 404
    assert hub.get(path).status_code == 200
    assert admin_a_client.post(f"/reach/screens/{screen.pk}/revoke/").status_code == 302
    assert audited(cast.org_a, "display_screen.revoked") == 1
    wrong = hub.get(f"/o/{cast.org_a.slug}/display/{'x' * 43}/")
    revoked = hub.get(path)
    assert revoked.status_code == wrong.status_code == 404
    assert revoked.content == wrong.content


def test_only_administrators_make_screens_and_bad_input_is_a_400(
    cast: Cast, admin_a_client: Client
) -> None:
    responder = signed_in(cast.org_a, cast.responder_a.email)
    assert responder.post("/reach/screens/", {"name": "Lobby"}).status_code == 403
    assert admin_a_client.post("/reach/screens/", {"name": ""}).status_code == 400
    foreign = admin_a_client.post("/reach/screens/", {"name": "X", "service": cast.ward_b.pk})
    assert foreign.status_code == 400
    assert not DisplayScreen.objects.exists()
    assert audited(cast.org_a, "display_screen.created") == 0


def test_a_screen_of_a_shows_nothing_of_b(cast: Cast, admin_a_client: Client) -> None:
    published = tell_and_publish(cast, [cast.ward_b], criticality="not critical", title="Beta joy")
    assert published.public_story.pk
    path = make_screen(admin_a_client)
    page = client_for(None).get(path).content.decode()
    assert "Beta joy" not in page
    assert "will appear here" in page
    admin_b = signed_in(cast.org_b, cast.admin_b.email)
    assert "Main entrance" not in admin_b.get("/reach/").content.decode()


def test_the_screen_qr_opens_the_form_with_its_campaign(cast: Cast, admin_a_client: Client) -> None:
    path = make_screen(admin_a_client, service=cast.clinic_a.pk)
    page = client_for(None).get(path).content.decode()
    campaign = Campaign.objects.get(kind="display screen")
    assert campaign.service == cast.clinic_a
    link = tell_url(campaign)
    assert f"?service={cast.clinic_a.pk}&campaign={campaign.code}" in link
    # The inline SVG is that link's QR code, module for module.
    expected = segno.make(link, error="m").svg_inline(scale=6, omitsize=True)
    assert re.search(r'\sd="([^"]+)"', expected).group(1) in page
