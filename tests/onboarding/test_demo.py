"""The onboarding part of seed_demo: training with a waiting list, invitations waiting, a
checklist part done; the same after running it again."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from onboarding.checklist import onboarding_checklist
from onboarding.demo import INVITED_EMAIL, SECOND_NETWORK
from onboarding.models import Invitation
from onboarding.training.models import Booking, BookingState, TrainingSession
from tenants.models import MembershipStatus, NetworkInvitation, NetworkMembership, Organisation

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    return out.getvalue()


def _state() -> tuple[int, ...]:
    trust = Organisation.objects.get(slug="northshire-hospitals")
    with tenant_context(trust):
        invitations = Invitation.objects.count()
    return (
        TrainingSession.objects.count(),
        Booking.objects.count(),
        NetworkMembership.objects.count(),
        NetworkInvitation.objects.count(),
        invitations,
    )


def test_the_demo_shows_onboarding_part_done_and_is_idempotent() -> None:
    output = _seed()
    assert "Onboarding:" in output and "/admin/training/" in output

    sessions = list(TrainingSession.objects.order_by("starts_at"))
    assert len(sessions) == 3
    full = sessions[0]
    states = list(full.bookings.values_list("state", flat=True))
    assert states.count(BookingState.BOOKED) == full.capacity
    assert states.count(BookingState.WAITING) == 2
    nearly = sessions[1]
    assert nearly.bookings.filter(state=BookingState.BOOKED).count() == nearly.capacity - 1

    trust = Organisation.objects.get(slug="northshire-hospitals")
    with tenant_context(trust):
        assert Invitation.objects.get(email=INVITED_EMAIL).is_open
        checklist = onboarding_checklist(trust)
    assert 0 < checklist.done_count < len(checklist.steps)
    training = next(step for step in checklist.steps if step.key == "training")
    assert training.under_way and not training.done

    membership = NetworkMembership.objects.get(network__name=SECOND_NETWORK, organisation=trust)
    assert membership.status == MembershipStatus.INVITED
    assert NetworkInvitation.objects.filter(network__name=SECOND_NETWORK).get().is_open

    before = _state()
    _seed()
    assert _state() == before
