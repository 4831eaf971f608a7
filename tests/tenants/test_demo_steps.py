"""The demo's steps: apps register them, `seed_demo` runs them in order with one shared
context (organisations, logins, --stories, earlier steps' results) and prints what each
describes, in its listed order."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django_tenants.utils import tenant_context

from tenants.demo_steps import DemoContext, DemoSteps, demo_steps, register_demo_step
from tenants.models import Organisation

PRODUCT_STEPS = [
    "feedback",
    "feedback.entering",
    "feedback.reach",
    "alerts",
    "dashboards",
    "feedback.network_follow_ups",
    "feedback.exports",
    "feedback.languages",
    "feedback.network_discussion",
    "feedback.thanks",
    "feedback.service_limits",
    "network_standards",
    "committee_actions",
    "alerts.network",
    "feedback.topics",
    "billing",
    "onboarding",
    "onboarding.tell_invitations",
    "onboarding.service_administrators",
    "accounts.sso",
    "outbox",
    "reports",
    "reports.member_packs",
    "reports.network_you_said_we_did",
]


def test_steps_run_in_order_sharing_one_context_and_print_in_listed_order() -> None:
    steps = DemoSteps()
    ran: list[str] = []

    def seed_second(context: DemoContext) -> str:
        ran.append("second")
        return f"second saw {context.results['first']} and {context.stories} stories"

    def seed_first(context: DemoContext) -> int:
        ran.append("first")
        assert context.results == {}
        return len(context.organisations)

    # Registered out of order: `order` decides, not the order of registering.
    steps.register(
        "second",
        order=20,
        after=("first",),
        seed=seed_second,
        describe=lambda c: [c.results["second"]],
    )
    steps.register("first", order=10, seed=seed_first, describe=lambda c: ["first's line"])
    steps.register("note", order=30, listed=5, describe=lambda c: [f"{len(c.logins)} logins"])
    context = DemoContext(organisations=["a", "b"], logins=["x"], stories=7)  # type: ignore[list-item]

    steps.seed(context)

    assert ran == ["first", "second"]
    assert context.results == {"first": 2, "second": "second saw 2 and 7 stories"}
    assert "note" not in context.results  # a step without seed only describes
    assert steps.describe(context) == ["1 logins", "first's line", "second saw 2 and 7 stories"]


def test_registering_a_step_again_replaces_it() -> None:
    steps = DemoSteps()
    steps.register("only", order=10, seed=lambda c: "old")
    steps.register("only", order=10, seed=lambda c: "new")
    context = DemoContext(organisations=[], logins=[], stories=0)
    steps.seed(context)
    assert [s.name for s in steps.in_order()] == ["only"]
    assert context.results == {"only": "new"}


def test_a_step_that_would_run_before_what_it_needs_is_refused() -> None:
    steps = DemoSteps()
    steps.register("needs", order=10, after=("needed",), seed=lambda c: None)
    with pytest.raises(ImproperlyConfigured, match="no app registered"):
        steps.in_order()
    steps.register("needed", order=20, seed=lambda c: None)
    with pytest.raises(ImproperlyConfigured, match="must run after 'needed'"):
        steps.seed(DemoContext(organisations=[], logins=[], stories=0))


def test_the_apps_register_their_steps_from_ready() -> None:
    names = [step.name for step in demo_steps.in_order()]
    assert names == [*PRODUCT_STEPS, "feedback.read_api"]
    alerts = next(step for step in demo_steps.in_order() if step.name == "alerts")
    assert alerts.after == ("feedback",) and alerts.seed is not None


@pytest.fixture
def probe() -> Iterator[list[DemoContext]]:
    """A step registered as an app would, after the product's steps; removed afterwards."""
    seen: list[DemoContext] = []

    def seed(context: DemoContext) -> str:
        # The alerts app's own step has run: its rules are there for feedback's providers.
        from alerts.models import AlertRule

        for organisation in context.results["feedback"].providers:
            with tenant_context(organisation):
                assert AlertRule.objects.filter(name="Weekly round-up").exists()
        seen.append(context)
        return "probed"

    register_demo_step(
        "probe",
        order=55,
        after=("alerts", "onboarding"),
        seed=seed,
        describe=lambda c: [f"  Probe: {c.results['probe']} {len(c.organisations)} organisations"],
    )
    yield seen
    demo_steps.unregister("probe")


@pytest.mark.django_db
def test_seed_demo_runs_every_registered_step_with_the_shared_context(
    probe: list[DemoContext],
) -> None:
    out = StringIO()
    call_command("seed_demo", "--stories", "40", stdout=out)
    output = out.getvalue()

    (context,) = probe
    assert context.stories == 40
    assert [o.slug for o in context.organisations] == [
        "northshire-hospitals",
        "northshire-mental-health",
        "northshire-icb",
    ]
    assert "admin@northshire-icb.example" in {login.email for login in context.logins}
    assert set(context.results) >= {*PRODUCT_STEPS, "probe"}
    assert context.results["dashboards"] and all(
        isinstance(o, Organisation) for o in context.results["dashboards"]
    )
    # Printed in listed order: after onboarding's lines, before the read API's.
    probe_at = output.index("  Probe: probed 3 organisations")
    assert output.index("\n  Onboarding:") < probe_at < output.index("Read API")
    assert output.index("Stories:") < output.index("Dashboards:") < output.index("Reports:")
    assert output.index("Reports:") < output.index("Billing (in") < output.index("Onboarding:")
