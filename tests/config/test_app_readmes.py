"""Every app's README reads as the same short list (README.md, "Apps and how they talk"):
what it owns, its operations, the signals it sends and receives, its tasks, pages and
imports. The modules a README names must exist, so a rename or a move that forgets the
README fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("tenants", "feedback", "alerts", "dashboards", "billing", "onboarding")
# A word each README has a `## ` heading for.
HEADINGS = ("owns", "operations", "signals", "tasks", "pages", "imports")
# A module named in backticks: `matching.py`, `reports/rendering.py`, `tenants/outbox.py`.
MODULE = re.compile(r"`([\w./]+\.py)`")


def headings(text: str) -> list[str]:
    return [line[3:].strip().lower() for line in text.splitlines() if line.startswith("## ")]


def section(text: str, word: str) -> str:
    """The lines under the first `## ` heading containing `word`, up to the next one."""
    lines: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.startswith("## "):
            if inside:
                break
            inside = word in line.lower()
        elif inside:
            lines.append(line)
    return "\n".join(lines)


def operations_modules(text: str) -> list[str]:
    """The modules the operations table's first column names (its header and rule skipped)."""
    modules = []
    for line in section(text, "operations").splitlines():
        cells = line.split("|")
        if not line.startswith("|") or len(cells) < 3:
            continue
        modules += MODULE.findall(cells[1])
    return modules


def missing_operations(app: str, text: str) -> list[str]:
    """Modules of the operations table that are not in `app`."""
    return [module for module in operations_modules(text) if not (ROOT / app / module).is_file()]


def missing_anywhere(app: str, text: str) -> list[str]:
    """Modules named anywhere in the README that are neither in `app` nor in the repository
    at that path (`tenants/outbox.py` from another app's README)."""
    return [
        module
        for module in MODULE.findall(text)
        if not (ROOT / app / module).is_file() and not (ROOT / module).is_file()
    ]


def readme(app: str) -> str:
    return (ROOT / app / "README.md").read_text()


@pytest.mark.parametrize("app", APPS)
def test_each_app_has_a_readme_with_the_usual_headings(app: str) -> None:
    assert (ROOT / app / "README.md").is_file(), f"{app}/README.md is missing"
    found = headings(readme(app))
    missing = [word for word in HEADINGS if not any(word in heading for heading in found)]
    assert missing == [], f"{app}/README.md has no heading for {missing} (it has {found})"


@pytest.mark.parametrize("app", APPS)
def test_every_module_an_operations_table_names_is_in_its_app(app: str) -> None:
    text = readme(app)
    assert operations_modules(text), f"{app}/README.md's operations table names no module"
    assert missing_operations(app, text) == []


@pytest.mark.parametrize("app", APPS)
def test_every_module_a_readme_names_exists(app: str) -> None:
    assert missing_anywhere(app, readme(app)) == []


def test_a_renamed_module_or_a_lost_heading_is_caught() -> None:
    text = readme("dashboards")
    assert "`reports/rendering.py`" in text
    renamed = text.replace("`reports/rendering.py`", "`reports/renderer.py`")
    assert missing_operations("dashboards", renamed) == ["reports/renderer.py"]
    assert missing_anywhere("dashboards", renamed) == ["reports/renderer.py"]
    # A module of another app is not one of this app's, whatever the README says.
    moved = text.replace("| `queries.py` |", "| `alerts/matching.py` |")
    assert missing_operations("dashboards", moved) == ["alerts/matching.py"]
    # Outside the table, a path from the repository's root is good.
    assert missing_anywhere("dashboards", moved) == []
    without_tasks = text.replace("## Tasks", "## Background work")
    assert not any("tasks" in heading for heading in headings(without_tasks))
