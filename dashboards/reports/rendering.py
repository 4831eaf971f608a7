"""One renderer for the reports made from a scope: the stories summary and You said, we did,
as PDFs. The download on the page (`views`), the long report a worker makes
(`long_reports`) and the scheduled delivery (`delivering`) all call `render_report`, so the
three can never drift apart.

The figures are read in the schema of the scope's own organisation, named here, whatever
schema happens to be active: a scope of one organisation never shows another's stories.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django_tenants.utils import tenant_context

from dashboards.models import ReportKind
from dashboards.queries import Scope
from dashboards.reports.pdf import summary_pdf, you_said_we_did_pdf
from dashboards.reports.summary import stories_summary
from dashboards.reports.you_said_we_did import changes_made
from tenants.models import Organisation

# The title each kind has unless its caller names it (a scheduled report has its own name).
TITLES: dict[str, str] = {
    ReportKind.SUMMARY.value: "Stories summary",
    ReportKind.YOU_SAID_WE_DID.value: "You said, we did",
}
# How each kind's file name starts; the period follows.
FILE_STEMS: dict[str, str] = {
    ReportKind.SUMMARY.value: "stories-summary",
    ReportKind.YOU_SAID_WE_DID.value: "you-said-we-did",
}


class UnknownReport(ValueError):
    """No report of that kind."""


@dataclass(frozen=True)
class RenderedReport:
    kind: str
    filename: str
    content: bytes
    content_type: str = "application/pdf"

    def as_attachment(self) -> tuple[str, bytes, str]:
        """(file name, content, content type), as an email attachment takes it."""
        return self.filename, self.content, self.content_type


def period_label(scope: Scope) -> str:
    """The period as the report's heading gives it, and whether it is about one service."""
    label = f"{scope.start:%-d %b %Y} to {scope.end:%-d %b %Y}"
    if scope.service_ids is not None:
        label += ", the chosen service and those inside it"
    return label


def render_report(
    kind: str,
    scope: Scope,
    period: str | None = None,
    *,
    title: str | None = None,
    figures_read: Callable[[], None] | None = None,
) -> RenderedReport:
    """The `kind` report ("summary" or "you-said-we-did") over `scope`, as a PDF.

    `period` is how the heading describes the period (`period_label(scope)` when not given)
    and `title` the report's title (the kind's own when not given). `figures_read` is called
    once the figures are read, before the PDF is drawn, for a caller that shows progress.
    Raises UnknownReport for any other kind.
    """
    if kind not in TITLES:
        raise UnknownReport(f"No report of kind {kind!r}.")
    heading = TITLES[kind] if title is None else title
    label = period_label(scope) if period is None else period
    organisation = Organisation.objects.get(pk=scope.organisation_id)
    with tenant_context(organisation):
        if kind == ReportKind.SUMMARY:
            summary = stories_summary(scope)
            if figures_read is not None:
                figures_read()
            content = summary_pdf(
                summary,
                title=heading,
                organisation_name=organisation.name,
                period_label=label,
            )
        else:
            items = changes_made(scope)
            if figures_read is not None:
                figures_read()
            content = you_said_we_did_pdf(
                items,
                title=heading,
                organisation_name=organisation.name,
                period_label=label,
            )
    filename = f"{FILE_STEMS[kind]}-{scope.start.isoformat()}-{scope.end.isoformat()}.pdf"
    return RenderedReport(kind=kind, filename=filename, content=content)
