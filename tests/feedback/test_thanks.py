"""Thanks passed on to the staff a story names (feedback/thanks.py): the moderator's
suggestions from the organisation's staff directory, the thank-you through the outbox to the
person or their service's manager once the story is published (never anything about its
author), the counts per service and person, and turning the emails off."""

from __future__ import annotations

import time

import pytest
from django.core import mail, signing
from django.test import Client
from django_tenants.utils import tenant_context

from feedback import pii, thanks
from feedback.hub.models import Submission, SubmissionState
from feedback.models import Service, StaffMember, Thanks, ThanksRoute
from tenants.audit.models import AuditEvent
from tenants.messages import send_message
from tenants.models import Organisation, OutboxMessage
from tests.conftest import AUTHOR_EMAIL, AUTHOR_POSTCODE, Cast, client_for, sign_in, tell

pytestmark = pytest.mark.django_db

PRAISE = "Sarah on the ward was wonderful, and Dr Patel explained everything so clearly."


@pytest.fixture
def directory(cast: Cast, monkeypatch: pytest.MonkeyPatch) -> dict[str, StaffMember]:
    """A's directory: Sarah Jones (nurse, the ward, her own address), Raj Patel (consultant,
    the clinic, no address: the clinic's manager is A's admin), Sarah Green (another Sarah,
    no services); B's: a Sarah of its own."""
    domain = f"{cast.org_a.slug}.example"
    Organisation.objects.filter(pk=cast.org_a.pk).update(email_domains=[domain])
    monkeypatch.setattr(cast.org_a, "email_domains", [domain])
    people = {}
    with tenant_context(cast.org_a):
        ward = Service.objects.get(pk=cast.ward_a.service_id)
        clinic = Service.objects.get(pk=cast.clinic_a.service_id)
        clinic.manager = cast.admin_a
        clinic.save()
        people["sarah"] = StaffMember.objects.create(
            full_name="Sarah Jones", job_title="Staff Nurse", email=f"sarah.jones@{domain}"
        )
        people["sarah"].services.set([ward])
        people["raj"] = StaffMember.objects.create(full_name="Raj Patel", job_title="Consultant")
        people["raj"].services.set([clinic])
        people["green"] = StaffMember.objects.create(full_name="Sarah Green", job_title="Porter")
    with tenant_context(cast.org_b):
        people["b_sarah"] = StaffMember.objects.create(
            full_name="Sarah Brown", job_title="Staff Nurse"
        )
    return people


def moderator(cast: Cast) -> Client:
    client = client_for(None)
    assert sign_in(client, cast.moderator.email).status_code == 302
    return client


def publish_form(cast: Cast, thank: list[str], criticality: str = "not critical") -> dict:
    return {
        "action": "publish",
        "title": "Wonderful care",
        "what_was_good": PRAISE,
        "criticality": criticality,
        "services": [cast.ward_a.pk, cast.clinic_a.pk],
        "details_checked": "on",
        "thank": thank,
    }


def key(cast: Cast, entry: StaffMember) -> str:
    return f"{cast.org_a.pk}:{entry.pk}"


def test_names_are_matched_to_the_directory_best_first() -> None:
    people = [
        thanks.Person(1, 1, "Sarah Jones", "Staff Nurse", (10,), ("ward 7",)),
        thanks.Person(1, 2, "Raj Patel", "Consultant Cardiologist", (11,), ("clinic",)),
        thanks.Person(1, 3, "Sarah Green", "Porter", (), ()),
        thanks.Person(1, 4, "Tom Reed", "Physiotherapist", (), ()),
    ]
    text = PRAISE + " Nurse Jones too. Tom Reed got me walking."
    named = thanks.named_people([text])
    found = {
        (p.full_name, written): (strength, reason)
        for p, written, strength, reason in thanks.match(people, named, text, {10})
    }
    assert found[("Tom Reed", "Tom Reed")][0] == thanks.STRONG
    assert found[("Raj Patel", "Dr Patel")][0] == thanks.LIKELY  # a doctor's title fits
    # "Sarah" with the ward the story is about: Sarah Jones; Sarah Green, a weaker match for
    # the same name, is left out.
    assert found[("Sarah Jones", "Sarah")] == (
        thanks.LIKELY,
        "first name, and works in a service of the story",
    )
    assert ("Sarah Green", "Sarah") not in found
    # Without the ward, both Sarahs are possible.
    elsewhere = {
        p.full_name: strength
        for p, _, strength, _ in thanks.match(
            people, thanks.named_people(["Sarah was kind."]), "", set()
        )
    }
    assert elsewhere == {"Sarah Jones": thanks.POSSIBLE, "Sarah Green": thanks.POSSIBLE}
    # Nobody is matched on a word that is not a name the detector found.
    assert thanks.match(people, thanks.named_people(["The ward was clean."]), "", {10}) == []
    # A first name or a surname shared by many is not suggested on its own...
    many = [thanks.Person(1, n, f"Sarah Smith{n % 2 or ''}", "Porter", (n,), ()) for n in range(8)]
    assert thanks.match(many, thanks.named_people(["Sarah was kind."]), "", set()) == []
    assert thanks.match(many, thanks.named_people(["Mr Smith was kind."]), "", set()) == []
    # ... unless the story's service singles one out.
    [(person, _, strength, _)] = thanks.match(
        many, thanks.named_people(["Sarah was kind."]), "", {3}
    )
    assert person.pk == 3 and strength == thanks.LIKELY


