"""Service-level permissions in the browser: a service administrator of A's ward invites a
new responder to the ward through the invitation form (the ward ticked, the clinic not
offered), sees the ward's staff and switches an account off; a limited responder's menu
offers only what they may open. Each page passes the accessibility audit."""

from __future__ import annotations

from django_tenants.utils import tenant_context
from playwright.sync_api import Page, expect

from feedback.models import Service
from feedback.service_limits import set_limit
from onboarding.models import Invitation
from tenants.accounts.models import User
from tests.browser.conftest import LiveSite, PageProblems, browser_sign_in
from tests.browser.test_accessibility import Audit
from tests.conftest import Cast


def test_a_service_administrator_invites_to_their_ward_and_switches_an_account_off(
    cast: Cast, live_site: LiveSite, page: Page, page_problems: PageProblems
) -> None:
    with tenant_context(cast.org_a):
        ward = Service.objects.get(pk=cast.ward_a.service_id)
        set_limit(cast.responder_a, [ward], actor=cast.admin_a)
        set_limit(cast.member_a, [ward], actor=cast.admin_a, manages=True)
    alpha = live_site.url_for(cast.org_a)
    audit = Audit()

    browser_sign_in(page, alpha, cast.member_a.email)
    menu = page.locator("nav")
    expect(menu.get_by_role("link", name="Invite staff")).to_be_visible()
    expect(menu.get_by_role("link", name="Services", exact=True)).to_have_count(0)

    with page.expect_navigation():
        menu.get_by_role("link", name="Invite staff").click()
    expect(page.get_by_label(cast.clinic_a.name)).to_have_count(0)
    audit.check(page, "inviting staff, as a service administrator")
    page.get_by_label("Email address").fill("wren@alpha.example")
    page.get_by_label("Role").select_option("responder")
    page.get_by_label(cast.ward_a.name).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to wren@alpha.example")).to_be_visible()
    with tenant_context(cast.org_a):
        assert Invitation.objects.get(email="wren@alpha.example").limited_to == [ward.pk]

    page.goto(f"{alpha}/services/limits/")
    audit.check(page, "the ward's staff")
    with page.expect_navigation():
        page.get_by_role("link", name=cast.responder_a.full_name).click()
    audit.check(page, "one of the ward's staff")
    with page.expect_navigation():
        page.get_by_role("button", name="Switch their account off").click()
    expect(page.get_by_text("account is off")).to_be_visible()
    with tenant_context(cast.org_a):
        assert not User.objects.get(pk=cast.responder_a.pk).is_active

    audit.report()
    page_problems.assert_none()
