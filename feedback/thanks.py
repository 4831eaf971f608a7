"""Thanks passed on to the staff a story names.

A story that thanks someone ("Sarah on Ward 7 was wonderful") rarely reaches Sarah. Here:

1. **Suggesting the person.** On the moderation page, the names the personal-detail
   detector finds in the story (feedback/pii.py: "Sarah", "Dr Patel", "Nurse Amara
   Okafor") are looked up in the staff directory (`StaffMember`) of each organisation the
   story is about. A full name is a strong match; a surname with a title, or a first name
   with one of their services or their job title in the story, a likely one; a first name
   alone, a possible one (shown only when few share it). The moderator ticks the right
   person.
2. **Passing it on.** Publishing a positive story (not or minimally critical) with people
   ticked writes a `Thanks` row in the organisation's schema and, in the same transaction,
   the thank-you email to the outbox: to the person (their directory address, which must be
   in the organisation's email domains, or their account's), or, when they have none, to
   their service's manager (the nearest service up the tree that has one). The email holds
   the story as published and its link; never anything about its author.
3. **Counting it.** `/thanks/` counts thanks per service and per person. Anyone can turn
   the emails off: staff with an account on that page, everyone through the signed link in
   each email (no sign-in). Thanks for someone who turned them off are still counted.

The directory is each organisation's own: its administrators add people (or everyone with an
account at once) on `/thanks/directory/`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django_tenants.utils import tenant_context

from feedback import pii
from feedback.choices import POSITIVE_CRITICALITIES
from feedback.hub.models import ServiceListing
from feedback.models import Service, StaffMember, Story, Thanks, ThanksRoute
from tenants.accounts.models import User
from tenants.audit.recording import record_audit
from tenants.messages import enqueue_email
from tenants.models import Organisation, public_url

# Stories whose thanks are passed on: not critical, or minimally critical.
POSITIVE = POSITIVE_CRITICALITIES
# Words before a name that say what someone does; each also hints at a job title.
TITLES = {
    "dr": ("doctor", "consultant", "registrar", "gp", "surgeon", "physician", "dr"),
    "doctor": ("doctor", "consultant", "registrar", "gp", "surgeon", "physician", "dr"),
    "nurse": ("nurse", "sister", "matron", "midwife", "practitioner"),
    "sister": ("sister", "nurse", "matron"),
    "staff": ("nurse",),
    "charge": ("nurse",),
    "matron": ("matron", "nurse"),
    "midwife": ("midwife",),
    "prof": ("professor", "consultant"),
    "professor": ("professor", "consultant"),
    "mr": (),
    "mrs": (),
    "ms": (),
    "miss": (),
    "mx": (),
}
STRONG, LIKELY, POSSIBLE = "strong", "likely", "possible"
ORDER = {STRONG: 0, LIKELY: 1, POSSIBLE: 2}
# A first name alone is suggested only when at most this many people share it.
MOST_FOR_A_FIRST_NAME = 3
SIGNING_SALT = "feedback.thanks-emails"
# How long the link in a thanks email turns them off.
STOP_LINK_SECONDS = 365 * 24 * 60 * 60
WORD = re.compile(r"[a-z0-9]+")


class ThanksError(Exception):
    """The thanks cannot be passed on as asked; the message says why."""


# --- suggestions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A directory entry, as the matching reads it."""

    organisation_id: int
    pk: int
    full_name: str
    job_title: str
    services: tuple[int, ...]
    service_names: tuple[str, ...]

    @property
    def first(self) -> str:
        return _words(self.full_name)[0] if _words(self.full_name) else ""

    @property
    def last(self) -> str:
        words = _words(self.full_name)
        return words[-1] if len(words) > 1 else ""


@dataclass(frozen=True)
class Suggestion:
    organisation: Organisation
    person: Person
    named_as: str
    strength: str
    reason: str
    # How it would reach them: "by email", "through <service>'s manager", or "" (counted only).
    reaches: str = ""

    @property
    def key(self) -> str:
        return f"{self.organisation.pk}:{self.person.pk}"


