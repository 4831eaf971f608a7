"""Delivering scheduled reports: a row per (schedule, period, recipient) written before any
email, claimed by a conditional update, then handed to the outbox of outgoing email
(tenants/messages.py `enqueue_email`, its PDFs as base64 attachments, keyed by the schema and
the delivery) and marked sent, in one transaction (`tenants.messages.hand_over`). Running
twice writes and sends nothing twice.

A delivery's "sent" means handed to that outbox, which sends the email once, retries a mail
server's refusal with backoff and parks it for platform staff after OUTBOX_MAX_ATTEMPTS (the
hub admin's "Outbox messages": retry or discard).

TRICKY: the row is an outbox of its own too (tenants/outbox.py). A worker that dies between
claiming and handing over leaves the row "sending"; after REPORT_STALE_CLAIM_SECONDS another
run may claim it again, and as the email's key is the delivery's, writes it once.
"""

from __future__ import annotations

from datetime import date

from django.core import signing
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from dashboards.filters import tenant_scope
from dashboards.models import (
    DeliveryMethod,
    ReportDelivery,
    ReportDeliveryState,
    ReportKind,
    ReportSchedule,
    SavedReport,
)
from dashboards.reports import member_packs
from dashboards.reports.committee import committee_pack, committee_pdf
from dashboards.reports.rendering import render_report
from dashboards.reports.scheduling import next_run, period_for, recipients_of
from feedback.service_limits import limit_of_address, limited_services, narrowest
from tenants.gate import Capability, has_capability
from tenants.messages import (
    Attachment,
    binary_attachment,
    enqueue_email,
    hand_over,
    schema_organisation,
)
from tenants.models import Network, Organisation
from tenants.networks import comparable_members
from tenants.outbox import Outbox

LINK_SALT = "carevoice.report-delivery-link"
LINK_MAX_AGE_SECONDS = 60 * 24 * 60 * 60  # 60 days
# A member's committee pack behind a link: its own salt, so a report link can never be
# read as a pack link or the other way round. Same lifetime as the report's link.
PACK_LINK_SALT = "carevoice.report-delivery-pack-link"


def delivery_key(schedule: ReportSchedule, start: date, end: date, recipient: str) -> str:
    return f"{schedule.pk}:{start.isoformat()}:{end.isoformat()}:{recipient.lower()}"[:300]


def record_due(today: date) -> int:
    """Write the deliveries of every schedule due today, once each. Returns how many are new."""
    new = 0
    for schedule in ReportSchedule.objects.filter(active=True, next_run_on__lte=today):
        start, end = period_for(schedule.frequency, today)
        rows = [
            ReportDelivery(
                key=delivery_key(schedule, start, end, recipient),
                schedule=schedule,
                report_name=schedule.report.name,
                period_start=start,
                period_end=end,
                recipient=recipient,
                method=schedule.method,
            )
            for recipient in recipients_of(schedule)
        ]
        # Each consenting member's own pack, to the recipients it chose (member_packs.py).
        rows += member_packs.member_rows(schedule, start, end)
        before = ReportDelivery.objects.filter(key__in=[r.key for r in rows]).count()
        ReportDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        new += len(rows) - before
        ReportSchedule.objects.filter(pk=schedule.pk).update(
            next_run_on=next_run(schedule.frequency, today)
        )
    return new


DELIVERIES = Outbox(
    model=ReportDelivery,
    label="report delivery",
    waiting_states=(ReportDeliveryState.PENDING,),
    claimed_state=ReportDeliveryState.SENDING,
    done_state=ReportDeliveryState.SENT,
    stale_setting="REPORT_STALE_CLAIM_SECONDS",
    error_field="error",
    sent_at_field="sent_at",
)


def claim(delivery_id: int) -> bool:
    return DELIVERIES.claim(delivery_id)


def outbox_key(delivery: ReportDelivery) -> str:
    """The outgoing email's key: one per delivery, in this organisation's schema."""
    return f"report:{connection.schema_name}:{delivery.pk}"


# What the platform's outbox page calls them.
KIND_REPORT = "reports.scheduled_report"
KIND_MEMBER_PACK = "reports.member_pack"


def report_file(delivery: ReportDelivery) -> tuple[str, bytes, str]:
    """(file name, content, content type) of the delivery's report as a PDF, made now. The
    email attachment and the signed link serve this same file.

    It counts only the services the schedule (made by someone limited to some: the limit
    it was made with, and theirs today), and the recipient (an account limited to some,
    feedback/service_limits.py, as it is today) may see: a limited person is never sent,
    nor linked to, other services' figures."""
    schedule = delivery.schedule
    report: SavedReport | None = schedule.report if schedule else None
    service = report.service_id if report else None
    within = narrowest(
        schedule.within if schedule else None,
        # Its maker's limit as it is now: narrowed since, their schedule narrows with it.
        limited_services(schedule.created_by) if schedule and schedule.created_by else None,
        limit_of_address(delivery.recipient),
    )
    scope = tenant_scope(
        connection.tenant.pk,
        start=delivery.period_start.isoformat(),
        end=delivery.period_end.isoformat(),
        service=service,
        criticality=None,
        today=max(delivery.period_end, timezone.localdate()),
        within=within,
    )
    kind = (
        ReportKind.YOU_SAID_WE_DID
        if report is not None and report.kind == ReportKind.YOU_SAID_WE_DID
        else ReportKind.SUMMARY
    )
    rendered = render_report(kind, scope, period_label(delivery), title=delivery.report_name)
    return rendered.as_attachment()


