"""The hazard log (docs/clinical-safety/hazard-log.md) names, for each control, the test that
proves it. A renamed or deleted test must not leave a control claiming proof it lacks."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "docs" / "clinical-safety" / "hazard-log.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")

REQUIRED_HAZARDS = (
    "A severe story is missed or delayed",
    "An alert is sent to the wrong organisation",
    "A safeguarding concern is not acted on",
    "An author is re-identified",
    "A response is published to the wrong story",
    "A withdrawn story is still visible",
)


def _hazards(text: str) -> dict[str, str]:
    sections = re.split(r"^## (H\d+\. .+)$", text, flags=re.MULTILINE)
    return dict(zip(sections[1::2], sections[2::2], strict=True))


def test_the_log_covers_every_hazard_the_issue_names() -> None:
    titles = " ".join(_hazards(LOG.read_text()))
    for hazard in REQUIRED_HAZARDS:
        assert hazard in titles, hazard


def test_each_hazard_gives_causes_effect_risk_before_and_after_and_tested_controls() -> None:
    for title, body in _hazards(LOG.read_text()).items():
        for part in ("**Causes.**", "**Effect.**", "**Initial risk.**", "**Residual risk.**"):
            assert part in body, f"{title}: no {part}"
        controls = body.split("**Controls and their tests.**", 1)
        assert len(controls) == 2, f"{title}: no controls"
        assert REFERENCE.search(controls[1]), f"{title}: no control names its test"


def test_every_test_the_log_names_exists() -> None:
    references = REFERENCE.findall(LOG.read_text())
    assert len(references) > 30
    for path, function in references:
        source = ROOT / path
        assert source.is_file(), f"{path} does not exist"
        if function:
            assert re.search(rf"^def {function}\(", source.read_text(), re.MULTILINE), (
                f"{path} has no test {function}"
            )