def _words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def named_people(texts: list[str]) -> list[tuple[str, str, list[str]]]:
    """(as written, its title word or "", its name words) for each name the detector finds
    in `texts` (scanning them: the moderation pages use the stored findings instead)."""
    return names_in([f for text in texts for f in pii.find_personal_details(text)])


def names_in(findings: list[pii.Finding]) -> list[tuple[str, str, list[str]]]:
    """(as written, its title word or "", its name words) for each name among `findings`."""
    found = []
    for finding in findings:
        if finding.kind != pii.Kind.NAME:
            continue
        words = _words(finding.text)
        title = ""
        while words and words[0] in TITLES:
            title = title or words[0]
            words = words[1:]
        if words:
            found.append((finding.text, title, words))
    return found


def directory(organisation: Organisation, words: set[str] | None = None) -> list[Person]:
    """The organisation's active directory entries (read in its schema): only those whose
    name holds one of `words`, when given (a trust's directory holds thousands)."""
    with tenant_context(organisation):
        entries = StaffMember.objects.filter(is_active=True).prefetch_related("services")
        if words is not None:
            named = Q()
            for word in sorted(words):
                named |= Q(full_name__iregex=rf"\m{re.escape(word)}\M")
            entries = entries.filter(named) if words else entries.none()
        return [
            Person(
                organisation.pk,
                entry.pk,
                entry.full_name,
                entry.job_title,
                tuple(s.pk for s in entry.services.all()),
                tuple(s.name.lower() for s in entry.services.all()),
            )
            for entry in entries
        ]


def match(
    people: list[Person],
    named: list[tuple[str, str, list[str]]],
    text: str,
    service_ids: set[int],
) -> list[tuple[Person, str, str, str]]:
    """(person, as written, strength, reason) for the people each name most likely is, best
    first. `service_ids`: the organisation's services the story is about.

    For each name only its best matches are kept, and only when they are few: a name that
    fits more than MOST_FOR_A_FIRST_NAME people equally well is not suggested at all (a
    surname like Smith, or a first name like Sarah, in a trust of thousands), unless they
    are full-name matches, or the story's service or their job singles a few out."""
    lowered = " ".join(_words(text))
    found: dict[int, tuple[Person, str, str, str]] = {}
    for written, title, words in named:
        candidates = []
        for person in people:
            fit = _fit(person, title, words, lowered, service_ids)
            if fit is not None:
                candidates.append((person, *fit))
        if not candidates:
            continue
        best = min(ORDER[strength] for _, strength, _, _ in candidates)
        chosen = [c for c in candidates if ORDER[c[1]] == best]
        if len(chosen) > MOST_FOR_A_FIRST_NAME:
            singled = [c for c in chosen if c[3]]  # in a service of the story
            if 0 < len(singled) <= MOST_FOR_A_FIRST_NAME:
                chosen = singled
            elif chosen[0][1] != STRONG:
                continue
        for person, strength, reason, _ in chosen[: MOST_FOR_A_FIRST_NAME * 2]:
            known = found.get(person.pk)
            if known is None or ORDER[strength] < ORDER[known[2]]:
                found[person.pk] = (person, written, strength, reason)
    return sorted(found.values(), key=lambda f: (ORDER[f[2]], f[0].full_name))


def _fit(
    person: Person, title: str, words: list[str], lowered: str, service_ids: set[int]
) -> tuple[str, str, bool] | None:
    """(strength, reason, whether they work in a service of the story), or None."""
    first, last = person.first, person.last
    job = person.job_title.lower()
    in_service = bool(service_ids.intersection(person.services)) or any(
        name and name in lowered for name in person.service_names
    )
    title_fits = bool(title) and any(hint in job for hint in TITLES[title])
    if len(words) > 1 and words[0] == first and words[-1] == last:
        return STRONG, "full name", in_service
    if last and words == [last] and title:
        if title_fits or (not TITLES[title] and in_service):
            return LIKELY, f"surname with “{title.title()}”", in_service
        return POSSIBLE, f"surname with “{title.title()}”", in_service
    if words == [first]:
        if in_service:
            return LIKELY, "first name, and works in a service of the story", True
        if title_fits or (job and any(w in lowered for w in _words(job) if len(w) > 3)):
            return LIKELY, "first name, and their job is mentioned", in_service
        return POSSIBLE, "first name only", in_service
    return None


