"""A network's You said, we did on the lead's own website, in a real browser: the lead lists
its site on the Widget page, the site carries the script tag from the lead's workspace, and
the frame shows the change a consenting member made, from the hub."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django_tenants.utils import schema_context, tenant_context
from playwright.sync_api import Page, expect

from feedback.choices import ChangeStatus
from feedback.models import Story
from feedback.responding import Draft, publish_response
from tenants.audit.models import AuditEvent
from tenants.models import OutboxMessage
from tenants.networks import accept_invitation, create_network, invite_organisation
from tests.browser.conftest import LiveSite, PageProblems
from tests.browser.widget_fixtures import TrustSite, embed_widget_on, trust_site
from tests.conftest import Cast

__all__ = ["embed_widget_on", "trust_site"]  # fixtures, used by name below

CHANGE = "Browser probe: a second car park opened <b>in March</b>"


def test_the_network_embed_shows_members_changes_on_the_leads_own_site(
    cast: Cast,
    live_site: LiveSite,
    trust_site: TrustSite,
    embed_widget_on: Callable[[str], None],
    publish_story: Callable[..., Any],
    page: Page,
    page_problems: PageProblems,
) -> None:
    network = create_network(lead=cast.org_a, name="Browser YSWD Network")
    membership = invite_organisation(network, cast.org_b)
    outbox_before = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first()
    try:
        accept_invitation(membership, benchmarking_consent=True)
        published = publish_story([cast.ward_b], title="Browser probe: nowhere to park")
        with tenant_context(cast.org_b):
            publish_response(
                Story.objects.get(public_id=published.public_story.pk),
                Draft(
                    "Thank you: we heard how hard parking was and opened a second car park.",
                    ChangeStatus.MADE,
                    CHANGE,
                ),
                responder=cast.responder_b,
                written_by=cast.responder_b,
            )
        embed_widget_on(trust_site.host)
        # The lead's page carries the snippet its workspace gives.
        trust_site.html = (
            "<!doctype html><html lang='en-GB'><head><meta charset='utf-8'>"
            "<title>Northshire ICB: quality report</title></head><body>"
            "<h1>Our quality report</h1>"
            f'<script src="{live_site.hub_url}/networks/{network.slug}/you-said-we-did.js">'
            "</script></body></html>"
        )
        page.goto(trust_site.url)
        expect(page.get_by_role("heading", name="Our quality report")).to_be_visible()
        frame = page.frame_locator("iframe[title='You said, we did: Browser YSWD Network']")
        expect(frame.get_by_role("heading", name="You said, we did")).to_be_visible()
        expect(frame.get_by_role("link", name=cast.org_b.name)).to_be_visible()
        expect(frame.get_by_text(CHANGE, exact=False)).to_be_visible()
        expect(frame.get_by_role("link", name="Browser probe: nowhere to park")).to_have_attribute(
            "target", "_blank"
        )
        assert page.url == trust_site.url
        assert page.context.cookies() == []
        page_problems.assert_none()
    finally:
        OutboxMessage.objects.filter(pk__gt=outbox_before or 0).delete()
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            AuditEvent.objects.filter(
                target_type__in=["tenants.network", "tenants.networkmembership"],
                target_id__in=[str(network.pk), str(membership.pk)],
            ).delete()
            network.delete()
