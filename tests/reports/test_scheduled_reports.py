"""Saved report settings, schedules and their delivery: once per period and recipient, only
to the organisation's staff and email domains, signed links bound to one organisation."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
from django.core import mail, signing
from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context
from pypdf import PdfReader

from billing.models import Subscription, SubscriptionStatus
from dashboards.models import (
    DeliveryMethod,
    Frequency,
    ReportDelivery,
    ReportDeliveryState,
    ReportKind,
    ReportSchedule,
    SavedReport,
)
from dashboards.reports import delivering
from dashboards.reports.scheduling import allowed_recipient
from feedback.choices import ChangeStatus
from feedback.models import Response
from tenants.audit.models import AuditEvent
from tenants.messages import send_due_messages
from tenants.models import NetworkMembership, Organisation, OutboxMessage
from tenants.networks import (
    accept_invitation,
    create_network,
    invite_organisation,
    leave_network,
    set_benchmarking_consent,
)
from tests.conftest import Cast, client_for, sign_in
from tests.outbox_mail import sent_mail
from tests.reports.test_reports import publish, respond

pytestmark = pytest.mark.django_db

RUN = date(2026, 3, 1)


@pytest.fixture
def domains(cast: Cast) -> Iterator[None]:
    cast.org_a.email_domains = ["alpha.example"]
    cast.org_a.save(update_fields=["email_domains"])
    yield
    cast.org_a.email_domains = []


def signed_in(cast: Cast, who: str) -> Client:
    user = getattr(cast, who)
    organisation = cast.org_b if who.endswith("_b") else cast.org_a
    client = client_for(organisation)
    assert sign_in(client, user.email).status_code == 302
    return client


def schedule_for(
    cast: Cast, recipients: list[str], method: str = DeliveryMethod.ATTACHMENT
) -> ReportSchedule:
    report = SavedReport.objects.create(name="Board pack", kind=ReportKind.SUMMARY, months=2)
    return ReportSchedule.objects.create(
        report=report,
        frequency=Frequency.BIMONTHLY,
        method=method,
        recipients=recipients,
        next_run_on=RUN,
    )


def test_running_twice_for_one_period_sends_one_email_per_recipient(
    cast: Cast, domains: None
) -> None:
    with tenant_context(cast.org_a):
        schedule = schedule_for(cast, [cast.admin_a.email, "board@alpha.example"])
        assert delivering.deliver_due(RUN) == 2
        assert delivering.deliver_due(RUN) == 0
        # Even when the schedule is made due again for the same period.
        ReportSchedule.objects.filter(pk=schedule.pk).update(next_run_on=RUN)
        assert delivering.deliver_due(RUN + timedelta(days=3)) == 0
        rows = list(ReportDelivery.objects.order_by("recipient"))
        schedule.refresh_from_db()
    assert sorted(m.to for m in sent_mail()) == [[cast.admin_a.email], ["board@alpha.example"]]
    assert all(r.state == ReportDeliveryState.SENT for r in rows)
    assert {(r.period_start, r.period_end) for r in rows} == {(date(2026, 1, 1), date(2026, 2, 28))}
    assert schedule.next_run_on == date(2026, 5, 1)
    name, content, kind = sent_mail()[0].attachments[0]
    assert name.startswith("stories-summary-2026-01-01-2026-02-28")
    assert kind == "application/pdf" and content.startswith(b"%PDF")


def test_the_next_period_is_delivered_at_its_run(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        schedule_for(cast, [cast.admin_a.email])
        delivering.deliver_due(RUN)
        assert delivering.deliver_due(date(2026, 4, 30)) == 0
        assert delivering.deliver_due(date(2026, 5, 1)) == 1
        periods = sorted(ReportDelivery.objects.values_list("period_start", flat=True))
    assert periods == [date(2026, 1, 1), date(2026, 3, 1)]


def test_a_stale_claim_is_sent_again_and_a_fresh_one_is_not(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        schedule_for(cast, [cast.admin_a.email])
        delivering.record_due(RUN)
        delivery = ReportDelivery.objects.get()
        assert delivering.claim(delivery.pk)
        assert delivering.send_pending() == 0  # claimed by a worker still working
        ReportDelivery.objects.filter(pk=delivery.pk).update(
            claimed_at=timezone.now() - timedelta(hours=1)
        )
        assert delivering.send_pending() == 1
    assert len(sent_mail()) == 1


def test_a_failed_send_waits_and_is_retried(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        schedule_for(cast, [cast.admin_a.email])
        # The report cannot be built: the delivery waits with the error, and no email is
        # written (the outbox's row rolls back with the failed hand-over).
        with mock.patch.object(delivering, "render_report", side_effect=OSError("disk full")):
            assert delivering.deliver_due(RUN) == 0
        delivery = ReportDelivery.objects.get()
        assert (delivery.state, delivery.error) == (ReportDeliveryState.PENDING, "disk full")
        assert not OutboxMessage.objects.filter(key=delivering.outbox_key(delivery)).exists()
        assert delivering.deliver_due(RUN) == 1
        delivery.refresh_from_db()
        assert (delivery.state, delivery.error) == (ReportDeliveryState.SENT, "")
        message = OutboxMessage.objects.get(key=delivering.outbox_key(delivery))
    # The mail server is down: the email waits in the outbox, tried again once due.
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=OSError("down")):
        assert send_due_messages() == 0
    message.refresh_from_db()
    assert (message.state, message.attempts, message.last_error) == ("waiting", 1, "down")
    assert message.next_attempt_at > timezone.now() and mail.outbox == []
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert len(sent_mail()) == 1


def test_recipients_are_staff_or_in_the_email_domains(cast: Cast, domains: None) -> None:
    with tenant_context(cast.org_a):
        assert allowed_recipient(cast.member_a.email)
        assert allowed_recipient("Someone@Alpha.Example")
        assert not allowed_recipient(cast.admin_b.email)  # staff of another organisation
        assert not allowed_recipient("someone@elsewhere.example")
        assert not allowed_recipient("no-at-sign")
        # Addresses that stopped being allowed since the schedule was made get nothing.
        schedule_for(cast, [cast.admin_a.email, "left@elsewhere.example", cast.admin_b.email])
        delivering.deliver_due(RUN)
    assert [m.to for m in sent_mail()] == [[cast.admin_a.email]]


def test_the_schedule_form_refuses_outside_addresses(cast: Cast, domains: None) -> None:
    admin = signed_in(cast, "admin_a")
    with tenant_context(cast.org_a):
        report = SavedReport.objects.create(name="Pack", months=1)
    data = {"report": report.pk, "frequency": 2, "method": "link"}
    refused = admin.post("/reports/schedules/", {**data, "recipients": "x@elsewhere.example"})
    assert refused.status_code == 400
    assert "x@elsewhere.example" in refused.content.decode()
    ok = admin.post(
        "/reports/schedules/", {**data, "recipients": f"{cast.member_a.email}\nb@alpha.example"}
    )
    assert ok.status_code == 302
    with tenant_context(cast.org_a):
        schedule = ReportSchedule.objects.get()
        assert schedule.recipients == [cast.member_a.email, "b@alpha.example"]
        assert schedule.next_run_on.day == 1
        assert AuditEvent.objects.filter(action="reports.scheduled").exists()
    assert signed_in(cast, "member_a").get("/reports/schedules/").status_code == 403


def link_of(message: mail.EmailMessage) -> str:
    line = next(x for x in message.body.splitlines() if "/reports/download/" in x)
    return line[line.index("/reports/download/") :]


def test_a_signed_link_downloads_the_report_without_signing_in(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        schedule_for(cast, [cast.admin_a.email], method=DeliveryMethod.LINK)
        delivering.deliver_due(RUN)
    (message,) = sent_mail()
    assert not message.attachments
    path = link_of(message)
    response = client_for(cast.org_a).get(path)
    assert response.status_code == 200
    assert "2026-01-01-2026-02-28" in response["Content-Disposition"]
    token = path.split("/")[3]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    refused = client_for(cast.org_a).get(f"/reports/download/{tampered}/")
    assert refused.status_code == 400
    assert "changed or cut short" in refused.content.decode()
    # The same link on another organisation's workspace finds nothing.
    assert client_for(cast.org_b).get(path).status_code == 404
    assert client_for(cast.org_a).get("/reports/download/not-a-link/").status_code == 404


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_you_said_we_did_is_delivered_as_a_pdf_attached_or_behind_a_link(cast: Cast) -> None:
    made = publish(cast, criticality="strongly critical", title="Cold food on the ward")
    response = respond(cast, made, ChangeStatus.MADE, "Meals now come hot")
    with tenant_context(cast.org_a):
        Response.objects.filter(pk=response.pk).update(
            published_at=datetime(2026, 1, 15, 12, tzinfo=UTC)
        )
        report = SavedReport.objects.create(
            name="Changes", kind=ReportKind.YOU_SAID_WE_DID, months=2
        )
        for method in (DeliveryMethod.ATTACHMENT, DeliveryMethod.LINK):
            ReportSchedule.objects.create(
                report=report,
                frequency=Frequency.BIMONTHLY,
                method=method,
                recipients=[cast.admin_a.email],
                next_run_on=RUN,
            )
        assert delivering.deliver_due(RUN) == 2
    reports = [m for m in sent_mail() if m.subject == "Report: Changes"]  # not the author's
    attached, linked = sorted(reports, key=lambda message: len(message.attachments))[::-1]
    ((name, content, kind),) = attached.attachments
    assert (name, kind) == ("you-said-we-did-2026-01-01-2026-02-28.pdf", "application/pdf")
    text = pdf_text(content)
    assert "Changes" in text and "1 changes made" in text
    assert "Cold food on the ward" in text and "Meals now come hot" in text
    assert not linked.attachments
    download = client_for(cast.org_a).get(link_of(linked))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert "you-said-we-did-2026-01-01-2026-02-28.pdf" in download["Content-Disposition"]
    assert "Meals now come hot" in pdf_text(download.content)


def test_an_expired_link_says_so(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        schedule_for(cast, [cast.admin_a.email], method=DeliveryMethod.LINK)
        delivering.deliver_due(RUN)
    path = link_of(sent_mail()[0])
    with mock.patch.object(signing, "time") as clock:
        import time

        clock.time.return_value = time.time() + delivering.LINK_MAX_AGE_SECONDS + 60
        response = client_for(cast.org_a).get(path)
    assert response.status_code == 410
    assert "expired" in response.content.decode()


def test_a_link_signed_for_another_organisation_is_not_found(cast: Cast) -> None:
    with tenant_context(cast.org_b):
        token = signing.dumps({"d": 1, "t": cast.org_b.schema_name}, salt=delivering.LINK_SALT)
    assert client_for(cast.org_a).get(f"/reports/download/{token}/").status_code == 404


def test_a_write_whose_audit_row_fails_is_not_kept(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The change and its audit row are one transaction: no audit, no change."""
    member = signed_in(cast, "responder_a")
    assert member.post("/reports/saved/", {"name": "Kept", "kind": "summary", "months": "3"})
    with tenant_context(cast.org_a):
        report = SavedReport.objects.get(name="Kept")

    def failing(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit unavailable")

    monkeypatch.setattr("dashboards.reports.scheduling.record_audit", failing)
    monkeypatch.setattr("dashboards.reports.saved_reports.record_audit", failing)
    with pytest.raises(RuntimeError):
        member.post(f"/reports/saved/{report.pk}/delete/")
    with pytest.raises(RuntimeError):
        member.post("/reports/saved/", {"name": "Lost", "kind": "summary", "months": "3"})
    with tenant_context(cast.org_a):
        assert SavedReport.objects.filter(pk=report.pk).exists()
        assert not SavedReport.objects.filter(name="Lost").exists()


def test_saved_settings_round_trip(cast: Cast) -> None:
    member = signed_in(cast, "responder_a")
    response = member.post(
        "/reports/saved/", {"name": "Quarter <b>", "kind": "summary", "months": "3"}
    )
    assert response.status_code == 302
    page = member.get("/reports/saved/").content.decode()
    assert "Quarter &lt;b&gt;" in page and "Quarter <b>" not in page
    with tenant_context(cast.org_a):
        report = SavedReport.objects.get()
    opened = member.get(f"/reports/saved/{report.pk}/")
    assert opened.status_code == 302
    assert opened["Location"].startswith("/reports/?start=")
    assert member.get(opened["Location"]).status_code == 200
    fixed = member.post(
        "/reports/saved/",
        {"name": "Changes", "kind": "you-said-we-did", "start": "2026-01-01", "end": "2026-02-01"},
    )
    assert fixed.status_code == 302
    with tenant_context(cast.org_a):
        changes = SavedReport.objects.get(name="Changes")
    location = member.get(f"/reports/saved/{changes.pk}/")["Location"]
    assert location == "/reports/you-said-we-did/?start=2026-01-01&end=2026-02-01"
    assert member.post("/reports/saved/", {"name": "Neither", "kind": "summary"}).status_code == 400
    assert member.post(f"/reports/saved/{report.pk}/delete/").status_code == 302
    with tenant_context(cast.org_a):
        assert not SavedReport.objects.filter(pk=report.pk).exists()
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"reports.saved", "reports.opened", "reports.deleted"} <= actions