def suggest_staff(
    findings: list[pii.Finding], texts: list[str], listings: list[ServiceListing]
) -> list[Suggestion]:
    """The staff of the listings' organisations that the names among `findings` (the
    detector's, stored with the story) seem to be, best first, read from each organisation's
    own directory. `texts`: the story's text, for the services and job titles it mentions."""
    named = names_in(findings)
    if not named:
        return []
    text = " ".join(texts)
    organisations: dict[int, Organisation] = {}
    services: dict[int, set[int]] = {}
    for listing in listings:
        organisations[listing.organisation_id] = listing.organisation
        services.setdefault(listing.organisation_id, set()).add(listing.service_id)
    suggestions = []
    words = {word for _, _, name in named for word in name}
    for organisation in organisations.values():
        people = directory(organisation, words)
        found = match(people, named, text, services[organisation.pk])
        if not found:
            continue
        with tenant_context(organisation):
            entries = StaffMember.objects.select_related("account").in_bulk(
                [person.pk for person, *_ in found]
            )
            for person, written, strength, reason in found:
                suggestions.append(
                    Suggestion(
                        organisation,
                        person,
                        written,
                        strength,
                        reason,
                        _reaches(entries[person.pk]),
                    )
                )
    return sorted(suggestions, key=lambda s: (ORDER[s.strength], s.person.full_name))


# --- where it goes ---------------------------------------------------------------------------


def in_domains(address: str, organisation: Organisation) -> bool:
    domain = address.rpartition("@")[2].lower()
    return bool(domain) and domain in {d.lower() for d in organisation.email_domains}


def own_address(entry: StaffMember) -> str:
    """Their own address: their account's, or the directory's when it is in the
    organisation's domains (the active schema's organisation)."""
    if entry.account_id and entry.account.is_active:
        return entry.account.email
    if entry.email and in_domains(entry.email, connection.tenant):
        return entry.email
    return ""


def manager_of(entry: StaffMember, near: Service | None = None) -> tuple[User, Service] | None:
    """The manager of `near` or of one of their services, or of the nearest service above
    it that has one."""
    for service in ([near] if near else []) + list(entry.services.order_by("pk")):
        current: Service | None = service
        while current is not None:
            if current.manager_id and current.manager.is_active:
                return current.manager, current
            current = current.parent
    return None


def _reaches(entry: StaffMember) -> str:
    if not entry.thanks_emails:
        return ""
    if own_address(entry):
        return "by email"
    managed = manager_of(entry)
    return f"through {managed[1].name}'s manager" if managed else ""


# --- passing it on ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Confirmed:
    """A moderator's tick: this person of this organisation, named in the story as this."""

    organisation_id: int
    staff_member_id: int
    named_as: str = ""

    @classmethod
    def from_key(cls, key: str, named_as: str = "") -> Confirmed:
        organisation, _, member = key.partition(":")
        if not (organisation.isdigit() and member.isdigit()):
            raise ThanksError("That is not a member of staff to thank.")
        return cls(int(organisation), int(member), named_as[:150])


@dataclass
class Passed:
    thanks: list[Thanks] = field(default_factory=list)


def check_thanks(criticality: str, confirmed: list[Confirmed], organisation_ids: set[int]) -> None:
    if not confirmed:
        return
    if criticality not in POSITIVE:
        raise ThanksError(
            "Thanks are passed on only for positive stories (not critical or minimally "
            "critical). Untick the staff, or change the criticality."
        )
    if any(c.organisation_id not in organisation_ids for c in confirmed):
        raise ThanksError("Staff can be thanked only at an organisation the story is about.")


