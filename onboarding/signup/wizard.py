"""The sign-up wizard's operations: organisation details, the first administrator's
account (with a confirmed email address), a plan, payment through billing, then
provisioning on a worker while a page shows progress.

Nothing but the Signup row exists until payment is confirmed, and provisioning is one
transaction (tenants/provisioning.py) that also links the sign-up to its new organisation,
so abandoning or failing at any step leaves nothing half-made; every step can be retried.
A sign-up linked to its organisation is only ever finished, never provisioned again.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from billing.checkout import Payer, start_payment
from billing.models import Subscription
from billing.plans import Plan, get_interval, get_plan
from billing.subscriptions import attach_organisation
from onboarding.signup.models import Signup, Step
from tenants.accounts.models import User
from tenants.audit.recording import record_audit
from tenants.messages import enqueue_email
from tenants.models import Organisation, public_url
from tenants.networks import NetworkError, claim_email_invitation, email_invitations_for
from tenants.ods import normalise_ods_code, validate_ods_code
from tenants.provisioning import ProvisioningError, provision_organisation
from tenants.queueing import queue_after_commit
from tenants.slugs import suggest_slug, validate_slug

SIGNUP_LIFETIME = timedelta(days=7)
# A paid sign-up still unprovisioned this long after its last change lost its task message.
STUCK_PROVISIONING = timedelta(minutes=5)
VERIFY_SALT = "onboarding.signup.verify-email"
VERIFY_MAX_AGE = 2 * 24 * 60 * 60
ORDER = [Step.DETAILS, Step.ACCOUNT, Step.VERIFY, Step.PLAN, Step.PAYMENT, Step.PROVISIONING]


class SignupError(Exception):
    """The step cannot be taken as asked; the message says why."""


@dataclass(frozen=True)
class Details:
    organisation_name: str
    kind: str
    ods_code: str
    region: str
    website: str
    slug: str = ""


def _public() -> schema_context:
    return schema_context(settings.PUBLIC_SCHEMA_NAME)


def slug_in_use(slug: str, *, exclude: Signup | None = None) -> bool:
    """Taken by an organisation, or claimed by another sign-up that has paid."""
    with _public():
        if Organisation.objects.filter(slug=slug).exists():
            return True
        others = Signup.objects.filter(slug=slug, paid_at__isnull=False)
        if exclude is not None:
            others = others.exclude(pk=exclude.pk)
        return others.exists()


def check_details(details: Details) -> Details:
    """Clean and validate step 1 as a whole: ODS code for the kind, a free address."""
    errors: dict[str, list[str]] = {}
    name = details.organisation_name.strip()
    if not name:
        errors["organisation_name"] = ["Give your organisation's name."]
    code = normalise_ods_code(details.ods_code) if details.ods_code.strip() else ""
    if code:
        try:
            validate_ods_code(code, details.kind)
        except ValidationError as exc:
            errors["ods_code"] = exc.messages
        with _public():
            if Organisation.objects.filter(ods_code=code).exists():
                errors["ods_code"] = [f"An organisation with ODS code {code} is already here."]
    slug = (details.slug or suggest_slug(name)).strip().lower()
    try:
        validate_slug(slug)
    except ValidationError as exc:
        errors["slug"] = exc.messages
    else:
        if slug_in_use(slug):
            errors["slug"] = [f"{slug}.{settings.BASE_DOMAIN} is taken; choose another."]
    if errors:
        raise ValidationError(errors)
    return Details(name, details.kind, code, details.region, details.website.strip(), slug)


def start_signup(details: Details) -> Signup:
    details = check_details(details)
    with _public():
        return Signup.objects.create(
            token=secrets.token_urlsafe(32),
            organisation_name=details.organisation_name,
            slug=details.slug,
            kind=details.kind,
            ods_code=details.ods_code,
            region=details.region,
            website=details.website,
            step=Step.ACCOUNT,
        )


def update_details(signup: Signup, details: Details) -> Signup:
    _not_yet_paid(signup)
    details = check_details(
        Details(
            details.organisation_name,
            details.kind,
            details.ods_code,
            details.region,
            details.website,
            details.slug or signup.slug,
        )
    )
    for name in ("organisation_name", "slug", "kind", "ods_code", "region", "website"):
        setattr(signup, name, getattr(details, name))
    signup.step = max(signup.step, Step.ACCOUNT, key=ORDER.index)
    _save(signup)
    return signup


def save_account(signup: Signup, *, name: str, email: str, password: str) -> Signup:
    """Step 2: the first administrator; a changed address must be confirmed again."""
    _not_yet_paid(signup)
    email = email.strip().lower()
    name = name.strip()
    if not name:
        raise ValidationError({"admin_name": ["Give your name."]})
    try:
        validate_password(password, user=User(email=email, full_name=name))
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    if email != signup.admin_email:
        signup.email_verified_at = None
    signup.admin_name, signup.admin_email = name, email
    signup.admin_password = make_password(password)
    signup.step = Step.PLAN if signup.email_verified_at else Step.VERIFY
    _save(signup)
    if not signup.email_verified_at:
        send_verification(signup)
    return signup


def send_verification(signup: Signup) -> None:
    """Write the confirmation email to the outbox (tenants/messages.py), in the caller's
    transaction. Keyed by the sign-up and its link's token: sending again (a new token) is a
    new email, the same token twice is one."""
    token = signing.dumps({"signup": signup.pk, "email": signup.admin_email}, salt=VERIFY_SALT)
    link = public_url(settings.BASE_DOMAIN, f"/signup/verify/{token}/")
    context = {"signup": signup, "link": link}
    with _public():
        enqueue_email(
            kind="signup.verify",
            key=f"signup.verify:{signup.pk}:{hashlib.sha256(token.encode()).hexdigest()[:32]}",
            recipient=signup.admin_email,
            subject="Confirm your email address to finish signing up to Carevoice",
            text_body=render_to_string("signup/email/verify.txt", context),
        )


def verify_email(token: str) -> Signup:
    """The link in the confirmation email. Valid for two days, for the address it was sent to."""
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=VERIFY_MAX_AGE)
    except signing.SignatureExpired:
        raise SignupError("That link has expired. Sign up again to get a new one.") from None
    except signing.BadSignature:
        raise SignupError("That link is not one we sent.") from None
    with _public(), transaction.atomic():
        signup = Signup.objects.select_for_update().filter(pk=data.get("signup")).first()
        if signup is None or signup.admin_email != data.get("email"):
            raise SignupError("That link is for an address this sign-up no longer uses.")
        if signup.email_verified_at is None:
            signup.email_verified_at = timezone.now()
            if signup.step == Step.VERIFY:
                signup.step = Step.PLAN
            _save(signup)
    return signup


def plans_for(kind: str) -> list[Plan]:
    """The plans an organisation of this kind may choose, its own kind's first."""
    from billing.plans import PLANS

    return sorted(PLANS.values(), key=lambda plan: (kind not in plan.kinds, plan.monthly_pence))