def test_the_moderator_sees_suggestions_from_the_organisations_own_directory(
    cast: Cast, directory: dict[str, StaffMember]
) -> None:
    submission_id = tell([cast.ward_a], title="Wonderful care", what_was_good=PRAISE)
    page = moderator(cast).get(f"/moderation/{submission_id}/").content.decode()
    assert "Pass thanks on to the staff it names" in page
    assert f'name="thank" value="{key(cast, directory["sarah"])}"' in page
    assert f'name="thank" value="{key(cast, directory["raj"])}"' in page
    assert "reaches them by email" in page
    assert "reaches them through" in page and "manager" in page
    # B's Sarah is not suggested for a story about A only.
    assert "Sarah Brown" not in page
    # No names, no suggestions.
    plain = tell([cast.ward_a], title="Clean ward", what_was_good="The ward was clean.")
    assert "Pass thanks on" not in moderator(cast).get(f"/moderation/{plain}/").content.decode()


def test_publishing_passes_thanks_on_to_the_person_and_to_a_managers(
    cast: Cast, directory: dict[str, StaffMember]
) -> None:
    submission_id = tell([cast.ward_a], title="Wonderful care", what_was_good=PRAISE)
    sarah, raj = directory["sarah"], directory["raj"]
    response = moderator(cast).post(
        f"/moderation/{submission_id}/", publish_form(cast, [key(cast, sarah), key(cast, raj)])
    )
    assert response.status_code == 302
    submission = Submission.objects.get(pk=submission_id)
    assert submission.state == SubmissionState.PUBLISHED
    with tenant_context(cast.org_a):
        rows = {t.staff_member_id: t for t in Thanks.objects.select_related("service")}
        assert rows[sarah.pk].route == ThanksRoute.PERSON
        assert (
            rows[sarah.pk].named_as == "Sarah"
            and rows[sarah.pk].service.pk == cast.ward_a.service_id
        )
        assert rows[raj.pk].route == ThanksRoute.MANAGER and rows[raj.pk].named_as == "Dr Patel"
        assert rows[raj.pk].confirmed_by == cast.moderator.full_name
        assert AuditEvent.objects.filter(action="thanks.passed_on").count() == 2
    messages = OutboxMessage.objects.filter(kind="feedback.thanks").order_by("pk")
    assert sorted(m.recipient for m in messages) == sorted([sarah.email, cast.admin_a.email])
    for message in messages:
        assert send_message(message.pk)
    sent = {m.to[0]: m for m in mail.outbox}
    to_sarah, to_manager = sent[sarah.email], sent[cast.admin_a.email]
    assert "A patient's thanks for you" in to_sarah.subject
    assert PRAISE in to_sarah.body and "/thanks/stop/" in to_sarah.body
    assert f"/stories/{submission.public_story_id}/" in to_sarah.body
    assert "please pass the thanks on to them" in to_manager.body and "Raj Patel" in to_manager.body
    assert "/thanks/stop/" not in to_manager.body  # a manager cannot turn someone else's off
    for message in (to_sarah, to_manager):
        assert AUTHOR_EMAIL not in message.body and AUTHOR_POSTCODE not in message.body
        assert "Pat" not in message.body.replace("Patel", "").replace("patient", "")  # nickname


def test_thanks_are_for_positive_stories_and_suggested_people_only(
    cast: Cast, directory: dict[str, StaffMember]
) -> None:
    submission_id = tell([cast.ward_a], title="Wonderful care", what_was_good=PRAISE)
    critical = moderator(cast).post(
        f"/moderation/{submission_id}/",
        publish_form(cast, [key(cast, directory["sarah"])], "moderately critical"),
        follow=True,
    )
    assert "Thanks are passed on only for positive stories" in critical.content.decode()
    forged = moderator(cast).post(
        f"/moderation/{submission_id}/",
        publish_form(cast, [f"{cast.org_b.pk}:{directory['b_sarah'].pk}"]),
        follow=True,
    )
    assert "not among the suggestions" in forged.content.decode()
    assert Submission.objects.get(pk=submission_id).state == SubmissionState.PENDING
    with tenant_context(cast.org_a):
        assert not Thanks.objects.exists()
    with tenant_context(cast.org_b):
        assert not Thanks.objects.exists()
    assert not OutboxMessage.objects.filter(kind="feedback.thanks").exists()


