"""An organisation's own complaints and PALS details, which its administrators set.

Every story form (hub, widget, kiosk) opens with the same notice
(feedback/templates/hub/_what_to_expect.html): not for emergencies, not a complaint, where
to get urgent mental-health help. Where the story is about a known organisation, the notice
shows these details; without them, authors get the general advice. They are the
organisation's own settings, so `tenants` writes them; feedback's Widget page calls
`set_pals_details` and its story forms read `Organisation.pals_details`.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest

from tenants.accounts.models import User
from tenants.audit.recording import record_audit
from tenants.models import Organisation

# Organisation.pals_details holds no more (the form says so; the column does not enforce it).
MAX_PALS_CHARACTERS = 1000


def set_pals_details(
    organisation: Organisation,
    details: str,
    *,
    actor: User,
    request: HttpRequest | None = None,
) -> Organisation:
    """Set how authors can complain to ``organisation`` or reach its PALS, shown before a
    story about it is written. Run in the organisation's schema, where the audit row
    belongs. The text is the administrator's own and is shown escaped."""
    details = details.replace("\r\n", "\n").strip()
    if len(details) > MAX_PALS_CHARACTERS:
        raise ValueError(f"PALS details are limited to {MAX_PALS_CHARACTERS:,} characters.")
    with transaction.atomic():
        organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
        previous = organisation.pals_details
        if previous == details:
            return organisation
        organisation.pals_details = details
        organisation.save(update_fields=["pals_details"])
        record_audit(
            "organisation.pals_details_changed",
            actor=actor,
            target=organisation,
            summary=(
                "Changed the complaints and PALS details shown before a story is written"
                if details
                else "Removed the complaints and PALS details (authors get the general advice)"
            ),
            detail={"from": previous, "to": details},
            request=request,
        )
    return organisation
