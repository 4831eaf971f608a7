"""News `tenants` sends to the apps above it, which it may not import.

Sent with `Signal.send` (never `send_robust`), inside the sender's transaction: a receiver
that fails rolls the whole operation back, so what receivers write commits or rolls back
with it. Receivers are connected in their own app's `AppConfig.ready()`.
"""

from __future__ import annotations

from django.dispatch import Signal

# A new organisation's workspace has been made (tenants/provisioning.py,
# `provision_organisation`). Every path that makes one goes through it: sign-up, platform
# staff, `manage.py create_organisation`, the demo.
# Sent: once per organisation, inside the provisioning transaction, with the new
# organisation's schema active (tenant_context), after its first administrator is saved and
# before the organisation is marked active. Nothing is committed yet.
# kwargs: organisation (tenants.Organisation), admin (tenants.accounts.User, the first
# administrator, saved in the organisation's schema).
# Received by: alerts (alerts/receivers.py) makes the default alert rule.
organisation_provisioned = Signal()

# An account has been made just in time, at its first single sign-on
# (tenants/accounts/sso.py, `_account_for`), with the configuration's default role.
# Sent: inside the transaction that makes it, with the organisation's schema active, after
# the account and its audit row are saved. Nothing is committed yet.
# kwargs: user (tenants.accounts.User), request (the callback's HttpRequest).
# Received by: onboarding (onboarding/invitations.py `honour_invitation_at_sign_on`): an open
# staff invitation for the address gives the account its role and its services.
account_made_at_sign_on = Signal()