def packs_wanted(delivery: ReportDelivery) -> list[tuple[Network, Organisation]]:
    """(network, member) for each committee pack the delivery carries: for a network lead's
    schedule that asks for them, each consenting member of each network it leads. Asked
    again when a pack's link is followed, so a member that has since left or withdrawn
    consent, or a lead that lost the feature, gets no pack."""
    schedule = delivery.schedule
    lead = connection.tenant
    # A member's own delivery carries its own pack only (member_packs), never the others'.
    if schedule is None or not schedule.network_members or delivery.member_id is not None:
        return []
    # Whole organisations' packs: never to a person limited to some of the lead's services.
    if limit_of_address(delivery.recipient) is not None:
        return []
    if not has_capability(lead, Capability.NETWORK_COMPARISON):
        return []
    return [
        (network, member)
        for network in Network.objects.filter(lead=lead).order_by("name")
        for member in comparable_members(network)
    ]


def pack_file(
    delivery: ReportDelivery, network: Network, member: Organisation
) -> tuple[str, bytes, str]:
    """(file name, content, content type) of one member's committee pack for the period,
    built from public data as the committee pack page is."""
    pack = committee_pack(network, member, delivery.period_start, delivery.period_end)
    name = f"committee-pack-{member.slug}-{delivery.period_start.isoformat()}.pdf"
    return name, committee_pdf(pack), "application/pdf"


def network_packs(delivery: ReportDelivery) -> list[tuple[str, bytes, str]]:
    """Every committee pack the delivery carries, as attachments."""
    return [pack_file(delivery, network, member) for network, member in packs_wanted(delivery)]


def period_label(delivery: ReportDelivery) -> str:
    return f"{delivery.period_start:%-d %b %Y} to {delivery.period_end:%-d %b %Y}"


def make_token(delivery: ReportDelivery) -> str:
    return signing.dumps({"d": delivery.pk, "t": connection.schema_name}, salt=LINK_SALT)


def download_url(delivery: ReportDelivery) -> str:
    return connection.tenant.workspace_url(
        reverse("report_schedules:download", args=[make_token(delivery)])
    )


def make_pack_token(delivery: ReportDelivery, network: Network, member: Organisation) -> str:
    return signing.dumps(
        {"d": delivery.pk, "t": connection.schema_name, "n": network.pk, "m": member.pk},
        salt=PACK_LINK_SALT,
    )


def pack_download_url(delivery: ReportDelivery, network: Network, member: Organisation) -> str:
    return connection.tenant.workspace_url(
        reverse("report_schedules:download_pack", args=[make_pack_token(delivery, network, member)])
    )


def link_email_body(delivery: ReportDelivery) -> str:
    """The links of a LINK delivery: the report's, then one per member's committee pack."""
    body = f"\nDownload it (the link works for 60 days):\n{download_url(delivery)}\n"
    packs = packs_wanted(delivery)
    if packs:
        body += "\nEach consenting member's quality committee pack (the links work for 60 days):\n"
    for network, member in packs:
        body += f"{member.name} ({network.name}): {pack_download_url(delivery, network, member)}\n"
    return body


# On a member's row that may no longer be sent (member_packs.still_wanted), kept on the row.
NOT_WANTED = "Not sent: the member left, withdrew consent or opted out, or chose someone else."


def send_delivery(delivery_id: int) -> bool:
    """Hand the delivery's email to the outbox and mark it sent, if this caller wins the
    claim. Returns whether it was handed over now; a failure (a PDF that cannot be built)
    waits, with its error, for the next run. A member's pack no longer wanted is closed
    unsent, with NOT_WANTED as its error."""
    member_row = (
        ReportDelivery.objects.select_related("schedule__report")
        .filter(pk=delivery_id, member_id__isnull=False)
        .first()
    )
    if member_row is not None and member_packs.still_wanted(member_row) is None:
        if DELIVERIES.claim(delivery_id):
            DELIVERIES.mark_done(delivery_id, error=NOT_WANTED)
        return False
    return hand_over(
        DELIVERIES,
        delivery_id,
        email_delivery,
        rows=ReportDelivery.objects.select_related("schedule__report"),
    )


