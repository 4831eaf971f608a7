"""The onboarding checklist on the workspace home: worked out from what the organisation has
really done, never ticked by hand. It disappears once every step is done.

Steps and what counts as done:
- services added: at least one service.
- staff invited: an invitation sent, or more than one staff account.
- safeguarding contacts named: at least one active account is a safeguarding contact.
- an alert rule configured: a rule other than the one provisioning made, or that first rule
  changed in any way (name, recipients, scope, threshold, frequency, or paused). Saving it
  unchanged does not count: it would still be only the default.
- the widget embedded: the hub has received a story through the organisation's widget.
- first response published.
- training: someone from the organisation attended a session (recorded by platform staff);
  a booked place shows as under way until then.

Runs inside the organisation's schema during a request. TRICKY: the public tables it reads
(submissions, training bookings) are on every tenant's search path, so it reads them without
switching schema: the home page keeps its single `SET search_path`
(tests/tenants/test_routing.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from alerts.models import AlertRule, Frequency
from feedback.choices import Criticality, SubmissionRoute
from feedback.hub.models import Submission
from feedback.models import Response, Service
from onboarding.models import Invitation
from onboarding.training.models import Booking, BookingState
from tenants.accounts.models import User
from tenants.models import Organisation

DEFAULT_RULE_NAME = "Strongly and severely critical stories"


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    done: bool
    # What has happened so far, or what to do next.
    detail: str
    # Where to do it ("" when nothing to link), and whether only administrators can.
    url_name: str = ""
    for_administrators: bool = True
    under_way: bool = False


@dataclass(frozen=True)
class Checklist:
    steps: list[Step]

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def is_complete(self) -> bool:
        return all(step.done for step in self.steps)


def is_default_rule(rule: AlertRule) -> bool:
    """Whether `rule` is still exactly the rule provisioning gives a new organisation."""
    return (
        rule.name == DEFAULT_RULE_NAME
        and rule.is_active
        and rule.min_criticality == Criticality.STRONGLY_CRITICAL
        and rule.frequency == Frequency.INSTANT
        and not rule.words
        and not rule.extra_addresses
        and not rule.services.exists()
        and not rule.tags.exists()
        and list(rule.recipients.values_list("pk", flat=True)) == [rule.owner_id]
    )


def has_configured_alerts() -> bool:
    rules = list(AlertRule.objects.order_by("pk")[:2])
    if not rules:
        return False
    return len(rules) > 1 or not is_default_rule(rules[0])


def onboarding_checklist(organisation: Organisation) -> Checklist:
    services = Service.objects.count()
    staff = User.objects.filter(is_active=True).count()
    invitations = Invitation.objects.count()
    widget_story = Submission.objects.filter(
        route=SubmissionRoute.WIDGET, services__organisation_id=organisation.pk
    ).exists()
    responses = Response.objects.count()
    safeguarding_contacts = User.objects.filter(
        is_active=True, is_safeguarding_contact=True
    ).count()
    alerts_done = has_configured_alerts()
    bookings = Booking.objects.filter(organisation_id=organisation.pk).exclude(
        state=BookingState.CANCELLED
    )
    attended = bookings.filter(attended=True).count()
    next_booked = (
        bookings.filter(state=BookingState.BOOKED, session__starts_at__gt=timezone.now())
        .select_related("session")
        .order_by("session__starts_at")
        .first()
    )
    steps = [
        Step(
            "services",
            "Add your services",
            services > 0,
            f"{services} service{'s' if services != 1 else ''} listed."
            if services
            else "List your sites and services (or import them from a CSV file), so people "
            "can choose them when they tell their story.",
            "onboarding:import_services",
        ),
        Step(
            "staff",
            "Invite your staff",
            invitations > 0 or staff > 1,
            f"{staff} staff accounts, {invitations} invitation{'s' if invitations != 1 else ''}"
            " sent."
            if invitations or staff > 1
            else "Invite the colleagues who will read and answer stories.",
            "onboarding:staff_invitations",
        ),
        Step(
            "safeguarding",
            "Name your safeguarding contacts",
            safeguarding_contacts > 0,
            f"{safeguarding_contacts} safeguarding contact"
            f"{'s' if safeguarding_contacts != 1 else ''} named."
            if safeguarding_contacts
            else "Choose who is alerted at once when a story raises a safeguarding concern "
            "(open a member of staff and tick “Safeguarding contact”).",
            "workspace:staff_list",
        ),
        Step(
            "alerts",
            "Set up alerts",
            alerts_done,
            "Alert rules are set up."
            if alerts_done
            else "Only the starting rule exists: decide who hears about which stories.",
            "alerts:rules",
            for_administrators=False,
        ),
        Step(
            "widget",
            "Embed the widget on your website",
            widget_story,
            "A story has arrived through your widget."
            if widget_story
            else "Add the widget to your website; this is ticked when the first story "
            "arrives through it.",
            "feedback:widget_settings",
        ),
        Step(
            "response",
            "Publish your first response",
            responses > 0,
            f"{responses} response{'s' if responses != 1 else ''} published."
            if responses
            else "Answer a story in public, by name.",
            "feedback:stories",
            for_administrators=False,
        ),
        Step(
            "training",
            "Take part in training",
            attended > 0,
            f"{attended} of your staff attended training."
            if attended
            else (
                f"Booked: {next_booked.session.title}, "
                f"{timezone.localtime(next_booked.session.starts_at):%d %B %Y}."
                if next_booked
                else "Book a place on a training session."
            ),
            "onboarding:training",
            for_administrators=False,
            under_way=attended == 0 and next_booked is not None,
        ),
    ]
    return Checklist(steps)
