"""Staff accounts.

The same table exists in every schema: in the public schema it holds platform staff
(moderators, support), in each organisation's schema that organisation's staff. A session
belongs to one schema, so an account never reaches beyond its own organisation.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from tenants.accounts.photos import photo_path


class Role(models.TextChoices):
    """What a member of an organisation's staff may do; each role includes the ones before it."""

    MEMBER = "member"
    RESPONDER = "responder"
    ADMINISTRATOR = "administrator"


ROLE_RANK = {Role.MEMBER: 0, Role.RESPONDER: 1, Role.ADMINISTRATOR: 2}


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        if not email:
            raise ValueError("An account needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        fields.setdefault("role", Role.ADMINISTRATOR)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username or "")


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150)
    job_title = models.CharField(max_length=150, blank=True)
    department = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    # Shown with the person's public responses.
    is_clinician = models.BooleanField("I am a clinician", default=False)
    photo = models.ImageField(upload_to=photo_path, blank=True)
    is_active = models.BooleanField(default=True)
    # Django admin access: platform staff in the hub only.
    is_staff = models.BooleanField(default=False)
    # One of the organisation's designated safeguarding contacts: alerted at once to every
    # safeguarding concern a moderator raises, whatever their alert rules say.
    is_safeguarding_contact = models.BooleanField("Safeguarding contact", default=False)
    # May enter stories received on paper, by phone or in person for their authors
    # (feedback/entering.py); granted by the organisation's administrators.
    is_story_taker = models.BooleanField("Story taker", default=False, db_default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    def has_role(self, role: Role | str) -> bool:
        """Whether this account may act as `role` (administrators may do what responders do)."""
        return self.is_active and ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]


class SignedInSession(models.Model):
    """One signed-in session of an account, so the person can see and end it
    (tenants/accounts/signed_in_sessions.py). Lives in the account's schema, beside the
    session itself; the key is never shown, only this row's id."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="signed_in_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    signed_in_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user} since {self.signed_in_at:%Y-%m-%d %H:%M}"


class SingleSignOn(models.Model):
    """An organisation's single sign-on through its OpenID Connect provider (NHS
    organisations: Microsoft Entra ID for NHSmail), one row in its schema
    (tenants/accounts/sso.py). The client secret is kept encrypted."""

    enabled = models.BooleanField(default=False)
    # The sign-in button's words: "Sign in with NHSmail".
    provider_name = models.CharField(max_length=60, default="NHSmail")
    issuer = models.URLField(max_length=300)
    client_id = models.CharField(max_length=200)
    client_secret_encrypted = models.TextField(blank=True)
    # Only addresses in these domains may sign in (and have accounts made for them).
    allowed_domains = ArrayField(models.CharField(max_length=253), default=list)
    # Off: staff sign in only through the provider.
    password_sign_in = models.BooleanField(default=True)
    # The role of an account made at someone's first sign-in.
    default_role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    # The last sign-in through it: password sign-in can be turned off only once one worked.
    last_signed_in_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "single sign-on"

    def __str__(self) -> str:
        return f"Single sign-on with {self.provider_name} ({'on' if self.enabled else 'off'})"
