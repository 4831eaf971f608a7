"""The onboarding panel on the workspace home (tenants/templates/tenants/home.html includes
onboarding/_home.html, which asks for it here)."""

from __future__ import annotations

from django import template

from onboarding.checklist import onboarding_checklist
from onboarding.network_invitations import waiting_email_invitations, waiting_memberships
from tenants.accounts.models import Role

register = template.Library()


@register.simple_tag(takes_context=True)
def onboarding_panel(context: template.Context) -> dict[str, object]:
    request = context["request"]
    organisation = request.tenant
    is_admin = request.user.has_role(Role.ADMINISTRATOR)
    checklist = onboarding_checklist(organisation)
    invitations = 0
    if is_admin:
        invitations = (
            waiting_memberships(organisation).count()
            + waiting_email_invitations(organisation).count()
        )
    steps = [
        (step, bool(step.url_name) and not step.done and (is_admin or not step.for_administrators))
        for step in checklist.steps
    ]
    return {"checklist": checklist, "steps": steps, "network_invitations": invitations}
