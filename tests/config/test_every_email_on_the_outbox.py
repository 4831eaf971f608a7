"""Every outgoing email goes through the outbox: only tenants/messages.py builds a Django
email message, for every email written with `enqueue_email` (alert and report deliveries
included: alerts/sending.py and dashboards/reports/delivering.py hand theirs over). Everything
else writes an outbox row. The scan reads the project's own packages and looks for calls
(by name, by alias, or as an attribute such as `mail.send_mail(...)`), not for definitions:
tenants/accounts/forms.py overrides PasswordResetForm.send_mail, which writes to the
outbox, and that is fine.

Text messages likewise: only tenants/messages.py (the outbox) and tenants/sms.py (the seam)
import the SMS seam or call `send_sms`; everything else writes `enqueue_sms`."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
# What builds or sends a message in django.core.mail.
BUILDERS = frozenset(
    {
        "EmailMessage",
        "EmailMultiAlternatives",
        "send_mail",
        "send_mass_mail",
        "mail_admins",
        "mail_managers",
    }
)
SENDERS = {"tenants/messages.py"}
SMS_SENDERS = {"tenants/messages.py", "tenants/sms.py"}
SMS_MODULE = "tenants.sms"


def project_packages() -> list[Path]:
    """The top-level packages of the installed apps that live in this repository, and
    config (which wires them together)."""
    names = {app.split(".")[0] for app in settings.INSTALLED_APPS} | {"config"}
    return sorted(ROOT / name for name in names if (ROOT / name / "__init__.py").exists())


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def mail_builders(source: str) -> list[tuple[int, str]]:
    """(line, name) of every call that builds or sends a Django email message."""
    tree = ast.parse(source)
    # `from django.core.mail import EmailMessage as Letter` makes Letter(...) a builder too.
    aliases = {
        alias.asname: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("django.core.mail")
        for alias in node.names
        if alias.asname and alias.name in BUILDERS
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _called_name(node.func)
            if name in BUILDERS or name in aliases:
                found.append((node.lineno, aliases.get(name, name)))
    return sorted(found)


def builders_by_file() -> dict[str, list[tuple[int, str]]]:
    found = {}
    for package in project_packages():
        for path in package.rglob("*.py"):
            calls = mail_builders(path.read_text())
            if calls:
                found[path.relative_to(ROOT).as_posix()] = calls
    return found


def test_only_the_outbox_builds_email_messages() -> None:
    found = builders_by_file()
    elsewhere = {path: calls for path, calls in found.items() if path not in SENDERS}
    assert elsewhere == {}, (
        "Write the email to the outbox (tenants.messages.enqueue_email) in the event's "
        f"transaction instead of sending it: {elsewhere}"
    )
    # The scan sees real code: the outbox is found building its messages.
    assert set(found) == SENDERS


def test_the_scan_finds_calls_and_aliases_and_ignores_definitions() -> None:
    apps = {"alerts", "billing", "config", "dashboards", "feedback", "onboarding", "tenants"}
    assert {package.name for package in project_packages()} == apps
    source = (
        "from django.core import mail\n"
        "from django.core.mail import EmailMessage as Letter\n"
        "from django.contrib.auth.forms import PasswordResetForm\n"
        "class Form(PasswordResetForm):\n"
        "    def send_mail(self, *args):\n"
        "        pass\n"
        "def notify():\n"
        "    Letter('s', 'b', to=['x@example.org']).send()\n"
        "    mail.send_mail('s', 'b', None, ['x@example.org'])\n"
        "    mail_admins = None\n"
    )
    assert mail_builders(source) == [(8, "EmailMessage"), (9, "send_mail")]
    forms = (ROOT / "tenants/accounts/forms.py").read_text()
    assert "def send_mail(" in forms and mail_builders(forms) == []


def sms_senders(source: str) -> list[tuple[int, str]]:
    """(line, what) of every import of the SMS seam and every call of `send_sms`."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "") == SMS_MODULE:
            found.append((node.lineno, f"from {SMS_MODULE} import"))
        elif isinstance(node, ast.ImportFrom) and node.module == "tenants":
            if any(alias.name == "sms" for alias in node.names):
                found.append((node.lineno, f"import {SMS_MODULE}"))
        elif isinstance(node, ast.Import):
            if any(alias.name == SMS_MODULE for alias in node.names):
                found.append((node.lineno, f"import {SMS_MODULE}"))
        elif isinstance(node, ast.Call) and _called_name(node.func) == "send_sms":
            found.append((node.lineno, "send_sms"))
    return sorted(found)


def test_only_the_outbox_sends_text_messages() -> None:
    found = {}
    for package in project_packages():
        for path in package.rglob("*.py"):
            calls = sms_senders(path.read_text())
            if calls:
                found[path.relative_to(ROOT).as_posix()] = calls
    elsewhere = {path: calls for path, calls in found.items() if path not in SMS_SENDERS}
    assert elsewhere == {}, (
        "Write the text message to the outbox (tenants.messages.enqueue_sms) in the event's "
        f"transaction instead of sending it: {elsewhere}"
    )
    # The scan sees real code: the outbox imports the seam and sends through it.
    assert "tenants/messages.py" in found


def test_the_sms_scan_finds_imports_and_calls() -> None:
    source = (
        "from tenants.sms import send_sms\n"
        "from tenants import sms\n"
        "import tenants.sms\n"
        "def notify():\n"
        "    sms.send_sms('+447700900123', 'hello')\n"
    )
    assert [what for _, what in sms_senders(source)] == [
        "from tenants.sms import",
        "import tenants.sms",
        "import tenants.sms",
        "send_sms",
    ]
