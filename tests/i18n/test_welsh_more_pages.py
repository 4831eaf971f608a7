"""The public pages added to Welsh after the first pass (issue #18): the error pages,
/pricing/, You said, we did (an organisation's, a network's and its embed and script) and
the widget's script. Each is served in Welsh to a visitor who asks for it."""

from __future__ import annotations

import pytest

from dashboards.reports.public import set_published
from feedback.choices import ChangeStatus
from tenants.networks import create_network
from tests.conftest import Cast, client_for
from tests.i18n.test_welsh import html_lang
from tests.reports.test_reports import publish, respond

pytestmark = pytest.mark.django_db

WELSH = {"HTTP_ACCEPT_LANGUAGE": "cy"}


def test_the_not_found_page_is_in_welsh(cast: Cast) -> None:
    response = client_for(None).get("/no-such-page/", **WELSH)
    body = response.content.decode()
    assert response.status_code == 404 and html_lang(body) == "cy"
    assert "Heb ddod o hyd i'r dudalen" in body.replace("&#x27;", "'")
    assert "Page not found" not in body
    english = client_for(None).get("/no-such-page/").content.decode()
    assert "Page not found" in english


def test_pricing_is_in_welsh(cast: Cast) -> None:
    body = client_for(None).get("/pricing/", **WELSH).content.decode()
    assert html_lang(body) == "cy"
    assert "<h1>Cynlluniau a phrisiau</h1>" in body
    assert "Meddygfa, hosbis neu gartref gofal" in body and "y mis, neu" in body
    assert "a month" not in body and "A GP practice" not in body


def test_an_organisations_you_said_we_did_is_in_welsh(cast: Cast) -> None:
    made = publish(cast, title="Call bells")
    respond(cast, made, ChangeStatus.MADE, "Call bells fixed on every bay")
    set_published(cast.org_a, publish=True)
    hub = client_for(None)
    body = hub.get(f"/organisations/{cast.org_a.slug}/you-said-we-did/", **WELSH).content.decode()
    assert html_lang(body) == "cy"
    assert "<h1>Dywedoch chi, gwnaethom ni</h1>" in body
    assert "Dywedoch chi:" in body and "Gwnaethom ni:" in body
    assert "Call bells fixed on every bay" in body  # the organisation's own words, as written
    assert "You said:" not in body
    # The link to it on the organisation's page, too.
    page = hub.get(f"/organisations/{cast.org_a.slug}/", **WELSH).content.decode()
    assert "Dywedoch chi, gwnaethom ni" in page


def test_a_networks_page_embed_and_script_are_in_welsh(cast: Cast) -> None:
    network = create_network(lead=cast.org_a, name="Rhwydwaith y Gogledd", description="")
    hub = client_for(None)
    page = hub.get(f"/networks/{network.slug}/you-said-we-did/", **WELSH).content.decode()
    assert html_lang(page) == "cy"
    assert "Dywedoch chi, gwnaethom ni: Rhwydwaith y Gogledd" in page
    assert "Dangos y cyfnod hwn" in page and "Show this period" not in page
    assert "Nid oes yr un o aelodau" in page
    embed = hub.get(f"/networks/{network.slug}/you-said-we-did/embed/", **WELSH)
    assert "<h1>Dywedoch chi, gwnaethom ni</h1>" in embed.content.decode()
    bad = hub.get(f"/networks/{network.slug}/you-said-we-did/?end=2999-01-01", **WELSH)
    assert bad.status_code == 400
    assert "Ni all y cyfnod ddod i ben ar ôl heddiw." in bad.content.decode()
    script = hub.get(f"/networks/{network.slug}/you-said-we-did.js", **WELSH).content.decode()
    assert "Dywedoch chi, gwnaethom ni: Rhwydwaith y Gogledd" in script


def test_the_widget_scripts_frame_is_titled_in_welsh(cast: Cast) -> None:
    path = f"/o/{cast.org_a.slug}/widget.js"
    assert 'frame.title = "Straeon Carevoice"' in (
        client_for(None).get(path, **WELSH).content.decode()
    )
    assert 'frame.title = "Carevoice stories"' in client_for(None).get(path).content.decode()
