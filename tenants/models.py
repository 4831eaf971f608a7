"""Organisations (the tenants), their domains, and the networks that compare them.

All of this lives in the public schema. Each organisation's own data lives in its schema.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_tenants.models import DomainMixin, TenantMixin

from tenants.crypto import SealedTextField
from tenants.ods import normalise_ods_code, validate_ods_code
from tenants.slugs import validate_slug

# A host an organisation lets frame its widget: `www.example.nhs.uk`, `*.example.org`,
# optionally with https://. Anything else (paths, quotes, spaces) would widen the policy.
EMBED_HOST = re.compile(
    r"^(https://)?(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(:\d{1,5})?$"
)


def validate_embed_host(value: str) -> None:
    if not EMBED_HOST.match(value):
        raise ValidationError(
            f"“{value}” is not a host name like www.example.nhs.uk or *.example.nhs.uk.",
            code="embed_host",
        )


class OrganisationKind(models.TextChoices):
    ACUTE_TRUST = "acute trust", "Acute trust"
    MENTAL_HEALTH_TRUST = "mental health trust", "Mental health trust"
    COMMUNITY_TRUST = "community trust", "Community trust"
    AMBULANCE_TRUST = "ambulance trust", "Ambulance trust"
    CCG_ICB = "ccg/icb", "CCG / ICB"
    GP_PRACTICE = "gp practice", "GP practice"
    HOSPICE = "hospice", "Hospice"
    CARE_HOME = "care home", "Care home"
    OTHER = "other", "Other"


class Region(models.TextChoices):
    NORTH_EAST_AND_YORKSHIRE = "north east and yorkshire", "North East and Yorkshire"
    NORTH_WEST = "north west", "North West"
    MIDLANDS = "midlands", "Midlands"
    EAST_OF_ENGLAND = "east of england", "East of England"
    LONDON = "london", "London"
    SOUTH_EAST = "south east", "South East"
    SOUTH_WEST = "south west", "South West"
    SCOTLAND = "scotland", "Scotland"
    WALES = "wales", "Wales"
    NORTHERN_IRELAND = "northern ireland", "Northern Ireland"


class OrganisationStatus(models.TextChoices):
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class OrganisationQuerySet(models.QuerySet["Organisation"]):
    def subscribers(self) -> OrganisationQuerySet:
        """Real organisations: everything but the hub's own public-schema row."""
        return self.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)

    def ready(self) -> OrganisationQuerySet:
        return self.subscribers().filter(status=OrganisationStatus.ACTIVE)


