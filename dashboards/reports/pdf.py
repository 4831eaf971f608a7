"""Reports as A4 PDFs, with charts drawn from the same figures as the HTML pages.

reportlab's Paragraph parses a small XML markup, so every piece of people's text (story
titles, excerpts, tag and organisation names) goes through `escape` before it is placed.
Charts are reportlab drawings (vector paths in the page, no images, no system libraries).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape as _xml_escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from dashboards.queries import TagCount
from dashboards.rollups.models import RESPONSE_BUCKET_HOURS

WIDTH, HEIGHT = A4
MARGIN = 18 * mm
CHART_WIDTH = WIDTH - 2 * MARGIN
# DejaVu Sans covers Welsh, Polish and the like; the built-in Helvetica only Latin-1. Used
# when the system has it (Debian: fonts-dejavu-core), Helvetica otherwise.
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
BAR = colors.HexColor("#2b6cb0")
TARGET = colors.HexColor("#c53030")


@cache
def fonts() -> tuple[str, str]:
    """(regular, bold) font names for every piece of text in a report."""
    regular, bold = DEJAVU / "DejaVuSans.ttf", DEJAVU / "DejaVuSans-Bold.ttf"
    if not (regular.is_file() and bold.is_file()):
        return "Helvetica", "Helvetica-Bold"
    pdfmetrics.registerFont(TTFont("ReportSans", str(regular)))
    pdfmetrics.registerFont(TTFont("ReportSans-Bold", str(bold)))
    pdfmetrics.registerFontFamily(
        "ReportSans",
        normal="ReportSans",
        bold="ReportSans-Bold",
        italic="ReportSans",
        boldItalic="ReportSans-Bold",
    )
    return "ReportSans", "ReportSans-Bold"


def escape(text: object) -> str:
    """Text safe inside a Paragraph: &, < and > as entities, quotes too."""
    return _xml_escape(str(text), {'"': "&quot;", "'": "&#39;"})


def _hours_label(hours: float) -> str:
    return f"{hours:g}h" if hours < 24 else f"{hours / 24:g}d"


BUCKET_LABELS = [f"<{_hours_label(h)}" for h in RESPONSE_BUCKET_HOURS] + [
    f">{_hours_label(RESPONSE_BUCKET_HOURS[-1])}"
]


def _styles() -> dict[str, ParagraphStyle]:
    sheet = getSampleStyleSheet()
    regular, bold = fonts()
    body = ParagraphStyle("body", parent=sheet["BodyText"], fontName=regular)
    return {
        "title": ParagraphStyle("title", parent=sheet["Title"], fontName=bold),
        "h2": ParagraphStyle("h2", parent=sheet["Heading2"], fontName=bold),
        "h3": ParagraphStyle("h3", parent=sheet["Heading3"], fontName=bold),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10),
    }


def _document(buffer: io.BytesIO, *, title: str, organisation_name: str, period_label: str):  # noqa: ANN202
    def decorate(canvas, doc) -> None:  # noqa: ANN001
        canvas.saveState()
        canvas.setFont(fonts()[0], 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(MARGIN, HEIGHT - 10 * mm, f"{organisation_name} · {period_label}")
        canvas.drawRightString(WIDTH - MARGIN, 10 * mm, f"Page {doc.page}")
        canvas.drawString(MARGIN, 10 * mm, title)
        canvas.restoreState()

    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author=organisation_name,
        subject=period_label,
    )
    return doc, decorate


def _heading(story: list, styles: dict, title: str, organisation_name: str, period: str) -> None:
    story.append(Paragraph(escape(title), styles["title"]))
    story.append(Paragraph(f"<b>{escape(organisation_name)}</b>", styles["body"]))
    story.append(Paragraph(escape(period), styles["body"]))
    story.append(Spacer(1, 4 * mm))


def _table(rows: Sequence[tuple[str, str]], styles: dict) -> Table:
    data = [
        [Paragraph(escape(a), styles["body"]), Paragraph(escape(b), styles["body"])]
        for a, b in rows
    ]
    table = Table(data, colWidths=[CHART_WIDTH * 0.6, CHART_WIDTH * 0.4])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


# --- charts -------------------------------------------------------------------------------


def _caption(drawing: Drawing, text: str) -> None:
    drawing.add(String(0, drawing.height - 10, text, fontName=fonts()[1], fontSize=10))


def bar_chart(title: str, labels: Sequence[str], values: Sequence[int]) -> Drawing:
    """Vertical bars, one per label."""
    drawing = Drawing(CHART_WIDTH, 170)
    _caption(drawing, title)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 30, 35, CHART_WIDTH - 40, 110
    chart.data = [list(values) or [0]]
    chart.categoryAxis.categoryNames = list(labels) or [""]
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = fonts()[0]
    chart.barLabels.fontName = fonts()[0]
    chart.categoryAxis.labels.angle = 20 if len(labels) > 6 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(labels) > 6 else "n"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max(max(values, default=0), 1) * 1.15
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = BAR
    chart.barLabelFormat = "%d"
    chart.barLabels.fontSize = 7
    chart.barLabels.nudge = 6
    drawing.add(chart)
    return drawing


def response_chart(buckets: Sequence[int], target_hours: float, target_label: str) -> Drawing:
    """Stories by time to first response, with a line where the target falls."""
    drawing = bar_chart("Time to first response (stories)", BUCKET_LABELS, list(buckets))
    chart = drawing.contents[-1]
    # The target falls at the end of the first bucket whose upper edge reaches it.
    index = next(
        (i for i, h in enumerate(RESPONSE_BUCKET_HOURS) if target_hours <= h),
        len(RESPONSE_BUCKET_HOURS),
    )
    step = chart.width / len(BUCKET_LABELS)
    x = chart.x + step * (index + 1)
    drawing.add(Line(x, chart.y, x, chart.y + chart.height, strokeColor=TARGET, strokeWidth=1.5))
    drawing.add(
        String(
            x + 3,
            chart.y + chart.height - 8,
            f"target: {target_label}",
            fontName=fonts()[0],
            fontSize=7,
            fillColor=TARGET,
        )
    )
    return drawing


def tags_chart(title: str, tags: Sequence[TagCount]) -> Drawing:
    """Horizontal bars, most given tag at the top."""
    height = 40 + 16 * max(len(tags), 1)
    drawing = Drawing(CHART_WIDTH, height)
    _caption(drawing, title)
    chart = HorizontalBarChart()
    chart.x, chart.y = 150, 10
    chart.width, chart.height = CHART_WIDTH - 170, height - 30
    ordered = list(reversed(tags))
    chart.data = [[tag.stories for tag in ordered] or [0]]
    chart.categoryAxis.categoryNames = [tag.name[:40] for tag in ordered] or [""]
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = fonts()[0]
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max((t.stories for t in tags), default=1) * 1.15
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = BAR
    drawing.add(chart)
    return drawing


# --- the reports --------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _hours(value: float | None) -> str:
    return "no responses" if value is None else f"{value:.1f} hours"


def summary_rows(summary) -> list[tuple[str, str]]:  # noqa: ANN001 - a reports.summary.Summary
    s = summary
    change = (
        "none in the period before"
        if s.change_in_stories is None
        else _percent(s.change_in_stories)
    )
    return [
        ("Stories", str(s.stories)),
        (
            f"Previous period ({s.previous_start:%-d %b %Y} to {s.previous_end:%-d %b %Y})",
            str(s.stories_previous),
        ),
        ("Change on the previous period", change),
        ("Stories responded to", f"{s.responded} of {s.stories} ({_percent(s.share_responded)})"),
        ("Median time to first response", _hours(s.median_response_hours)),
        ("Response target", s.target_label),
        ("Answered within target", _percent(s.share_within_target)),
        ("Changes made", str(s.changes_made)),
        ("Changes planned", str(s.changes_planned)),
        *marks_rows(s.author_marks),
    ]


def marks_rows(marks) -> list[tuple[str, str]]:  # noqa: ANN001 - a queries.AuthorMarks
    """What authors said of the responses published in the period, each as a share."""
    m = marks
    return [
        (
            "Responses marked helpful by their authors",
            f"{m.helpful} of {m.responses} responses published ({_percent(m.share_helpful)})",
        ),
        (
            "Changes confirmed by authors",
            f"{m.changes_confirmed} of {m.changes_claimed} changes claimed "
            f"({_percent(m.share_confirmed)})",
        ),
    ]


def quality_rows(quality) -> list[tuple[str, str]]:  # noqa: ANN001 - a ResponseQuality
    q = quality
    published = str(q.responses)
    if q.assessed != q.responses:
        published += f" ({q.assessed} checked)"
    score = "–" if q.mean_score is None else f"mean {q.mean_score:.1f}, median {q.median_score:.1f}"
    return [
        ("Responses published", published),
        ("Quality score (out of 100)", score),
        (
            "Flagged generic (only redirects, or repeats a recent reply)",
            f"{q.generic} ({_percent(q.share_generic)})",
        ),
    ]


def _response_quality(story: list, styles: dict, quality) -> None:  # noqa: ANN001
    story.append(Paragraph("Response quality", styles["h2"]))
    if not quality.responses:
        story.append(Paragraph("No responses were published in this period.", styles["body"]))
        return
    story.append(_table(quality_rows(quality), styles))
    story.append(Paragraph("Most given advice", styles["h3"]))
    if not quality.advice:
        story.append(Paragraph("No advice: every response passed the check.", styles["body"]))
        return
    story.append(_table([(a.label, str(a.responses)) for a in quality.advice], styles))


def _theme_table(rows: Sequence[tuple[str, int, Sequence]], styles: dict) -> Table:
    """(theme, stories, example stories) as a table with a header."""
    header = ["Theme", "Stories", "For example"]
    data = [[Paragraph(f"<b>{escape(cell)}</b>", styles["small"]) for cell in header]]
    for theme, count, examples in rows:
        titles = "<br/>".join(escape(example.title) for example in examples)
        data.append(
            [
                Paragraph(escape(theme), styles["body"]),
                Paragraph(str(count), styles["body"]),
                Paragraph(titles, styles["small"]),
            ]
        )
    table = Table(
        data, colWidths=[CHART_WIDTH * 0.35, CHART_WIDTH * 0.12, CHART_WIDTH * 0.53], repeatRows=1
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _themes(story: list, styles: dict, themes) -> None:  # noqa: ANN001 - a themes.Themes
    story.append(Paragraph("Recurring themes", styles["h2"]))
    read = f"the latest {themes.stories_read}" if themes.is_capped else f"all {themes.stories_read}"
    story.append(Paragraph(f"From {read} stories in the period.", styles["small"]))
    story.append(Paragraph("Tags given together", styles["h3"]))
    if themes.tag_pairs:
        rows = [(p.label, p.stories, p.examples) for p in themes.tag_pairs]
        story.append(_theme_table(rows, styles))
    else:
        text = "No two tags were given together to more than one story."
        story.append(Paragraph(text, styles["body"]))
    story.append(Paragraph("Phrases", styles["h3"]))
    if themes.phrases:
        rows = [(f"“{p.text}”", p.stories, p.examples) for p in themes.phrases]
        story.append(_theme_table(rows, styles))
    else:
        story.append(Paragraph("No phrase was used in more than one story.", styles["body"]))


def _learned(story: list, styles: dict, learned: Sequence) -> None:
    story.append(Paragraph("Learned themes", styles["h3"]))
    if learned:
        rows = [(t.label, f"{t.stories} ({t.critical} critical)") for t in learned]
        story.append(_table([("Theme", "Stories"), *rows], styles))
    else:
        story.append(Paragraph("No learned themes for these stories yet.", styles["body"]))


def _examples(story: list, styles: dict, heading: str, examples: Sequence, empty: str) -> None:
    story.append(Paragraph(escape(heading), styles["h3"]))
    if not examples:
        story.append(Paragraph(escape(empty), styles["body"]))
    for example in examples:
        story.append(
            Paragraph(
                f"<b>{escape(example.title)}</b> "
                f"<font size=8 color=grey>({escape(example.criticality)}, "
                f"{example.published_at:%-d %b %Y})</font>",
                styles["body"],
            )
        )
        story.append(Paragraph(escape(example.excerpt), styles["small"]))
        story.append(Spacer(1, 2 * mm))


def summary_pdf(
    summary,  # noqa: ANN001 - a reports.summary.Summary
    *,
    title: str,
    organisation_name: str,
    period_label: str,
    response_buckets: Sequence[int] | None = None,
) -> bytes:
    """The stories summary. `response_buckets` are the stories answered within each
    response-time bucket (queries.response_times); read from the rollups when not given."""
    if response_buckets is None:
        from dashboards import queries

        response_buckets = queries.response_times(summary.scope)
    buffer = io.BytesIO()
    doc, decorate = _document(
        buffer, title=title, organisation_name=organisation_name, period_label=period_label
    )
    styles = _styles()
    story: list = []
    _heading(story, styles, title, organisation_name, period_label)
    story.append(Paragraph("Figures", styles["h2"]))
    story.append(_table(summary_rows(summary), styles))
    story.append(Spacer(1, 4 * mm))
    story.append(
        bar_chart(
            "Stories by criticality",
            [name.capitalize() for name, _ in summary.criticality_mix],
            [count for _, count in summary.criticality_mix],
        )
    )
    story.append(Spacer(1, 3 * mm))
    story.append(Paragraph("Stories by route", styles["h2"]))
    story.append(_table([(label, str(count)) for _, label, count in summary.by_route], styles))
    story.append(Spacer(1, 3 * mm))
    story.append(response_chart(response_buckets, summary.target_hours, summary.target_label))
    story.append(Spacer(1, 3 * mm))
    story.append(tags_chart("Most given positive tags", summary.positive_tags))
    story.append(tags_chart("Most given negative tags", summary.negative_tags))
    _response_quality(story, styles, summary.response_quality)
    _themes(story, styles, summary.themes)
    _learned(story, styles, summary.learned)
    story.append(Paragraph("Example stories", styles["h2"]))
    _examples(
        story,
        styles,
        "Positive",
        summary.positive_examples,
        "No stories that were not or minimally critical in this period.",
    )
    _examples(
        story,
        styles,
        "Critical",
        summary.critical_examples,
        "No strongly or severely critical stories in this period.",
    )
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()


def you_said_we_did_pdf(
    items: Sequence,  # reports.you_said_we_did.ChangeMade
    *,
    title: str,
    organisation_name: str,
    period_label: str,
) -> bytes:
    """You said, we did: each change made, with the story that prompted it."""
    buffer = io.BytesIO()
    doc, decorate = _document(
        buffer, title=title, organisation_name=organisation_name, period_label=period_label
    )
    styles = _styles()
    story: list = []
    _heading(story, styles, title, organisation_name, period_label)
    story.append(Paragraph(f"{len(items)} changes made.", styles["body"]))
    if not items:
        story.append(Paragraph("No changes were recorded as made in this period.", styles["body"]))
    for item in items:
        story.append(Paragraph(f"You said: {escape(item.story_title)}", styles["h3"]))
        story.append(Paragraph(escape(item.story_excerpt), styles["small"]))
        story.append(Paragraph(f"<b>We did:</b> {escape(item.change)}", styles["body"]))
        story.append(
            Paragraph(
                f"<font size=8 color=grey>Responded {item.responded_at:%-d %b %Y}</font>",
                styles["body"],
            )
        )
        story.append(Spacer(1, 3 * mm))
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()


def figures_pdf(
    rows: Sequence[tuple[str, str]],
    *,
    title: str,
    organisation_name: str,
    period_label: str,
    charts: Sequence[Drawing] = (),
    notes: Sequence[str] = (),
    sections: Sequence[tuple[str, Sequence[tuple[str, str]]]] = (),
) -> bytes:
    """A table of figures (already formatted, already suppressed), charts, and sections of
    (heading, [(title, text)]) such as example stories."""
    buffer = io.BytesIO()
    doc, decorate = _document(
        buffer, title=title, organisation_name=organisation_name, period_label=period_label
    )
    styles = _styles()
    story: list = []
    _heading(story, styles, title, organisation_name, period_label)
    for note in notes:
        story.append(Paragraph(escape(note), styles["small"]))
    story.append(_table(rows, styles))
    for chart in charts:
        story.append(Spacer(1, 3 * mm))
        story.append(chart)
    for heading, entries in sections:
        story.append(Paragraph(escape(heading), styles["h2"]))
        if not entries:
            story.append(Paragraph("None in this period.", styles["body"]))
        for entry_title, text in entries:
            story.append(Paragraph(f"<b>{escape(entry_title)}</b>", styles["body"]))
            story.append(Paragraph(escape(text), styles["small"]))
            story.append(Spacer(1, 2 * mm))
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
