"""ODS codes: the NHS Organisation Data Service's identifiers for organisations and sites."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

# Organisation-level code formats, by the kind of organisation that carries them.
_TRUST = re.compile(r"^R[A-Z0-9]{2}$")  # e.g. RTH, RX4
_COMMISSIONER = re.compile(r"^(Q[A-Z0-9]{2}|\d{2}[A-Z])$")  # ICB QE1, CCG 00Q
_GP_PRACTICE = re.compile(r"^[A-Z]\d{5}$")  # e.g. A81001
_ANY = re.compile(r"^[A-Z0-9]{3,6}$")

FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "acute trust": (_TRUST, "an NHS trust code is R and two letters or digits, like RTH"),
    "mental health trust": (_TRUST, "an NHS trust code is R and two letters or digits, like RX4"),
    "community trust": (_TRUST, "an NHS trust code is R and two letters or digits, like RYG"),
    "ambulance trust": (_TRUST, "an NHS trust code is R and two letters or digits, like RX9"),
    "ccg/icb": (_COMMISSIONER, "an ICB code is Q and two characters (QE1); a CCG's is like 00Q"),
    "gp practice": (_GP_PRACTICE, "a GP practice code is a letter and five digits, like A81001"),
}


def normalise_ods_code(value: str) -> str:
    return value.strip().upper()


def validate_ods_code(value: str, kind: str | None = None) -> None:
    """Raise ValidationError unless `value` is an ODS code of the right shape for `kind`."""
    code = normalise_ods_code(value)
    if not _ANY.match(code):
        raise ValidationError(
            "An ODS code is 3 to 6 letters and digits, like RTH or A81001.", code="ods_format"
        )
    pattern, advice = FORMATS.get(kind or "", (_ANY, ""))
    if not pattern.match(code):
        raise ValidationError(
            f"{code} is not a valid code for this kind of organisation: {advice}.", code="ods_kind"
        )