class Organisation(TenantMixin):
    name = models.CharField(max_length=200)
    # `<slug>.<BASE_DOMAIN>` is the organisation's workspace; empty only for the hub row.
    slug = models.CharField(max_length=40, unique=True, validators=[validate_slug])
    kind = models.CharField(max_length=32, choices=OrganisationKind.choices)
    ods_code = models.CharField("ODS code", max_length=6, blank=True)
    region = models.CharField(max_length=32, choices=Region.choices, blank=True)
    status = models.CharField(
        max_length=16, choices=OrganisationStatus.choices, default=OrganisationStatus.PROVISIONING
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When provisioning finished; null while the schema is being made.
    ready_at = models.DateTimeField(null=True, blank=True)
    # Hosts allowed to frame this organisation's widget (Content-Security-Policy frame-ancestors).
    embed_hosts = ArrayField(
        models.CharField(max_length=260, validators=[validate_embed_host]),
        default=list,
        blank=True,
    )
    # Domains staff email addresses are in; alert rules may send only to these.
    email_domains = ArrayField(models.CharField(max_length=253), default=list, blank=True)
    # Every member of staff signs in with a second factor, not administrators only
    # (tenants/accounts/second_factor.py).
    require_second_factor = models.BooleanField(
        "Require a second factor for all staff", default=False
    )
    # How to complain or reach PALS, shown before a story is written (blank: the general
    # NHS advice only).
    pals_details = models.TextField("Complaints and PALS details", blank=True, max_length=1000)
    # The language its widget, kiosk, display screens and organisation page are shown in when
    # the visitor has not chosen one (feedback/languages.py); blank: the visitor's browser's.
    default_language = models.CharField(
        "Language of your public pages",
        max_length=8,
        blank=True,
        default="",
        db_default="",
        choices=[
            ("", "The visitor's own language (from their browser)"),
            ("en-gb", "English"),
            ("cy", "Cymraeg (Welsh)"),
        ],
    )
    # A safeguarding concern nobody acknowledges in this many hours goes to the
    # administrators and to platform staff (feedback/safeguarding.py).
    safeguarding_escalate_hours = models.PositiveSmallIntegerField(
        "Hours before an unacknowledged safeguarding concern escalates",
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(72)],
    )

    # Provisioning makes the schema itself, inside its transaction (tenants/provisioning.py).
    auto_create_schema = False
    auto_drop_schema = True

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["ods_code"], condition=~Q(ods_code=""), name="unique_ods_code"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.ods_code:
            self.ods_code = normalise_ods_code(self.ods_code)
            try:
                validate_ods_code(self.ods_code, self.kind)
            except ValidationError as exc:
                raise ValidationError({"ods_code": exc.messages}) from None

    @property
    def is_hub(self) -> bool:
        return self.schema_name == settings.PUBLIC_SCHEMA_NAME

    @property
    def is_ready(self) -> bool:
        return self.status == OrganisationStatus.ACTIVE

    def workspace_url(self, path: str = "/") -> str:
        domain = self.get_primary_domain()
        host = domain.domain if domain else settings.BASE_DOMAIN
        return public_url(host, path)


def public_url(host: str, path: str = "/") -> str:
    """The URL people type for `host`, with the configured scheme and port."""
    scheme = settings.PUBLIC_SCHEME
    port = settings.PUBLIC_PORT
    default_port = 443 if scheme == "https" else 80
    netloc = host if port in (default_port, 0) else f"{host}:{port}"
    return f"{scheme}://{netloc}{path}"


class Domain(DomainMixin):
    class Meta:
        ordering = ["domain"]