def pass_on_thanks(
    stories: list[tuple[str, int]],
    confirmed: list[Confirmed],
    *,
    moderator_name: str,
) -> Passed:
    """In the caller's transaction (the publication's): a Thanks row for each confirmed
    person in their organisation's schema, and the email to them or their manager."""
    passed = Passed()
    schemas = dict(stories)
    by_id = Organisation.objects.in_bulk({c.organisation_id for c in confirmed})
    for item in confirmed:
        organisation = by_id.get(item.organisation_id)
        if organisation is None or organisation.schema_name not in schemas:
            raise ThanksError("Staff can be thanked only at an organisation the story is about.")
        with tenant_context(organisation):
            story = Story.objects.prefetch_related("services").get(
                pk=schemas[organisation.schema_name]
            )
            entry = (
                StaffMember.objects.filter(pk=item.staff_member_id, is_active=True)
                .select_related("account")
                .first()
            )
            if entry is None:
                raise ThanksError("That member of staff is no longer in the directory.")
            passed.thanks.append(
                _pass_on(
                    organisation, story, entry, item.named_as or entry.full_name, moderator_name
                )
            )
    return passed


def _pass_on(
    organisation: Organisation, story: Story, entry: StaffMember, named_as: str, moderator: str
) -> Thanks:
    theirs = set(entry.services.values_list("pk", flat=True))
    story_services = list(story.services.all())
    service = next((s for s in story_services if s.pk in theirs), None) or (
        entry.services.order_by("pk").first() or (story_services[0] if story_services else None)
    )
    address, route, manager, managed_service = "", ThanksRoute.NO_ADDRESS, None, None
    if not entry.thanks_emails:
        route = ThanksRoute.OPTED_OUT
    elif own_address(entry):
        address, route = own_address(entry), ThanksRoute.PERSON
    else:
        managed = manager_of(entry, service if service and service.pk in theirs else None)
        if managed:
            manager, managed_service = managed
            address, route = manager.email, ThanksRoute.MANAGER
    thanks, created = Thanks.objects.get_or_create(
        story=story,
        staff_member=entry,
        defaults={
            "staff_name": entry.full_name,
            "service": service,
            "named_as": named_as,
            "route": route,
            "confirmed_by": moderator,
        },
    )
    if not created:
        return thanks
    record_audit(
        "thanks.passed_on",
        actor=None,
        actor_label=f"{moderator} (moderator)",
        target=thanks,
        summary=f"Thanks for {entry.full_name} in story {story.public_id}: "
        f"{thanks.get_route_display().lower()}",
    )
    if address:
        context = {
            "organisation": organisation,
            "story": story,
            "entry": entry,
            "manager": manager,
            "managed_service": managed_service,
            "service": service,
            "named_as": named_as,
            "story_url": public_url(settings.BASE_DOMAIN, f"/stories/{story.public_id}/"),
            "stop_url": organisation.workspace_url(f"/thanks/stop/{stop_token(entry)}/"),
        }
        template = "person" if route == ThanksRoute.PERSON else "manager"
        subject = (
            f"A patient's thanks for you: “{story.title}”"
            if route == ThanksRoute.PERSON
            else f"Please pass on a patient's thanks to {entry.full_name}"
        )
        enqueue_email(
            kind="feedback.thanks",
            key=f"feedback.thanks:{organisation.schema_name}:{thanks.pk}",
            recipient=address,
            subject=subject,
            text_body=render_to_string(f"feedback/email/thanks_{template}.txt", context),
            organisation=organisation,
        )
    return thanks


# --- turning the emails off -----------------------------------------------------------------


def stop_token(entry: StaffMember) -> str:
    """The signed value of an entry's "stop these emails" link (the active schema's)."""
    return signing.dumps(
        {"s": connection.schema_name, "m": entry.pk}, salt=SIGNING_SALT, compress=True
    )


def entry_for_stop_token(value: str) -> StaffMember | None:
    """The active schema's entry a stop link names; None if altered or another's."""
    try:
        data = signing.loads(value, salt=SIGNING_SALT, max_age=STOP_LINK_SECONDS)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("s") != connection.schema_name:
        return None
    return StaffMember.objects.filter(pk=data.get("m")).first()