def test_someone_who_turned_the_emails_off_is_counted_but_not_emailed(
    cast: Cast, directory: dict[str, StaffMember], monkeypatch: pytest.MonkeyPatch
) -> None:
    sarah = directory["sarah"]
    anonymous = client_for(cast.org_a)
    with tenant_context(cast.org_a):
        link = f"/thanks/stop/{thanks.stop_token(sarah)}/"
    page = anonymous.get(link)
    assert (
        page.status_code == 200 and "Stop thanks emails for Sarah Jones?" in page.content.decode()
    )
    assert "Done" in anonymous.post(link).content.decode()
    # Another organisation's domain, or an altered link: nothing.
    assert client_for(cast.org_b).get(link).status_code == 404
    assert anonymous.get(link[:-3] + "xx/").status_code == 404
    with monkeypatch.context() as later:
        now = time.time() + thanks.STOP_LINK_SECONDS + 60
        later.setattr(signing.time, "time", lambda: now)
        assert anonymous.get(link).status_code == 404  # a year on, the link has lapsed
    submission_id = tell([cast.ward_a], title="Wonderful care", what_was_good=PRAISE)
    moderator(cast).post(f"/moderation/{submission_id}/", publish_form(cast, [key(cast, sarah)]))
    with tenant_context(cast.org_a):
        assert Thanks.objects.get().route == ThanksRoute.OPTED_OUT
        assert AuditEvent.objects.filter(action="thanks.emails_turned_off").exists()
    assert not OutboxMessage.objects.filter(kind="feedback.thanks").exists()


def test_staff_see_the_counts_and_turn_their_own_emails_off(
    cast: Cast, directory: dict[str, StaffMember]
) -> None:
    with tenant_context(cast.org_a):
        StaffMember.objects.filter(pk=directory["raj"].pk).update(account=cast.responder_a)
    submission_id = tell([cast.ward_a], title="Wonderful <b>care</b>", what_was_good=PRAISE)
    form = publish_form(cast, [key(cast, directory["sarah"]), key(cast, directory["raj"])])
    form["title"] = "Wonderful <b>care</b>"
    moderator(cast).post(f"/moderation/{submission_id}/", form)
    responder = client_for(cast.org_a)
    assert sign_in(responder, cast.responder_a.email).status_code == 302
    page = responder.get("/thanks/").content.decode()
    assert "Sarah Jones" in page and "Raj Patel" in page
    assert cast.ward_a.name in page and cast.clinic_a.name in page
    assert "Wonderful &lt;b&gt;care&lt;/b&gt;" in page  # escaped
    assert "Stop emailing me thanks" in page  # the responder is Raj's account
    with tenant_context(cast.org_a):
        story = Thanks.objects.first().story
    story_page = responder.get(f"/stories/{story.pk}/").content.decode()
    assert "Thanks passed on: " in story_page and "Sarah Jones (emailed to them)" in story_page
    assert responder.post("/thanks/emails/", {"wanted": "no"}).status_code == 302
    with tenant_context(cast.org_a):
        assert not StaffMember.objects.get(pk=directory["raj"].pk).thanks_emails
    assert responder.get("/thanks/?months=abc").status_code == 400
    # B sees none of A's thanks.
    other = client_for(cast.org_b)
    assert sign_in(other, cast.admin_b.email).status_code == 302
    b_page = other.get("/thanks/").content.decode()
    assert "Sarah Jones" not in b_page and "Wonderful" not in b_page


