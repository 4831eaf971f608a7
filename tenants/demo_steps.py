"""The demo's steps: each app adds its part of `manage.py seed_demo` here, from its
AppConfig.ready(), so tenants (where the command lives) imports none of them.

A step seeds its part (idempotently: seeding the demo twice changes nothing) and may
describe it: the lines the command prints once every step has run. Steps run in `order`,
lowest first; `after` names the steps whose data a step needs, and is checked. What a
step's seed returns is kept in the shared context under the step's name, for later steps
and for describing. Descriptions are printed in `listed` order (the step's `order` unless
given), so the printout can read differently from the order things must be made in.

Apps register from ready(), which every process runs, so a step's callables import the
app's demo module only when called: serving processes never load the demo.

The product's steps today (leave gaps in `order`, so a new step fits between):

    order listed  step               what it makes
    10    10      feedback           sites, services, stories, responses, moderation, privacy
    12    12      feedback.entering  a story taker; a paper story with its scan in moderation
    14    14      feedback.reach     leaflet, poster and paper-form links; a display screen
    20    -       alerts             alert rules, and the providers' email domains (which
                                     billing's step then uses for their billing addresses)
    30    30      dashboards         more providers in the network; rollups rebuilt
    32    32      feedback.network_follow_ups  the ICB's story log of offline follow-ups
    34    34      feedback.languages  a Welsh-default hospice and a story told in Welsh
    36    36      network_standards  the ICB's response standards; a prompt and a slow member
    38    38      alerts.network     the ICB's network alert rules, fired by members' stories
    40    40      billing            subscriptions
    50    50      onboarding         training sessions, staff and network invitations
    52    52      onboarding.tell_invitations  a batch of invitations to tell, email and SMS
    58    58      outbox (tenants)   outgoing emails: one sent, one retried, one parked
    60    35      reports            a scheduled report and its delivery (after billing: its
                                     network packs need the ICB's plan); You said, we did
    60    37      reports.member_packs  each consenting member's own pack, to its own
                                     recipient (same order as reports, runs after it by name)
    60    38      reports.network_you_said_we_did  the ICB's website as an embed host, for
                                     the network's You said, we did (runs after it by name)
    61    61      feedback.read_api  nothing: prints the read API key, last
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from tenants.demo import Login
    from tenants.models import Organisation


@dataclass
class DemoContext:
    """What the steps share: the demo's organisations and logins (tenants makes them before
    any step runs), how many stories `--stories` asked for, and each step's result."""

    organisations: list[Organisation]
    logins: list[Login]
    stories: int
    results: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoStep:
    name: str
    order: int
    # Makes the step's part of the demo; what it returns goes in context.results[name].
    seed: Callable[[DemoContext], Any] | None = None
    # The lines `seed_demo` prints for this step, each written as it is.
    describe: Callable[[DemoContext], list[str]] | None = None
    after: tuple[str, ...] = ()
    listed: int | None = None

    @property
    def listed_at(self) -> int:
        return self.order if self.listed is None else self.listed


class DemoSteps:
    """A set of steps, by name. The product's is `demo_steps`; tests may make their own."""

    def __init__(self) -> None:
        self._steps: dict[str, DemoStep] = {}

    def register(
        self,
        name: str,
        *,
        order: int,
        seed: Callable[[DemoContext], Any] | None = None,
        describe: Callable[[DemoContext], list[str]] | None = None,
        after: tuple[str, ...] = (),
        listed: int | None = None,
    ) -> DemoStep:
        """Add the step called `name`, or replace it (an app's ready() may run twice)."""
        step = DemoStep(name, order, seed, describe, tuple(after), listed)
        self._steps[name] = step
        return step

    def unregister(self, name: str) -> None:
        self._steps.pop(name, None)

    def in_order(self) -> list[DemoStep]:
        """Every step in the order it runs. Raises ImproperlyConfigured when a step would
        run before a step it names in `after`, or names one nobody registered."""
        steps = sorted(self._steps.values(), key=lambda s: (s.order, s.name))
        position = {step.name: index for index, step in enumerate(steps)}
        for index, step in enumerate(steps):
            for needed in step.after:
                if needed not in position:
                    raise ImproperlyConfigured(
                        f"The demo step {step.name!r} runs after {needed!r}, which no app "
                        "registered."
                    )
                if position[needed] >= index:
                    raise ImproperlyConfigured(
                        f"The demo step {step.name!r} must run after {needed!r}: give it a "
                        "higher order."
                    )
        return steps

    def seed(self, context: DemoContext) -> None:
        """Run every step's seed in order, keeping each result in the context."""
        for step in self.in_order():
            if step.seed is not None:
                context.results[step.name] = step.seed(context)

    def describe(self, context: DemoContext) -> list[str]:
        """Every step's lines, in `listed` order, once the steps have seeded."""
        steps = sorted(self.in_order(), key=lambda s: (s.listed_at, s.order, s.name))
        return [line for step in steps if step.describe for line in step.describe(context)]


demo_steps = DemoSteps()
register_demo_step = demo_steps.register
