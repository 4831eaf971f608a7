"""Single sign-on with OpenID Connect, configured per organisation (`SingleSignOn`, in its
schema): NHS organisations sign their staff in with Microsoft Entra ID (NHSmail).

The flow is the authorisation code flow with PKCE, through Authlib's Django client:
`start_sign_in` sends the browser to the provider with a state and a nonce kept in the
session; `finish_sign_in` takes the code back, exchanges it at the provider's token endpoint
(server to server), and checks the ID token: its signature against the provider's published
keys, its issuer (the configured one, which the discovery document must also name), its
audience (our client id), its nonce and its times. Then:

- the address must be verified and in one of the organisation's allowed domains;
- the account with that address in this organisation signs in; with none, one is made just
  in time with the configured default role (never administrator), within the plan's seats;
  an account switched off here stays off;
- the session counts as past the second factor: the provider checks its own (NHSmail
  requires one), and asking again would only send people round twice.

An administrator sets it up on /accounts/single-sign-on/. Password sign-in can be turned off
only once a sign-in through the provider has worked, so an organisation cannot lock itself
out with a mistyped issuer. Everything is audited; the client secret is kept encrypted
(tenants/crypto.py) and never shown or logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.django_client import OAuth
from django.conf import settings
from django.contrib.auth import login
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from joserfc.errors import JoseError

from tenants.accounts.models import Role, SingleSignOn, User
from tenants.audit.recording import record_audit
from tenants.crypto import decrypt_text, encrypt_text
from tenants.gate import SeatLimitReached, check_seat_available
from tenants.signals import account_made_at_sign_on

logger = logging.getLogger(__name__)

# Session keys: where to go after signing in, and that this session signed in through it.
NEXT_KEY = "_sso_next"
SIGNED_IN_KEY = "_sso_signed_in"
# Hosts an issuer may use plain http on: this machine (the local provider).
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
HTTP_TIMEOUT = 10
ROLES_MADE = (Role.MEMBER, Role.RESPONDER)


class SsoError(Exception):
    """Signing in through the provider did not work; the message says why, for people."""


def configuration() -> SingleSignOn | None:
    """This organisation's single sign-on, or None (the hub has none)."""
    if connection.schema_name == settings.PUBLIC_SCHEMA_NAME:
        return None
    return SingleSignOn.objects.first()


def active_configuration() -> SingleSignOn | None:
    config = configuration()
    return config if config is not None and config.enabled else None


def password_sign_in_allowed() -> bool:
    config = active_configuration()
    return config is None or config.password_sign_in


def signed_in_through_provider(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated) and request.session.get(SIGNED_IN_KEY) == user.pk


# --- setting it up -------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    enabled: bool
    provider_name: str
    issuer: str
    client_id: str
    client_secret: str  # empty: keep the one kept
    allowed_domains: list[str]
    password_sign_in: bool
    default_role: str


def check_issuer(issuer: str) -> str:
    parts = urlsplit(issuer.strip())
    if parts.scheme == "https" and parts.hostname:
        return issuer.strip().rstrip("/")
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return issuer.strip().rstrip("/")
    raise SsoError("The issuer must be an https:// address (plain http only on this machine).")


def save_configuration(
    wanted: Settings, *, actor: User, request: HttpRequest | None = None
) -> SingleSignOn:
    with transaction.atomic():
        config = SingleSignOn.objects.select_for_update().first() or SingleSignOn()
        domains = sorted(
            {d.strip().lower().lstrip("@") for d in wanted.allowed_domains if d.strip()}
        )
        if not domains:
            raise SsoError("Name at least one email domain whose staff may sign in.")
        if wanted.default_role not in ROLES_MADE:
            raise SsoError("Accounts made at first sign-in are members or responders.")
        if not wanted.client_secret and not config.client_secret_encrypted:
            raise SsoError("Enter the client secret your provider gave you.")
        if not wanted.password_sign_in and config.last_signed_in_at is None:
            raise SsoError(
                "Keep password sign-in on until someone has signed in through the provider, "
                "so a mistake in these settings cannot lock everyone out."
            )
        if not wanted.password_sign_in and not wanted.enabled:
            raise SsoError("Password sign-in can be turned off only while single sign-on is on.")
        config.enabled = wanted.enabled
        config.provider_name = wanted.provider_name.strip() or "your organisation"
        config.issuer = check_issuer(wanted.issuer)
        config.client_id = wanted.client_id.strip()
        if wanted.client_secret:
            config.client_secret_encrypted = encrypt_text(wanted.client_secret.strip())
        config.allowed_domains = domains
        config.password_sign_in = wanted.password_sign_in
        config.default_role = wanted.default_role
        config.updated_at = timezone.now()
        config.save()
        record_audit(
            "accounts.sso_configured",
            actor=actor,
            target=config,
            summary=f"Single sign-on {'on' if config.enabled else 'off'} with "
            f"{config.provider_name}; password sign-in "
            f"{'on' if config.password_sign_in else 'off'}",
            detail={
                "issuer": config.issuer,
                "allowed_domains": domains,
                "default_role": config.default_role,
                "secret_changed": bool(wanted.client_secret),
            },
            request=request,
        )
    return config


