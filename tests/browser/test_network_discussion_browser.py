"""The network's path in a real browser: a member's story is published and the lead's
network rule alerts the lead's responder; the alert's link opens the story in the lead's
network inbox, the lead writes on it, the member's staff read it on their own story page and
reply, and the lead reads the reply; each note emails the other side through the outbox."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django_tenants.utils import schema_context, tenant_context
from playwright.sync_api import Browser, Page, expect

from alerts import network_alerts
from alerts.models import AlertDelivery, AlertRule, Frequency, NetworkEvaluation, Scope
from alerts.receivers import queue_network_alerts
from feedback.models import Story
from feedback.signals import story_published
from tenants import messages
from tenants.audit.models import AuditEvent
from tenants.models import OutboxMessage
from tenants.networks import accept_invitation, create_network, invite_organisation
from tests.browser.conftest import (
    DEFAULT_TIMEOUT_MS,
    LiveSite,
    PageProblems,
    _forget_sessions,
    browser_sign_in,
    watch_page,
)
from tests.conftest import Cast

NOTE = "Browser probe: has the discharge delay been raised with the ward? <b>not bold</b>"
REPLY = "Browser probe: yes, medicines are now prepared the evening before."


def test_a_member_story_alerts_the_lead_who_writes_on_it_and_the_provider_replies(
    cast: Cast,
    live_site: LiveSite,
    page: Page,
    page_problems: PageProblems,
    chromium: Browser,
    publish_story: Callable[..., Any],
    artefacts_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The notes' emails stay waiting in the outbox, where their recipients can be read: a
    # worker left running by an earlier test would send them and erase the addresses.
    monkeypatch.setattr(messages, "queue_send", lambda pk, **_: None)
    network = create_network(lead=cast.org_a, name="Browser Discussion Network")
    membership = invite_organisation(network, cast.org_b)
    provider_context = chromium.new_context(viewport={"width": 1280, "height": 900})
    provider_context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    # The network alert is worked out here, as the worker would, not queued to the broker.
    story_published.disconnect(queue_network_alerts)
    public_id = 0
    try:
        accept_invitation(membership, benchmarking_consent=True)
        with tenant_context(cast.org_a):
            rule = AlertRule.objects.create(
                name="Browser probe: members' stories",
                scope=Scope.NETWORK,
                owner=cast.admin_a,
                frequency=Frequency.INSTANT,
            )
            rule.recipients.add(cast.responder_a)
        published = publish_story([cast.ward_b], title="Browser probe: a wait for discharge")
        public_id = published.public_story.pk
        with tenant_context(cast.org_b):
            story_pk = Story.objects.get(public_id=public_id).pk
        alpha, beta = live_site.url_for(cast.org_a), live_site.url_for(cast.org_b)

        # The member's story reaches the lead's responder as a network alert.
        with tenant_context(cast.org_a):
            assert network_alerts.evaluate_network_story(public_id) == 1
        # Handed to the outbox (held there: its send is not queued in this test).
        (alert,) = [
            m
            for m in OutboxMessage.objects.filter(
                organisation=cast.org_a, kind__startswith="alerts."
            )
            if m.recipient == cast.responder_a.email and "Browser probe: a wait" in m.text_body
        ]
        assert cast.org_b.name in alert.text_body
        link = re.search(r"https?://\S+/network/stories/\d+/", alert.text_body)
        assert link, alert.text_body
        path = urlsplit(link.group(0)).path
        assert path == f"/network/stories/{public_id}/"

        # The alert's link opens the story in the lead's network inbox; from there, the
        # discussion with the member. The lead's responder writes to the member.
        browser_sign_in(page, alpha, cast.responder_a.email)
        page.goto(f"{alpha}{path}")
        expect(page.get_by_text("Browser probe: a wait for discharge").first).to_be_visible()
        page.get_by_role("link", name="discussion with the member").click()
        page.wait_for_url(f"**/network/stories/{public_id}/discussion/")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Browser probe: a wait for discharge"
        )
        page.get_by_label(f"Write to {cast.org_b.name}").fill(NOTE)
        page.get_by_role("button", name="Send note").click()
        expect(page.get_by_text(f"Your note is in. {cast.org_b.name} is told.")).to_be_visible()
        expect(page.locator(".network-note")).to_contain_text(NOTE)  # as text, escaped
        to_beta = OutboxMessage.objects.filter(
            kind="feedback.network_discussion_note", organisation=cast.org_b
        )
        assert sorted(to_beta.values_list("recipient", flat=True)) == sorted(
            [cast.admin_b.email, cast.responder_b.email]
        )

        # The provider's responder reads it on its own story page and replies.
        provider = watch_page(provider_context.new_page(), page_problems)
        browser_sign_in(provider, beta, cast.responder_b.email)
        provider.goto(f"{beta}/stories/{story_pk}/")
        panel = provider.locator("#network-discussion")
        expect(panel.get_by_role("heading", name="Network discussion")).to_be_visible()
        expect(panel).to_contain_text(NOTE)
        expect(panel).to_contain_text(f"Rita Responder · {cast.org_a.name}")
        panel.get_by_label(f"Write to {cast.org_a.name}").fill(REPLY)
        panel.get_by_role("button", name="Send note").click()
        expect(provider.get_by_text(f"Your note is in. {cast.org_a.name} is told.")).to_be_visible()
        expect(provider.locator("#network-discussion")).to_contain_text(REPLY)
        assert (
            OutboxMessage.objects.filter(
                kind="feedback.network_discussion_note", organisation=cast.org_a
            ).count()
            == 2
        )

        # The lead reads the reply, named.
        page.reload()
        expect(page.locator(".network-thread")).to_contain_text(REPLY)
        expect(page.locator(".network-thread")).to_contain_text("Bea Responder")
        page.screenshot(path=artefacts_dir / "network-discussion-lead.png", full_page=True)
        page_problems.assert_none()
    finally:
        story_published.connect(queue_network_alerts)
        with tenant_context(cast.org_a):
            AlertDelivery.objects.filter(public_story_id=public_id).delete()
            NetworkEvaluation.objects.filter(public_story_id=public_id).delete()
            AlertRule.objects.filter(name="Browser probe: members' stories").delete()
        sessions = [
            c for c in provider_context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME
        ]
        provider_context.close()
        _forget_sessions(sessions)
        OutboxMessage.objects.filter(kind="feedback.network_discussion_note").delete()
        for organisation in (cast.org_a, cast.org_b):
            with tenant_context(organisation):
                AuditEvent.objects.filter(action="network.discussion_noted").delete()
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            AuditEvent.objects.filter(
                target_type__in=["tenants.network", "tenants.networkmembership"],
                target_id__in=[str(network.pk), str(membership.pk)],
            ).delete()
            network.delete()  # its memberships and notes with it