def set_thanks_emails(
    entry: StaffMember, wanted: bool, *, actor: User | None, request: HttpRequest | None = None
) -> None:
    with transaction.atomic():
        StaffMember.objects.filter(pk=entry.pk).update(thanks_emails=wanted)
        record_audit(
            "thanks.emails_turned_on" if wanted else "thanks.emails_turned_off",
            actor=actor,
            actor_label=None if actor else f"{entry.full_name}, through their email's link",
            target=entry,
            summary=f"Thanks emails {'on' if wanted else 'off'} for {entry.full_name}",
            request=request,
        )


# --- the directory ---------------------------------------------------------------------------


def check_directory_email(address: str) -> None:
    if address and not in_domains(address, connection.tenant):
        domains = ", ".join(connection.tenant.email_domains) or "none set yet"
        raise ThanksError(
            f"Use an address in your organisation's email domains ({domains}), or leave it "
            "empty: their thanks then go to their service's manager."
        )


def save_entry(
    entry: StaffMember,
    services: list[Service],
    *,
    actor: User,
    request: HttpRequest | None = None,
) -> StaffMember:
    check_directory_email(entry.email)
    created = entry.pk is None
    with transaction.atomic():
        if not entry.account_id and entry.email:
            entry.account = User.objects.filter(email__iexact=entry.email).first()
        entry.save()
        entry.services.set(services)
        record_audit(
            "thanks.directory_added" if created else "thanks.directory_changed",
            actor=actor,
            target=entry,
            summary=f"{'Added' if created else 'Changed'} {entry.full_name} in the staff directory",
            request=request,
        )
    return entry


def add_everyone_with_an_account(*, actor: User, request: HttpRequest | None = None) -> int:
    """An entry for each active account not in the directory yet; how many were added."""
    with transaction.atomic():
        missing = User.objects.filter(is_active=True, directory_entry__isnull=True)
        added = [
            StaffMember(
                full_name=user.full_name or user.email, job_title=user.job_title, account=user
            )
            for user in missing
        ]
        StaffMember.objects.bulk_create(added)
        if added:
            record_audit(
                "thanks.directory_accounts_added",
                actor=actor,
                summary=f"Added {len(added)} staff with accounts to the staff directory",
                request=request,
            )
    return len(added)