def _enqueue(
    delivery: ReportDelivery,
    kind: str,
    subject: str,
    body: str,
    files: list[tuple[str, bytes, str]],
) -> None:
    attachments: list[Attachment] = [binary_attachment(*file) for file in files]
    enqueue_email(
        kind=kind,
        key=outbox_key(delivery),
        recipient=delivery.recipient,
        subject=subject,
        text_body=body,
        attachments=attachments,
        organisation=schema_organisation(),
    )


def email_member_pack(delivery: ReportDelivery) -> None:
    """A member's own committee pack, to a recipient the member chose: nothing of any other
    member's, and none of the lead's own report. Written to the outbox."""
    wanted = member_packs.still_wanted(delivery)
    if wanted is None:
        raise ValueError(NOT_WANTED)
    network, member = wanted
    lead = connection.tenant.name
    subject = f"Quality committee pack: {member.name}, from {lead}"
    body = (
        f"{member.name}'s quality committee pack from {lead} ({network.name}), "
        f"for {period_label(delivery)}.\n\n"
        "You receive this because your organisation's administrators chose you to receive "
        f"{lead}'s packs. They can change that, or opt out, in your workspace.\n"
    )
    if delivery.method == DeliveryMethod.LINK:
        url = pack_download_url(delivery, network, member)
        body += f"\nDownload it (the link works for 60 days):\n{url}\n"
        _enqueue(delivery, KIND_MEMBER_PACK, subject, body, [])
        return
    _enqueue(delivery, KIND_MEMBER_PACK, subject, body, [pack_file(delivery, network, member)])


def email_delivery(delivery: ReportDelivery) -> None:
    """Write the delivery's email to the outbox: the report (a PDF, or a link) and any
    committee packs (once per delivery, whatever the calls)."""
    if delivery.member_id is not None:
        email_member_pack(delivery)
        return
    organisation = connection.tenant.name
    body = (
        f"{delivery.report_name}, {organisation}, for {period_label(delivery)}.\n\n"
        "You receive this because the organisation scheduled this report for you.\n"
    )
    subject = f"Report: {delivery.report_name}"
    if delivery.method == DeliveryMethod.LINK:
        body += link_email_body(delivery)
        _enqueue(delivery, KIND_REPORT, subject, body, [])
        return
    files = [report_file(delivery), *network_packs(delivery)]
    _enqueue(delivery, KIND_REPORT, subject, body, files)


def send_pending() -> int:
    waiting = ReportDelivery.objects.filter(DELIVERIES.claimable(timezone.now()))
    return sum(send_delivery(pk) for pk in waiting.values_list("pk", flat=True))


def deliver_due(today: date | None = None) -> int:
    """The hourly work in one organisation: record what is due, send what waits."""
    record_due(today or timezone.localdate())
    return send_pending()


def _signed(token: str, salt: str) -> tuple[int, dict | None]:
    """(status, data) of a link's token signed for this organisation: 200 with the data;
    404 not a link or not this organisation's; 400 altered; 410 expired."""
    if ":" not in token:
        return 404, None
    try:
        data = signing.loads(token, salt=salt, max_age=LINK_MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        return 410, None
    except signing.BadSignature:
        return 400, None
    if not isinstance(data, dict) or data.get("t") != connection.schema_name:
        return 404, None
    return 200, data


def delivery_for_token(token: str) -> tuple[int, ReportDelivery | None]:
    """(status, delivery): 200 with the delivery; 404 not a link or not this organisation's;
    400 altered; 410 expired."""
    status, data = _signed(token, LINK_SALT)
    if data is None:
        return status, None
    delivery = (
        ReportDelivery.objects.select_related("schedule__report")
        .filter(pk=data.get("d"), member_id__isnull=True)  # a member's row has no lead's report
        .first()
    )
    return (200, delivery) if delivery else (404, None)


def pack_for_token(token: str) -> tuple[int, tuple[str, bytes, str] | None]:
    """(status, file) of the member's committee pack behind a pack link, rebuilt now as the
    attachment would be: 200 with the file; 404 not a link, not this organisation's, or the
    member is no longer in the delivery's packs (left, withdrew consent, or the lead lost
    network comparison); 400 altered; 410 expired."""
    status, data = _signed(token, PACK_LINK_SALT)
    if data is None:
        return status, None
    delivery = (
        ReportDelivery.objects.select_related("schedule__report").filter(pk=data.get("d")).first()
    )
    if delivery is None:
        return 404, None
    if delivery.member_id is not None:
        wanted = member_packs.still_wanted(delivery)
        if wanted is None or (wanted[0].pk, wanted[1].pk) != (data.get("n"), data.get("m")):
            return 404, None
        return 200, pack_file(delivery, *wanted)
    for network, member in packs_wanted(delivery):
        if (network.pk, member.pk) == (data.get("n"), data.get("m")):
            return 200, pack_file(delivery, network, member)
    return 404, None