def choose_plan(signup: Signup, plan_key: str, interval: str) -> Signup:
    _not_yet_paid(signup)
    if signup.email_verified_at is None:
        raise SignupError("Confirm your email address first: we sent you a link.")
    plan, chosen = get_plan(plan_key), get_interval(interval)
    if plan.key == "network" and signup.kind != "ccg/icb":
        raise ValidationError({"plan": ["The Network plan is for commissioners (CCG or ICB)."]})
    signup.plan, signup.interval, signup.step = plan.key, chosen.value, Step.PAYMENT
    _save(signup)
    return signup


def payment_url(signup: Signup, *, success_url: str, cancel_url: str) -> str:
    """Where to pay (Stripe Checkout, or the local card page); safe to call again."""
    _not_yet_paid(signup)
    if signup.step != Step.PAYMENT or not signup.plan:
        raise SignupError("Choose a plan first.")
    payer = Payer(signup.reference, signup.organisation_name, signup.admin_email)
    return start_payment(payer, signup.plan, signup.interval, success_url, cancel_url)


def subscription_of(signup: Signup) -> Subscription | None:
    with _public():
        return Subscription.objects.filter(reference=signup.reference).first()


def note_payment(signup: Signup) -> bool:
    """If billing has seen this sign-up's subscription paid (its webhooks), move on to
    provisioning and queue it. Returns whether provisioning is under way or done."""
    with _public(), transaction.atomic():
        signup = Signup.objects.select_for_update().get(pk=signup.pk)
        if signup.paid_at is not None:
            return True
        row = subscription_of(signup)
        if row is None or not row.is_live:
            return False
        signup.paid_at = timezone.now()
        signup.step = Step.PROVISIONING
        signup.progress, signup.progress_note = 5, "Payment received"
        _save(signup)
        _queue_provisioning(signup.pk)
    return True