# --- signing in ----------------------------------------------------------------------------


def _client(config: SingleSignOn) -> Any:
    registry = OAuth()
    return registry.register(
        name=f"sso-{connection.schema_name}",
        client_id=config.client_id,
        client_secret=decrypt_text(config.client_secret_encrypted),
        server_metadata_url=f"{config.issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid email profile",
            "code_challenge_method": "S256",
            "default_timeout": HTTP_TIMEOUT,
        },
    )


def _callback_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("accounts:sso_callback"))


def start_sign_in(request: HttpRequest, next_url: str = "") -> HttpResponse:
    config = active_configuration()
    if config is None:
        raise SsoError("Single sign-on is not set up here.")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        request.session[NEXT_KEY] = next_url
    client = _client(config)
    try:
        _check_discovery(client, config)
        return client.authorize_redirect(request, _callback_url(request))
    except (AuthlibBaseError, OSError, ValueError) as failed:
        logger.warning("single sign-on could not start: %s", type(failed).__name__)
        raise SsoError(
            f"{config.provider_name} could not be reached. Try again in a minute, or sign in "
            "with your password if your organisation allows it."
        ) from failed


def _check_discovery(client: Any, config: SingleSignOn) -> None:
    metadata = client.load_server_metadata()
    if str(metadata.get("issuer", "")).rstrip("/") != config.issuer:
        raise ValueError("the provider names another issuer")


def finish_sign_in(request: HttpRequest) -> tuple[User, str]:
    """Sign in whoever the provider vouches for; (the account, where to go next)."""
    config = active_configuration()
    if config is None:
        raise SsoError("Single sign-on is not set up here.")
    if request.GET.get("error"):
        raise SsoError(f"{config.provider_name} did not sign you in. Please try again.")
    client = _client(config)
    try:
        _check_discovery(client, config)
        token = client.authorize_access_token(request)
    except (AuthlibBaseError, JoseError, OSError, ValueError, KeyError, TypeError) as failed:
        # Never the token or the code: only what kind of failure it was.
        logger.warning("single sign-on refused: %s", type(failed).__name__)
        raise SsoError(
            f"Signing in with {config.provider_name} did not work. Please start again."
        ) from failed
    claims = token.get("userinfo") or {}
    if not claims:
        raise SsoError(f"{config.provider_name} did not say who you are. Please start again.")
    email = str(claims.get("email") or claims.get("preferred_username") or "").strip().lower()
    if "@" not in email or claims.get("email_verified") is False:
        raise SsoError(f"{config.provider_name} did not give a verified email address.")
    if email.rpartition("@")[2] not in config.allowed_domains:
        raise SsoError(
            f"{email} is not in an email domain allowed to sign in here. Ask your "
            "organisation's Carevoice administrators."
        )
    user = _account_for(config, email, str(claims.get("name") or ""), request)
    with transaction.atomic():
        SingleSignOn.objects.filter(pk=config.pk).update(last_signed_in_at=timezone.now())
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session[SIGNED_IN_KEY] = user.pk
        record_audit(
            "accounts.sso_signed_in",
            actor=user,
            target=user,
            summary=f"Signed in with {config.provider_name}",
            request=request,
        )
    return user, request.session.pop(NEXT_KEY, "") or "/"


def _account_for(config: SingleSignOn, email: str, name: str, request: HttpRequest) -> User:
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email__iexact=email).first()
        if user is not None:
            if not user.is_active:
                raise SsoError(
                    "Your account here is switched off. Ask your organisation's Carevoice "
                    "administrators."
                )
            return user
        try:
            check_seat_available(connection.tenant, User.objects.filter(is_active=True).count())
        except SeatLimitReached as full:
            raise SsoError(str(full)) from None
        user = User.objects.create_user(
            email, None, full_name=name.strip()[:150] or email, role=config.default_role
        )
        record_audit(
            "accounts.sso_account_created",
            actor=None,
            actor_label=f"{config.provider_name} (single sign-on)",
            target=user,
            summary=f"Made an account for {email} at their first sign-in with "
            f"{config.provider_name}, as {user.get_role_display().lower()}",
            request=request,
        )
        # An open invitation for the address gives the account its role and services: a
        # person invited to one ward does not see every service by signing on instead.
        account_made_at_sign_on.send(sender=User, user=user, request=request)
        user.refresh_from_db()
        return user