def test_the_outbox_lists_sent_and_waiting_deliveries(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        schedule_for(cast, [cast.admin_a.email, cast.member_a.email])
        delivering.record_due(RUN)
        delivering.send_delivery(ReportDelivery.objects.order_by("pk").first().pk)
    page = signed_in(cast, "admin_a").get("/reports/outbox/").content.decode()
    # One handed to the outbox, whose worker has not sent it yet; one not yet handed over.
    assert "Being sent" in page and "Waiting" in page and cast.member_a.email in page
    sent_mail()
    page = signed_in(cast, "admin_a").get("/reports/outbox/").content.decode()
    assert "Sent " in page and "Being sent" not in page


def test_another_organisation_sees_none_of_it(cast: Cast) -> None:
    with tenant_context(cast.org_a):
        schedule = schedule_for(cast, [cast.admin_a.email])
        delivering.record_due(RUN)
    admin_b = signed_in(cast, "admin_b")
    for path in ("/reports/saved/", "/reports/schedules/", "/reports/outbox/"):
        response = admin_b.get(path)
        assert response.status_code == 200
        assert "Board pack" not in response.content.decode()
        assert cast.admin_a.email not in response.content.decode()
    assert admin_b.get(f"/reports/saved/{schedule.report_id}/").status_code == 404
    assert admin_b.post(f"/reports/schedules/{schedule.pk}/delete/").status_code == 404
    assert admin_b.post(f"/reports/saved/{schedule.report_id}/delete/").status_code == 404
    with tenant_context(cast.org_a):
        assert ReportSchedule.objects.filter(pk=schedule.pk).exists()


def test_a_network_lead_gets_each_consenting_members_committee_pack(cast: Cast) -> None:
    network = create_network(lead=cast.org_a, name="Reports Test Network")
    membership = invite_organisation(network, cast.org_b)
    accept_invitation(membership, benchmarking_consent=True)
    with tenant_context(cast.org_a):
        schedule = schedule_for(cast, [cast.admin_a.email])
        ReportSchedule.objects.filter(pk=schedule.pk).update(network_members=True)
        delivering.deliver_due(RUN)
    names = [name for name, _, _ in sent_mail()[0].attachments]
    assert names[0].startswith("stories-summary-")
    assert names[1:] == [f"committee-pack-{cast.org_b.slug}-2026-01-01.pdf"]


def test_only_a_network_lead_may_ask_for_members_packs(cast: Cast) -> None:
    create_network(lead=cast.org_a, name="Reports Test Network")
    with tenant_context(cast.org_b):
        report = SavedReport.objects.create(name="Pack", months=1)
    data = {"report": report.pk, "frequency": 1, "method": "attachment"}
    admin_b = signed_in(cast, "admin_b")
    refused = admin_b.post(
        "/reports/schedules/",
        {**data, "recipients": cast.admin_b.email, "network_members": "on"},
    )
    assert refused.status_code == 400
    assert "does not lead a network" in refused.content.decode()


def pack_links(message: mail.EmailMessage) -> dict[str, str]:
    """Provider name: path of its committee pack link, from a LINK delivery's email."""
    links = {}
    for line in message.body.splitlines():
        if "/pack/" in line:
            name, url = line.split(": ", 1)
            links[name.split(" (")[0]] = url[url.index("/reports/download/") :]
    return links


@pytest.fixture
def network_link_sent(cast: Cast) -> NetworkMembership:
    """A's network: B consents to comparison, Gamma (a row only) joined without consenting.
    A's LINK schedule asks for members' packs and is delivered; returns B's membership."""
    network = create_network(lead=cast.org_a, name="Reports Test Network")
    membership = invite_organisation(network, cast.org_b)
    accept_invitation(membership, benchmarking_consent=True)
    gamma = Organisation.objects.create(
        name="Gamma Hospice", slug="gamma-hospice", schema_name="gamma_hospice", kind="hospice"
    )
    accept_invitation(invite_organisation(network, gamma), benchmarking_consent=False)
    with tenant_context(cast.org_a):
        schedule = schedule_for(cast, [cast.admin_a.email], method=DeliveryMethod.LINK)
        ReportSchedule.objects.filter(pk=schedule.pk).update(network_members=True)
        delivering.deliver_due(RUN)
    return membership


def test_a_link_delivery_links_each_consenting_members_committee_pack(
    cast: Cast, network_link_sent: NetworkMembership
) -> None:
    (message,) = sent_mail()
    assert not message.attachments
    links = pack_links(message)
    assert list(links) == [cast.org_b.name]
    assert "Gamma Hospice" not in message.body
    # The report's own link is still first and still works.
    assert "/pack/" not in link_of(message)
    assert client_for(cast.org_a).get(link_of(message)).status_code == 200
    download = client_for(cast.org_a).get(links[cast.org_b.name])
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    expected = f"committee-pack-{cast.org_b.slug}-2026-01-01.pdf"
    assert expected in download["Content-Disposition"]
    text = pdf_text(download.content)
    assert f"Quality committee pack: {cast.org_b.name}" in text
    assert "Reports Test Network" in text


def test_a_pack_link_is_bound_to_the_lead_and_refuses_altered_or_expired_tokens(
    cast: Cast, network_link_sent: NetworkMembership
) -> None:
    path = pack_links(sent_mail()[0])[cast.org_b.name]
    token = path.split("/")[3]
    assert client_for(cast.org_b).get(path).status_code == 404
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    refused = client_for(cast.org_a).get(f"/reports/download/{tampered}/pack/")
    assert refused.status_code == 400
    assert "changed or cut short" in refused.content.decode()
    # Each kind of link has its own salt: the report's token opens no pack, and back.
    report_token = link_of(sent_mail()[0]).split("/")[3]
    assert client_for(cast.org_a).get(f"/reports/download/{report_token}/pack/").status_code == 400
    assert client_for(cast.org_a).get(f"/reports/download/{token}/").status_code == 400
    with mock.patch.object(signing, "time") as clock:
        import time

        clock.time.return_value = time.time() + delivering.LINK_MAX_AGE_SECONDS + 60
        assert client_for(cast.org_a).get(path).status_code == 410


def test_a_pack_link_for_another_organisations_delivery_is_not_found(cast: Cast) -> None:
    with tenant_context(cast.org_b):
        token = signing.dumps(
            {"d": 1, "t": cast.org_b.schema_name, "n": 1, "m": cast.org_a.pk},
            salt=delivering.PACK_LINK_SALT,
        )
    assert client_for(cast.org_a).get(f"/reports/download/{token}/pack/").status_code == 404


def test_a_pack_link_finds_nothing_once_the_member_is_no_longer_comparable(
    cast: Cast, network_link_sent: NetworkMembership
) -> None:
    path = pack_links(sent_mail()[0])[cast.org_b.name]
    set_benchmarking_consent(network_link_sent, False)
    refused = client_for(cast.org_a).get(path)
    assert refused.status_code == 404
    assert cast.org_b.name not in refused.content.decode()
    assert "no committee pack at this link" in refused.content.decode()
    set_benchmarking_consent(network_link_sent, True)
    assert client_for(cast.org_a).get(path).status_code == 200
    leave_network(network_link_sent)
    assert client_for(cast.org_a).get(path).status_code == 404


def test_a_pack_link_finds_nothing_once_the_lead_loses_network_comparison(
    cast: Cast, network_link_sent: NetworkMembership
) -> None:
    path = pack_links(sent_mail()[0])[cast.org_b.name]
    Subscription.objects.create(
        reference="organisation:reports-test",
        organisation=cast.org_a,
        plan="essentials",  # no network comparison
        status=SubscriptionStatus.ACTIVE,
    )
    assert client_for(cast.org_a).get(path).status_code == 404
    # The report itself is still there.
    assert client_for(cast.org_a).get(link_of(sent_mail()[0])).status_code == 200