def test_administrators_keep_the_directory(cast: Cast, directory: dict[str, StaffMember]) -> None:
    admin = client_for(cast.org_a)
    assert sign_in(admin, cast.admin_a.email).status_code == 302
    member = client_for(cast.org_a)
    assert sign_in(member, cast.member_a.email).status_code == 302
    assert member.get("/thanks/directory/").status_code == 403
    outside = admin.post(
        "/thanks/directory/", {"full_name": "Amara Okafor", "email": "amara@gmail.example"}
    )
    assert outside.status_code == 400
    assert "email domains" in outside.content.decode()
    added = admin.post(
        "/thanks/directory/",
        {
            "full_name": "Amara Okafor",
            "job_title": "Physiotherapist",
            "email": f"amara@{cast.org_a.slug}.example",
            "services": [cast.ward_a.service_id],
            "thanks_emails": "on",
        },
    )
    assert added.status_code == 302
    assert admin.post("/thanks/directory/", {"action": "accounts"}).status_code == 302
    with tenant_context(cast.org_a):
        amara = StaffMember.objects.get(full_name="Amara Okafor")
        assert list(amara.services.values_list("pk", flat=True)) == [cast.ward_a.service_id]
        accounts = StaffMember.objects.filter(account__isnull=False).count()
        assert accounts >= 3  # the cast's admin, responder and member
        actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"thanks.directory_added", "thanks.directory_accounts_added"} <= actions
    assert admin.post(f"/thanks/directory/{amara.pk}/", {"action": "remove"}).status_code == 302
    assert f"/thanks/directory/{amara.pk}/" not in admin.get("/thanks/directory/").content.decode()
    # B's administrator cannot reach A's entries.
    other = client_for(cast.org_b)
    assert sign_in(other, cast.admin_b.email).status_code == 302
    assert other.get(f"/thanks/directory/{directory['sarah'].pk}/").status_code == 404


def test_the_directory_is_imported_from_a_csv_all_or_nothing(
    cast: Cast, directory: dict[str, StaffMember]
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    admin = client_for(cast.org_a)
    assert sign_in(admin, cast.admin_a.email).status_code == 302
    domain = f"{cast.org_a.slug}.example"

    def upload(text: str):  # noqa: ANN202
        return admin.post(
            "/thanks/directory/import/",
            {"file": SimpleUploadedFile("staff.csv", text.encode("utf-8-sig"), "text/csv")},
        )

    bad = upload(
        "Name,Job title,Email,Services\n"
        f"Ola Nowak,Physiotherapist,ola@{domain},{cast.ward_a.name}\n"
        "Eve Outside,Nurse,eve@gmail.example,\n"
        f"Ben Lost,Porter,,No Such Ward\n"
    )
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "Row 3: eve@gmail.example is not in your organisation" in text
    assert "Row 4: there is no service called &#x27;no such ward&#x27;" in text
    with tenant_context(cast.org_a):
        assert not StaffMember.objects.filter(full_name="Ola Nowak").exists()  # nothing at all
    good = upload(
        "name,job title,email,services\n"
        f"Ola Nowak,Physiotherapist,ola@{domain},{cast.ward_a.name};{cast.clinic_a.name}\n"
        f"Sarah Jones,Senior Staff Nurse,{directory['sarah'].email},{cast.ward_a.name}\n"
        "\n"
        "=Formula Person,Porter,,\n"
    )
    assert good.status_code == 302
    with tenant_context(cast.org_a):
        ola = StaffMember.objects.get(full_name="Ola Nowak")
        assert ola.services.count() == 2
        sarah = StaffMember.objects.get(pk=directory["sarah"].pk)
        assert sarah.job_title == "Senior Staff Nurse"  # updated by its address, not doubled
        assert StaffMember.objects.filter(email=directory["sarah"].email).count() == 1
        assert StaffMember.objects.filter(full_name="=Formula Person").exists()
        event = AuditEvent.objects.get(action="thanks.directory_imported")
        assert event.summary.endswith("2 added, 1 updated")
    assert "=Formula Person" in admin.get("/thanks/directory/").content.decode()
    assert upload("nothing,useful\n1,2\n").status_code == 400
    not_utf8 = admin.post(
        "/thanks/directory/import/",
        {"file": SimpleUploadedFile("staff.csv", "name\nJosé\n".encode("latin-1"), "text/csv")},
    )
    assert not_utf8.status_code == 400 and "UTF-8" in not_utf8.content.decode()
    member = client_for(cast.org_a)
    assert sign_in(member, cast.member_a.email).status_code == 302
    assert member.post("/thanks/directory/import/", {}).status_code == 403


def test_suggestions_read_only_the_people_whose_names_the_story_holds(
    cast: Cast, directory: dict[str, StaffMember]
) -> None:
    with tenant_context(cast.org_a):
        StaffMember.objects.bulk_create(
            StaffMember(full_name=f"Person Number{n}", job_title="Nurse") for n in range(2000)
        )
        people = thanks.directory(cast.org_a, {"sarah", "patel"})
    assert sorted(p.full_name for p in people) == ["Raj Patel", "Sarah Green", "Sarah Jones"]
    assert thanks.directory(cast.org_a, set()) == []
    found = thanks.suggest_staff(pii.find_personal_details(PRAISE), [PRAISE], [cast.ward_a])
    assert [s.person.full_name for s in found][:2] == ["Raj Patel", "Sarah Jones"]