def provision_signup(signup_id: int) -> Signup:
    """Make the workspace for a paid sign-up, then finish the sign-up (the Celery task's
    work). Safe to run again at any point: a sign-up linked to its organisation is only
    finished, never provisioned twice, and a finished one is left as it is."""
    with _public():
        _progress(
            signup_id,
            20,
            "Creating your workspace",
            step=Step.PROVISIONING,
            organisation__isnull=True,
        )
        signup = make_workspace(signup_id)
        if signup.organisation_id is None or signup.step == Step.READY:
            return signup  # not paid, failed before its workspace existed, or finished
        return finish_signup(signup.pk)


def make_workspace(signup_id: int) -> Signup:
    """Provision the sign-up's organisation and link the sign-up to it in one transaction:
    a worker dying afterwards leaves a linked sign-up that `finish_signup` completes, never
    an organisation nobody points at. A provisioning failure the payer can act on (the
    address was taken) marks the sign-up failed; any other failure rolls it all back and
    the sweeper tries again."""
    with _public(), transaction.atomic():
        # Held until the link commits: a redelivered task or the sweeper's waits here,
        # then finds the link.
        signup = Signup.objects.select_for_update().get(pk=signup_id)
        if signup.organisation_id is not None or signup.paid_at is None:
            return signup
        if signup.step != Step.PROVISIONING:
            return signup  # failed: waits for the payer to try again
        try:
            # Nested in this transaction (a savepoint): its failure undoes only itself.
            provisioned = provision_organisation(
                name=signup.organisation_name,
                slug=signup.slug,
                kind=signup.kind,
                ods_code=signup.ods_code,
                region=signup.region,
                admin_email=signup.admin_email,
                admin_name=signup.admin_name,
                admin_password=None,
            )
        except (ProvisioningError, ValidationError) as exc:
            signup.step, signup.error = Step.FAILED, _message(exc)
            _save(signup)
            return signup
        organisation = provisioned.organisation
        with tenant_context(organisation):
            User.objects.filter(pk=provisioned.admin.pk).update(password=signup.admin_password)
        link_signup(signup, organisation)
    return signup


def link_signup(signup: Signup, organisation: Organisation) -> None:
    """Point the sign-up at the organisation made for it, in the provisioning transaction."""
    signup.organisation = organisation
    signup.progress, signup.progress_note = 70, "Setting up your account"
    signup.error = ""
    _save(signup)


def finish_signup(signup_id: int) -> Signup:
    """Complete a sign-up linked to its organisation: its subscription and network
    invitations pass to the organisation, and it is marked ready, once."""
    with _public():
        _progress(signup_id, 85, "Linking your subscription", organisation__isnull=False)
        with transaction.atomic():
            signup = Signup.objects.select_for_update().get(pk=signup_id)
            organisation = signup.organisation
            if organisation is None or signup.step == Step.READY:
                return signup
            attach_organisation(signup.reference, organisation)
            claim_network_invitations(organisation, signup.admin_email)
            signup.step, signup.progress, signup.progress_note = Step.READY, 100, "Ready"
            signup.error = ""
            _save(signup)
            record_audit(
                "signup.completed",
                actor=None,
                actor_label=signup.admin_email,
                summary=f"{signup.organisation_name} signed up ({signup.plan}, {signup.interval})",
                target=organisation,
            )
    return signup