def remove_entry(entry: StaffMember, *, actor: User, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        StaffMember.objects.filter(pk=entry.pk).update(is_active=False)
        record_audit(
            "thanks.directory_removed",
            actor=actor,
            target=entry,
            summary=f"Removed {entry.full_name} from the staff directory",
            request=request,
        )


# --- counting --------------------------------------------------------------------------------


def thanks_since(since: datetime, within: frozenset[int] | None = None) -> QuerySet[Thanks]:
    """Thanks passed on since `since`; `within`: only those counted under these services
    (a person limited to some, feedback/service_limits.py)."""
    rows = Thanks.objects.filter(created_at__gte=since)
    return rows if within is None else rows.filter(service_id__in=within)


def counts(
    since: datetime, within: frozenset[int] | None = None
) -> dict[str, list[tuple[str, int]]]:
    """Thanks passed on since `since`: per service and per person, most first."""
    rows = thanks_since(since, within)
    by_service = (
        rows.values("service__name").annotate(n=Count("pk")).order_by("-n", "service__name")
    )
    by_person = rows.values("staff_name").annotate(n=Count("pk")).order_by("-n", "staff_name")
    return {
        "services": [(r["service__name"] or "No service", r["n"]) for r in by_service],
        "people": [(r["staff_name"], r["n"]) for r in by_person],
        "emailed": [
            (ThanksRoute(r["route"]).label, r["n"])
            for r in rows.values("route").annotate(n=Count("pk")).order_by("route")
        ],
    }


def entry_of(user: User) -> StaffMember | None:
    return StaffMember.objects.filter(Q(account=user) | Q(email__iexact=user.email)).first()


# --- importing the directory -----------------------------------------------------------------

IMPORT_MAX_BYTES = 5 * 1024 * 1024
IMPORT_MAX_ROWS = 50_000
COLUMNS = {"name": "name", "full name": "name", "job title": "job_title", "job": "job_title"}
COLUMNS |= {"email": "email", "email address": "email", "services": "services"}
COLUMNS |= {"service": "services"}


class DirectoryImportError(Exception):
    """Nothing was imported; `problems` says what to fix, row by row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:5]))
        self.problems = problems


@dataclass(frozen=True)
class Imported:
    added: int
    updated: int


def import_directory(
    content: bytes, *, actor: User, request: HttpRequest | None = None
) -> Imported:
    """Add or update directory entries from a CSV file (columns: name, job title, email,
    services: names or codes separated by semicolons), all or nothing. An entry with the
    same email address, or with no address and the same name and job title, is updated."""
    if len(content) > IMPORT_MAX_BYTES:
        raise DirectoryImportError(["The file is larger than 5 MB. Split it into parts."])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DirectoryImportError(["Save the file as CSV in UTF-8, then try again."]) from None
    reader = csv.reader(io.StringIO(text))
    header = [COLUMNS.get(h.strip().lower()) for h in next(reader, [])]
    if "name" not in header:
        raise DirectoryImportError(["The first row must name the columns, with at least 'name'."])
    services = {s.name.lower(): s for s in Service.objects.filter(is_active=True)}
    services |= {s.code.lower(): s for s in services.values() if s.code}
    rows: list[tuple[StaffMember, list[Service]]] = []
    problems: list[str] = []
    for number, values in enumerate(reader, start=2):
        if number > IMPORT_MAX_ROWS + 1:
            problems.append(f"More than {IMPORT_MAX_ROWS:,} people: split the file.")
            break
        if not any(v.strip() for v in values):
            continue
        row = {key: value.strip() for key, value in zip(header, values, strict=False) if key}
        name, email = row.get("name", ""), row.get("email", "").lower()
        if not name or len(name) > 150:
            problems.append(f"Row {number}: a name is needed (at most 150 characters).")
            continue
        if email and ("@" not in email or not in_domains(email, connection.tenant)):
            problems.append(f"Row {number}: {email} is not in your organisation's email domains.")
            continue
        theirs = []
        for wanted in filter(None, (w.strip().lower() for w in row.get("services", "").split(";"))):
            if wanted not in services:
                problems.append(f"Row {number}: there is no service called {wanted!r}.")
            else:
                theirs.append(services[wanted])
        entry = StaffMember(full_name=name, job_title=row.get("job_title", "")[:150], email=email)
        rows.append((entry, theirs))
    if problems:
        raise DirectoryImportError(problems)
    return _write_import(rows, actor=actor, request=request)


def _write_import(
    rows: list[tuple[StaffMember, list[Service]]], *, actor: User, request: HttpRequest | None
) -> Imported:
    with transaction.atomic():
        existing = StaffMember.objects.filter(is_active=True)
        by_email = {e.email.lower(): e for e in existing if e.email}
        by_name = {(e.full_name.lower(), e.job_title.lower()): e for e in existing if not e.email}
        accounts = {u.email.lower(): u for u in User.objects.filter(is_active=True)}
        added = updated = 0
        for entry, theirs in rows:
            found = by_email.get(entry.email) if entry.email else None
            found = found or by_name.get((entry.full_name.lower(), entry.job_title.lower()))
            if found is not None:
                found.full_name, found.job_title = entry.full_name, entry.job_title
                found.email = entry.email or found.email
                entry, updated = found, updated + 1
            else:
                added += 1
            if entry.email and not entry.account_id:
                entry.account = accounts.get(entry.email)
            entry.save()
            entry.services.set(theirs)
            if entry.email:
                by_email[entry.email] = entry
        record_audit(
            "thanks.directory_imported",
            actor=actor,
            summary=f"Imported the staff directory: {added} added, {updated} updated",
            request=request,
        )
    return Imported(added, updated)
