"""The demo's invitations to tell (`manage.py seed_demo`, the "onboarding.tell_invitations"
step registered in onboarding/apps.py): the acute trust's administrator sends one batch by
email (three example.org addresses) and one by text message (an Ofcom drama number, 07700
900xxx, never a real phone), each for one of its services, and one address has opted out.

They go through the product's own operations (onboarding/tell_invitations.py) and are then
sent from the outbox, so the emails land in the configured mail backend (`.data/mail/` under
`make run`) and the text message in SMS_FILE_PATH (`.data/sms/`). Idempotent: a batch of the
demo's service already sent is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django_tenants.utils import schema_context, tenant_context

from onboarding.models import InvitationBatch, InvitationChannel, InvitationSource
from onboarding.tell_invitations import (
    KIND,
    listings_for,
    opt_out,
    opt_out_url,
    read_rows,
    send_invitations,
    tell_url,
)
from tenants.accounts.models import Role, User
from tenants.demo_steps import DemoContext
from tenants.messages import send_message
from tenants.models import Organisation, OutboxMessage, OutboxMessageState

TRUST = "northshire-hospitals"
EMAILS = ("pat.example@example.org", "sam.example@example.org", "jo.example@example.org")
OPTED_OUT = "jo.example@example.org"
MOBILE = "07700 900461"


@dataclass(frozen=True)
class TellInvitationsDemo:
    trust: Organisation | None
    batches: list[InvitationBatch]
    tell_url: str
    opt_out_url: str


def _send(trust: Organisation, admin: User, channel: str, values: tuple[str, ...]) -> None:
    listing = listings_for(trust).first()
    if listing is None:
        return
    recipients = read_rows(list(enumerate(values, start=1)), channel)
    send_invitations(
        organisation=trust,
        listing=listing,
        channel=channel,
        recipients=recipients,
        source=InvitationSource.FORM if len(values) == 1 else InvitationSource.CSV,
        actor=admin,
    )


def seed_tell_invitations_demo(context: DemoContext) -> TellInvitationsDemo:
    trust = Organisation.objects.filter(slug=TRUST).first()
    if trust is None:
        return TellInvitationsDemo(None, [], "", "")
    with tenant_context(trust):
        listing = listings_for(trust).first()
        admin = User.objects.filter(role=Role.ADMINISTRATOR, is_active=True).order_by("pk").first()
        if listing is not None and admin is not None and not InvitationBatch.objects.exists():
            opt_out(trust, OPTED_OUT)
            _send(trust, admin, InvitationChannel.EMAIL, EMAILS)
            _send(trust, admin, InvitationChannel.SMS, (MOBILE,))
        batches = list(InvitationBatch.objects.order_by("created_at", "pk"))
    # Sent now, as a worker would once the batch committed.
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        waiting = OutboxMessage.objects.filter(
            kind=KIND, organisation=trust, state=OutboxMessageState.WAITING
        ).values_list("pk", flat=True)
        for pk in list(waiting):
            send_message(pk)
    return TellInvitationsDemo(
        trust,
        batches,
        tell_url(listing) if listing is not None else "",
        opt_out_url(trust),
    )


def describe_tell_invitations_demo(context: DemoContext) -> list[str]:
    demo: TellInvitationsDemo = context.results["onboarding.tell_invitations"]
    if demo.trust is None or not demo.batches:
        return []
    lines = ["\n  Invitations to tell (email and SMS):"]
    for batch in demo.batches:
        lines.append(
            f"    {demo.trust.name}: {batch.sent_count} sent by {batch.get_channel_display()} "
            f"for {batch.service_name}, {batch.opted_out_count} skipped (opted out); "
            "the addresses are gone, only the counts are kept"
        )
    lines += [
        f"    The link everyone got: {demo.tell_url}",
        f"    Opting out: {demo.opt_out_url}; sending: "
        f"{demo.trust.workspace_url('/invitations/tell/')}",
        f"    Text messages are written to {settings.SMS_FILE_PATH} (SMS_BACKEND file backend)",
    ]
    return lines