class Network(models.Model):
    """Organisations that agree to be compared, led by one of them (usually a commissioner)."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    lead = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="led_networks")
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MembershipStatus(models.TextChoices):
    INVITED = "invited"
    ACTIVE = "active"
    DECLINED = "declined"
    LEFT = "left"


class NetworkMembership(models.Model):
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="network_memberships"
    )
    status = models.CharField(
        max_length=16, choices=MembershipStatus.choices, default=MembershipStatus.INVITED
    )
    # Whether the member agrees to appear by name in the network's comparisons.
    benchmarking_consent = models.BooleanField(default=False)
    invited_at = models.DateTimeField(default=timezone.now)
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    consent_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["network", "organisation__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["network", "organisation"], name="one_membership_per_network"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} in {self.network} ({self.status})"

    @property
    def is_comparable(self) -> bool:
        """Only active members who consented appear in comparisons."""
        return self.status == MembershipStatus.ACTIVE and self.benchmarking_consent


class NetworkStandards(models.Model):
    """How soon a network's lead expects its members to answer stories: one allowance per
    criticality, in the words members use for their own response targets ("same day",
    "7 days", "48 hours": alerts/targets.py). Set only by the lead's administrators, through
    `dashboards.network_standards.set_network_standards`, which checks each allowance; the
    comparison measures members against them (`dashboards.compliance`)."""

    network = models.OneToOneField(Network, on_delete=models.CASCADE, related_name="standards")
    # {criticality: allowance}; a criticality left out has no network standard.
    allowances = models.JSONField(default=dict)
    # A member "meets" the standards in a period when at least this share of its stories
    # was answered in time.
    met_percent = models.PositiveSmallIntegerField(
        default=90, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    changed_at = models.DateTimeField(default=timezone.now)
    # The lead's administrator who last changed them, named (they are staff of its schema).
    changed_by = models.CharField(max_length=254, blank=True)

    class Meta:
        verbose_name_plural = "network standards"

    def __str__(self) -> str:
        return f"Standards of {self.network}"


class NetworkInvitation(models.Model):
    """An invitation to a network sent to an email address, for an organisation that is not
    (yet) on Carevoice. Once that organisation's workspace exists, its administrators find
    it waiting (matched by their address or the organisation's email domains) and accepting
    or declining turns it into a NetworkMembership (tenants/networks.py)."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="email_invitations")
    email = models.EmailField()
    # Who sent it, named (they are staff of the lead's schema).
    invited_by = models.CharField(max_length=254, blank=True)
    invited_at = models.DateTimeField(default=timezone.now)
    # The membership it became, once the organisation answered.
    membership = models.ForeignKey(
        NetworkMembership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["network", "-invited_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["network", "email"],
                condition=Q(claimed_at__isnull=True, revoked_at__isnull=True),
                name="one_open_email_invitation_per_network",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} invited to {self.network}"

    @property
    def is_open(self) -> bool:
        return self.claimed_at is None and self.revoked_at is None


class OutboxMessageState(models.TextChoices):
    WAITING = "waiting", "Waiting"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    # Failed OUTBOX_MAX_ATTEMPTS times: waits for platform staff to retry it.
    PARKED = "parked", "Parked"


class OutboxChannel(models.TextChoices):
    EMAIL = "email", "Email"
    # A text message, sent through the SMS seam (tenants/sms.py); the body is `text_body`.
    SMS = "sms", "SMS"


class OutboxMessage(models.Model):
    """One outgoing email (or text message: `channel`), written in the transaction of the
    event it tells of, and sent exactly once from this row (tenants/messages.py). The
    recipient, subject, bodies and attachments are encrypted with the contact keys
    (tenants/crypto.py): an author's address is personal data, and so is what we write to
    them."""

    # What the message is, e.g. "feedback.rejection"; for the staff page and the log.
    kind = models.CharField(max_length=60)
    # How it goes: an email (the default), or a text message to a mobile number (whose
    # `recipient` is the number, `text_body` the text, and whose subject is empty).
    channel = models.CharField(
        max_length=5, choices=OutboxChannel.choices, default=OutboxChannel.EMAIL
    )
    # Writing the same key twice writes one row: the event's own name, e.g. "rejection:42".
    key = models.CharField(max_length=200, unique=True)
    recipient = SealedTextField()
    subject = SealedTextField()
    text_body = SealedTextField()
    html_body = SealedTextField(blank=True, default="")
    # Text attachments as a JSON list of {filename, content, mimetype} (a training booking's
    # calendar file); empty for none. Erased with the bodies once sent.
    attachments = SealedTextField(blank=True, default="")
    # The organisation it concerns, if any (an author's story may be for none yet).
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(
        max_length=10, choices=OutboxMessageState.choices, default=OutboxMessageState.WAITING
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # The last failure's text (the mail server's reply); never the recipient's address.
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} ({self.state})"


class SchemaMigrationState(models.Model):
    """A schema last seen with every migration on disk applied, and which set that was
    (tenants/migrating.py): a plain `migrate` skips it without reading its own
    `django_migrations`, so a deploy with nothing to do costs one query, not one per schema.

    Written when a check finds a schema complete and when `migrate` brings one up to date;
    forgotten (the schema is read again) after a restore or any other `migrate`."""

    schema_name = models.CharField(max_length=63, primary_key=True)
    # SHA-256 of the sorted "app.name" of every migration on disk when it was recorded.
    complete_for = models.CharField(max_length=64)
    recorded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.schema_name} complete for {self.complete_for[:12]}"
