"""The onboarding checklist follows what the organisation has really done."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from alerts.models import AlertRule, Frequency
from alerts.rules import save_rule
from feedback.hub.models import ServiceListing
from feedback.models import Service, Story
from feedback.responding import Draft, publish_response
from feedback.sites_and_services import create_site, save_service
from onboarding.checklist import onboarding_checklist
from onboarding.invitations import invite_staff
from onboarding.training.booking import book_place, record_attendance
from onboarding.training.models import Audience, TrainingSession
from tenants.accounts.models import User
from tenants.provisioning import provision_organisation
from tenants.staff import set_safeguarding_contact
from tests.conftest import PASSWORD, Cast, client_for, sign_in, tell, tell_and_publish

pytestmark = pytest.mark.django_db


def done(organisation) -> dict[str, bool]:  # noqa: ANN001
    with tenant_context(organisation):
        return {step.key: step.done for step in onboarding_checklist(organisation).steps}


def test_each_step_is_ticked_by_the_real_thing_and_the_list_goes_when_complete(
    cast: Cast,
) -> None:
    organisation = provision_organisation(
        name="Delta Community Trust",
        slug="delta-checklist",
        kind="community trust",
        admin_email="admin@delta.example",
        admin_name="Dee Admin",
        admin_password=PASSWORD,
    ).organisation
    client = client_for(organisation)
    sign_in(client, "admin@delta.example")
    home = client.get("/").content.decode()
    assert "Getting started: 0 of 7 done" in home
    assert 'href="/services/import/"' in home
    assert not any(done(organisation).values())

    with tenant_context(organisation):
        admin = User.objects.get(email="admin@delta.example")
        site = create_site(name="Delta Health Centre", actor=admin)
        service = save_service(
            Service(site=site, name="Delta District Nurses", type="community team"), actor=admin
        )
    assert done(organisation)["services"]

    with tenant_context(organisation):
        invite_staff(email="new@delta.example", role="responder", actor=admin)
    assert done(organisation)["staff"]

    assert not done(organisation)["safeguarding"]
    with tenant_context(organisation):
        set_safeguarding_contact(admin, True, actor=admin)
    assert done(organisation)["safeguarding"]

    assert not done(organisation)["alerts"]  # the starting rule alone
    with tenant_context(organisation):
        rule = AlertRule.objects.get()
        save_rule(rule, actor=admin)  # saved unchanged: still the default
    assert not done(organisation)["alerts"]
    with tenant_context(organisation):
        rule.frequency = Frequency.DAILY
        save_rule(rule, actor=admin)
    assert done(organisation)["alerts"]

    with schema_context("public"):
        listing = ServiceListing.objects.get(organisation=organisation, service_id=service.pk)
    tell([listing], route="web")
    assert not done(organisation)["widget"]
    tell([listing], route="widget")
    assert done(organisation)["widget"]

    tell_and_publish(cast, [listing], title="Lovely nurses")
    assert not done(organisation)["response"]
    with tenant_context(organisation):
        story = Story.objects.get(title="Lovely nurses")
        publish_response(
            story,
            Draft("Thank you for telling us about the district nurses. Dee, Patient Experience"),
            responder=admin,
            written_by=admin,
        )
    assert done(organisation)["response"]

    with schema_context("public"):
        session = TrainingSession.objects.create(
            title="Getting started with Carevoice",
            audience=Audience.ADMINISTRATORS,
            starts_at=timezone.now() + timezone.timedelta(days=2),
            capacity=10,
            place="Online",
        )
        booking = book_place(
            session.pk, organisation=organisation, email=admin.email, full_name=admin.full_name
        )
    home = client.get("/").content.decode()
    assert "Getting started: 6 of 7 done" in home
    assert "Booked: Getting started with Carevoice" in home
    assert not done(organisation)["training"]
    with schema_context("public"):
        record_attendance(booking, True, actor=None)
    assert all(done(organisation).values())
    home = client.get("/").content.decode()
    assert "Getting started" not in home


def test_a_second_staff_account_counts_as_staff_invited(cast: Cast) -> None:
    assert done(cast.org_b)["staff"]  # admin and responder


def test_administrators_get_links_and_members_see_what_is_left(
    cast: Cast, admin_a_client: object
) -> None:
    assert not done(cast.org_a)["widget"]
    member = client_for(cast.org_a)
    sign_in(member, cast.member_a.email)
    body = member.get("/").content.decode()
    assert "Embed the widget on your website" in body
    assert 'href="/widget/"' not in body  # an administrator's job
    assert 'href="/training/"' in body
    assert 'href="/widget/"' in admin_a_client.get("/").content.decode()