def claim_network_invitations(organisation: Organisation, admin_email: str) -> int:
    """Networks that invited this organisation by email before it joined: the invitations
    now wait in its workspace, to accept or decline."""
    claimed = 0
    for invitation in email_invitations_for(organisation, [admin_email]):
        try:
            claim_email_invitation(invitation, organisation)
            claimed += 1
        except NetworkError:
            continue  # answered or withdrawn meanwhile
    return claimed


def retry_provisioning(signup: Signup) -> None:
    """After a failure (the address was taken meanwhile, say): try again with the details
    as they are now. A sign-up that has its workspace already is finished instead."""
    with _public(), transaction.atomic():
        signup = Signup.objects.select_for_update().get(pk=signup.pk)
        if signup.paid_at is None or signup.step == Step.READY:
            return
        signup.step, signup.error, signup.progress = Step.PROVISIONING, "", 5
        _save(signup)
        _queue_provisioning(signup.pk)


def change_address_after_failure(signup: Signup, slug: str) -> Signup:
    """Try again at another address. A sign-up that has its workspace already keeps it, at
    the address it was made with, and is finished: no second workspace."""
    with _public(), transaction.atomic():
        signup = Signup.objects.select_for_update().get(pk=signup.pk)
        if signup.organisation_id is None:
            slug = slug.strip().lower()
            try:
                validate_slug(slug)
            except ValidationError as exc:
                raise ValidationError({"slug": exc.messages}) from None
            if slug_in_use(slug, exclude=signup):
                raise ValidationError({"slug": [f"{slug}.{settings.BASE_DOMAIN} is taken."]})
            signup.slug = slug
            _save(signup)
        retry_provisioning(signup)
    signup.refresh_from_db()
    return signup


def _queue_provisioning(signup_id: int) -> None:
    """Once the caller's transaction commits. The broker down: the sign-up waits at the
    provisioning step for `sweep_signups`."""
    from onboarding.signup.tasks import provision_signup as task

    queue_after_commit(task, signup_id, what="a sign-up's provisioning")


def sweep_signups() -> int:
    """What the sweeper does every few minutes (the `signup.sweep` task): move paid
    sign-ups on if a payment was confirmed while nobody was watching (the webhook came
    after the payer left), queue again the provisioning of ones whose message was lost or
    whose worker died, and forget abandoned ones. Returns how many of the sign-ups waiting
    at the payment step turned out to be paid."""
    from onboarding.signup.tasks import provision_signup as task

    with _public():
        moved = 0
        for signup in Signup.objects.filter(step=Step.PAYMENT):
            moved += note_payment(signup)
        stuck = timezone.now() - STUCK_PROVISIONING
        # Not provisioned yet, or provisioned (linked) by a worker that died before
        # finishing: the task picks up either where it stopped.
        for signup in Signup.objects.filter(step=Step.PROVISIONING, updated_at__lt=stuck):
            task.delay(signup.pk)
        expire_signups()
    return moved


def expire_signups(now=None) -> int:  # noqa: ANN001 - an aware datetime
    """Forget sign-ups abandoned before paying."""
    now = now or timezone.now()
    with _public():
        stale = Signup.objects.filter(paid_at__isnull=True, updated_at__lt=now - SIGNUP_LIFETIME)
        count = stale.count()
        stale.delete()
    return count


def _progress(signup_id: int, percent: int, note: str, **only: object) -> None:
    """Show the progress page how far the task is, at once (outside any transaction);
    `only` narrows which state of the sign-up it applies to."""
    rows = Signup.objects.filter(pk=signup_id, **only).exclude(step=Step.READY)
    rows.update(progress=percent, progress_note=note, updated_at=timezone.now())


def _not_yet_paid(signup: Signup) -> None:
    if signup.paid_at is not None:
        raise SignupError("This sign-up is paid for; its details can no longer change.")


def _save(signup: Signup) -> None:
    signup.updated_at = timezone.now()
    with _public():
        signup.save()


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)
