"""Every public template is translatable: once Django's tags, variables, comments, the text
inside {% translate %} / {% blocktranslate %} and the HTML markup are taken away, no words
may remain (issue #18, "A test fails if a public template has untranslated text").

Visible attribute values (alt, title, placeholder, aria-label) count as text. Brand and
language names, which are the same in every language, are allowed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / "feedback" / "templates" / "hub"

# Public templates outside hub/*.html (the glob below), listed one by one.
EXPLICIT = [
    "feedback/reach/templates/reach/display.html",
    "feedback/templates/hub/your_story/ask.html",
    "feedback/templates/hub/your_story/ask_sent.html",
    "feedback/templates/hub/your_story/link_refused.html",
    "feedback/templates/hub/your_story/page.html",
    "feedback/templates/hub/your_story/withdrawn_story.html",
    # The error pages, every visitor's.
    *(f"config/templates/{code}.html" for code in ("400", "403", "403_csrf", "404", "500", "503")),
    # /pricing/ (the sign-up pages after it are for organisations, and stay in English).
    "onboarding/signup/templates/signup/pricing.html",
    # You said, we did: an organisation's, a network's, its embed, and their shared list.
    "dashboards/templates/hub/you_said_we_did.html",
    "dashboards/templates/hub/network_you_said_we_did.html",
    "dashboards/templates/hub/network_you_said_we_did_embed.html",
    "dashboards/templates/hub/_network_changes.html",
    # The emails to authors (not the ones to platform staff: moderation_backlog,
    # safeguarding_escalated, which stay in English with the staff workspace).
    *(
        f"feedback/templates/hub/email/{name}.{ext}"
        for name in ("received", "published", "rejection", "response", "withdrawn")
        for ext in ("txt", "html")
    ),
]
# hub/*.html that only staff see (none today; moderation/ is a sub-directory, not globbed).
STAFF_ONLY: set[str] = set()


def public_templates() -> list[str]:
    globbed = sorted(
        str(path.relative_to(ROOT)) for path in HUB.glob("*.html") if path.name not in STAFF_ONLY
    )
    return globbed + EXPLICIT


# Words that are the same in every language.
ALLOWED = {"Carevoice", "English", "Cymraeg"}

VISIBLE_ATTRIBUTES = re.compile(
    r'\b(?:alt|title|placeholder|aria-label)\s*=\s*"([^"]*)"', re.IGNORECASE
)


def untranslated_text(source: str) -> list[str]:
    text = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    # Blocks that fill an attribute, not the page (widget_base.html's body class).
    text = re.sub(r"\{%\s*block body_class\s*%\}.*?\{%\s*endblock\s*%\}", " ", text)
    text = re.sub(r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", " ", text, flags=re.S)
    text = re.sub(
        r"\{%\s*blocktrans(?:late)?\b.*?%\}.*?\{%\s*endblocktrans(?:late)?\s*%\}",
        " ",
        text,
        flags=re.S,
    )
    text = re.sub(r"\{%.*?%\}", " ", text, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}", " ", text, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S | re.IGNORECASE)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    visible = VISIBLE_ATTRIBUTES.findall(text)
    text = re.sub(r"<!doctype[^>]*>", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"<[^>]*>", " ", text, flags=re.S)
    text = re.sub(r"&[a-zA-Z]+;|&#\d+;", " ", text)
    words = re.findall(r"[^\W\d_][\w'’-]*", " ".join([text, *visible]))
    return [word for word in words if word not in ALLOWED]


def test_the_stripping_finds_plain_text_and_ignores_translated_text() -> None:
    assert untranslated_text('<p title="Hello">{% translate "Hi" %}</p>') == ["Hello"]
    assert not untranslated_text(
        '<p class="x" id="y">{% blocktranslate trimmed %}A {{ b }}{% endblocktranslate %}</p>'
    )
    assert untranslated_text("<h1>Tell your story</h1>") == ["Tell", "your", "story"]
    assert not untranslated_text('<a href="/">Carevoice</a> {{ story.title }} · 2')


@pytest.mark.parametrize("template", public_templates())
def test_public_template_has_no_untranslated_text(template: str) -> None:
    source = (ROOT / template).read_text(encoding="utf-8")
    leftover = untranslated_text(source)
    assert not leftover, f"{template} has text outside {{% translate %}}: {leftover[:12]}"


def test_the_list_covers_the_public_pages() -> None:
    listed = public_templates()
    for expected in (
        "feedback/templates/hub/tell.html",
        "feedback/templates/hub/sent.html",
        "feedback/templates/hub/widget.html",
        "feedback/templates/hub/kiosk.html",
        "feedback/templates/hub/author_response.html",
        "feedback/reach/templates/reach/display.html",
        "config/templates/404.html",
        "config/templates/500.html",
        "onboarding/signup/templates/signup/pricing.html",
        "dashboards/templates/hub/you_said_we_did.html",
        "dashboards/templates/hub/network_you_said_we_did_embed.html",
    ):
        assert expected in listed
