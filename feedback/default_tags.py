"""The default tag taxonomy every organisation starts with (seeded by a data migration)."""

from __future__ import annotations

from feedback.choices import Polarity, TagGroup

DEFAULT_TAGS: list[tuple[str, str, str]] = [
    # (name, group, polarity)
    *[
        (name, TagGroup.GOOD, Polarity.POSITIVE)
        for name in (
            "kind staff",
            "caring",
            "listened to",
            "explained clearly",
            "quick",
            "professional",
            "clean",
            "good food",
            "involved in decisions",
            "pain well managed",
            "respectful",
            "good communication",
            "felt safe",
            "well organised",
            "helpful reception",
        )
    ],
    *[
        (name, TagGroup.IMPROVE, Polarity.NEGATIVE)
        for name in (
            "waiting time",
            "communication",
            "staff attitude",
            "not listened to",
            "discharge",
            "appointments",
            "car parking",
            "food",
            "cleanliness",
            "pain relief",
            "noise at night",
            "information",
            "medication",
            "staffing levels",
            "privacy",
            "access",
            "test results",
        )
    ],
    *[
        (name, TagGroup.FEELINGS, polarity)
        for name, polarity in (
            ("grateful", Polarity.POSITIVE),
            ("reassured", Polarity.POSITIVE),
            ("safe", Polarity.POSITIVE),
            ("cared for", Polarity.POSITIVE),
            ("happy", Polarity.POSITIVE),
            ("anxious", Polarity.NEGATIVE),
            ("frustrated", Polarity.NEGATIVE),
            ("ignored", Polarity.NEGATIVE),
            ("angry", Polarity.NEGATIVE),
            ("upset", Polarity.NEGATIVE),
            ("confused", Polarity.NEGATIVE),
            ("scared", Polarity.NEGATIVE),
            ("relieved", Polarity.NEUTRAL),
        )
    ],
]


def tag_key(name: str, group: str) -> str:
    """How a tag is named in forms and filters: `group:name`."""
    return f"{group}:{name}"


def parse_tag_key(key: str) -> tuple[str, str]:
    group, _, name = key.partition(":")
    return name, group


DEFAULT_TAG_LOOKUP = {tag_key(name, group): (name, group, pol) for name, group, pol in DEFAULT_TAGS}
