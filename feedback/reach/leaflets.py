"""The printed things, drawn as vector PDFs with reportlab: an A5 leaflet, an A4 poster and
the A4 freepost-style paper form. Each carries a QR code, drawn as vector squares from
segno's module matrix (never a raster image), whose link opens the hub's story form with the
service chosen and the campaign code carried (campaigns.tell_url)."""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

import segno
from reportlab.lib.colors import HexColor, black, white
from reportlab.lib.pagesizes import A4, A5
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas

from feedback.reach.campaigns import tell_url
from feedback.reach.models import Campaign, CampaignKind

TEAL = HexColor("#005a70")
GREY = HexColor("#505a5f")
# The three prompts of the story form (feedback/forms.py StoryForm).
PROMPTS = (
    "What was good?",
    "What could have been improved?",
    "How did it make you feel?",
)
CONSENT = (
    "By sending this form you agree that your story may be published on Carevoice, after an "
    "independent moderator has removed anything that could identify you or anyone else. "
    "Your contact details, if you give them, are never published or shown to the "
    "organisation: we use them only to tell you when someone responds."
)
FREEPOST = "Freepost CAREVOICE STORIES"
QUIET_ZONE = 4  # modules of white around the code, as the QR standard asks


def draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float) -> None:
    """Draw a QR code for `data` as filled rectangles, lower-left corner at (x, y), `size`
    points wide including its quiet zone."""
    qr = segno.make(data, error="m", micro=False)
    matrix = [list(row) for row in qr.matrix]
    count = len(matrix)
    module = size / (count + 2 * QUIET_ZONE)
    canvas.saveState()
    canvas.setFillColor(white)
    canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColor(black)
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        top = y + size - (QUIET_ZONE + row_index + 1) * module
        column = 0
        while column < count:
            if not row[column]:
                column += 1
                continue
            start = column
            while column < count and row[column]:
                column += 1
            # One rectangle per run of dark modules in a row; slightly overlapping rows so
            # no hairline shows between them when printed.
            path.rect(
                x + (QUIET_ZONE + start) * module,
                top,
                (column - start) * module,
                module * 1.001,
            )
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def _wrapped(
    canvas: Canvas,
    text: str,
    x: float,
    y: float,
    width: float,
    *,
    font: str = "Helvetica",
    size: float = 11,
    leading: float | None = None,
    colour=black,
) -> float:
    """Draw `text` wrapped to `width` from baseline `y` down; return the next baseline."""
    leading = leading or size * 1.3
    canvas.setFont(font, size)
    canvas.setFillColor(colour)
    for line in simpleSplit(text, font, size, width):
        canvas.drawString(x, y, line)
        y -= leading
    return y


def _about(campaign: Campaign) -> str:
    if campaign.service is not None:
        return f"{campaign.service.name}, {campaign.service.site_name}"
    return campaign.organisation.name


def _document(title: str, pagesize) -> tuple[BytesIO, Canvas]:
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=pagesize, pageCompression=1)
    canvas.setTitle(title)
    canvas.setAuthor("Carevoice")
    canvas.setSubject("Tell us about your care")
    return buffer, canvas


def _finish(buffer: BytesIO, canvas: Canvas) -> bytes:
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


@dataclass(frozen=True)
class Scan:
    """The QR code (`size`, its lower edge at `y`) and the call to scan it, bold, below."""

    size: float
    y: float
    call: str
    call_y: float
    call_size: float


@dataclass(frozen=True)
class Line:
    text: str
    y: float
    size: float


def _scan_me(
    canvas: Canvas,
    campaign: Campaign,
    scan: Scan,
    link: Line,
    note: Line,
    *,
    width: float,
    margin: float,
) -> None:
    """A leaflet's or poster's foot: the QR code centred, the call to scan it, the link in
    full (for those who type it) and a grey note with the campaign's code."""
    text_width = width - 2 * margin
    draw_qr(canvas, tell_url(campaign), (width - scan.size) / 2, scan.y, scan.size)
    _wrapped(
        canvas,
        scan.call,
        margin,
        scan.call_y,
        text_width,
        font="Helvetica-Bold",
        size=scan.call_size,
    )
    _wrapped(canvas, link.text, margin, link.y, text_width, font="Courier", size=link.size)
    _wrapped(canvas, note.text, margin, note.y, text_width, size=note.size, colour=GREY)


def leaflet_pdf(campaign: Campaign) -> bytes:
    """An A5 leaflet: who it is for, why telling matters, the QR code and the link."""
    width, height = A5
    margin = 14 * mm
    text_width = width - 2 * margin
    buffer, canvas = _document(f"Tell us about your care: {_about(campaign)}", A5)
    canvas.setFillColor(TEAL)
    canvas.rect(0, height - 42 * mm, width, 42 * mm, stroke=0, fill=1)
    y = _wrapped(
        canvas,
        "Tell us about your care",
        margin,
        height - 20 * mm,
        text_width,
        font="Helvetica-Bold",
        size=24,
        colour=white,
    )
    _wrapped(canvas, _about(campaign), margin, y - 2 * mm, text_width, size=12, colour=white)
    y = height - 56 * mm
    y = _wrapped(
        canvas,
        "What was good? What could have been better? Your story helps "
        f"{campaign.organisation.name} learn, and they respond in public.",
        margin,
        y,
        text_width,
        size=12,
    )
    y = _wrapped(
        canvas,
        "Your story is anonymous. An independent moderator reads it before anyone else does.",
        margin,
        y - 3 * mm,
        text_width,
        size=11,
        colour=GREY,
    )
    _scan_me(
        canvas,
        campaign,
        Scan(62 * mm, 38 * mm, "Scan with your phone's camera to tell your story", 32 * mm, 11),
        Line(tell_url(campaign), 24 * mm, 8),
        Line(f"Prefer paper? Ask for a form. Code {campaign.code}", 12 * mm, 9),
        width=width,
        margin=margin,
    )
    return _finish(buffer, canvas)


def poster_pdf(campaign: Campaign) -> bytes:
    """An A4 poster: a big heading, a big QR code, the link."""
    width, height = A4
    margin = 18 * mm
    text_width = width - 2 * margin
    buffer, canvas = _document(f"Tell us about your care: {_about(campaign)}", A4)
    canvas.setFillColor(TEAL)
    canvas.rect(0, height - 70 * mm, width, 70 * mm, stroke=0, fill=1)
    y = _wrapped(
        canvas,
        "How was your care?",
        margin,
        height - 32 * mm,
        text_width,
        font="Helvetica-Bold",
        size=40,
        colour=white,
    )
    _wrapped(canvas, _about(campaign), margin, y - 4 * mm, text_width, size=16, colour=white)
    y = height - 88 * mm
    y = _wrapped(
        canvas,
        "Tell us what was good and what could be better. It takes five minutes, it is "
        f"anonymous, and {campaign.organisation.name} responds in public.",
        margin,
        y,
        text_width,
        size=16,
    )
    _scan_me(
        canvas,
        campaign,
        Scan(100 * mm, 52 * mm, "Scan with your phone's camera", 42 * mm, 18),
        Line(tell_url(campaign), 32 * mm, 10),
        Line(f"Campaign code {campaign.code}", 16 * mm, 10),
        width=width,
        margin=margin,
    )
    return _finish(buffer, canvas)


def paper_form_pdf(campaign: Campaign) -> bytes:
    """The A4 freepost-style paper form: the three prompts of the story form with space to
    write, a few questions about the author, the consent wording, the QR code."""
    width, height = A4
    margin = 16 * mm
    text_width = width - 2 * margin
    buffer, canvas = _document(f"Your story on paper: {_about(campaign)}", A4)
    y = _wrapped(
        canvas,
        "Tell us about your care",
        margin,
        height - 20 * mm,
        text_width - 40 * mm,
        font="Helvetica-Bold",
        size=20,
        colour=TEAL,
    )
    y = _wrapped(canvas, f"About: {_about(campaign)}", margin, y, text_width - 40 * mm, size=11)
    _wrapped(
        canvas,
        "Or scan to tell it online",
        width - margin - 36 * mm,
        height - 52 * mm,
        36 * mm,
        size=7,
        colour=GREY,
    )
    draw_qr(canvas, tell_url(campaign), width - margin - 36 * mm, height - 48 * mm, 36 * mm)
    y = height - 58 * mm
    y = _wrapped(canvas, "A title for your story", margin, y, text_width, font="Helvetica-Bold")
    canvas.setStrokeColor(GREY)
    canvas.line(margin, y - 4 * mm, width - margin, y - 4 * mm)
    y -= 12 * mm
    box = 44 * mm
    for prompt in PROMPTS:
        y = _wrapped(canvas, prompt, margin, y, text_width, font="Helvetica-Bold")
        canvas.rect(margin, y - box + 4 * mm, text_width, box, stroke=1, fill=0)
        y -= box + 2 * mm
    y = _wrapped(
        canvas,
        "You are (circle one): patient   carer   relative   staff   other        "
        "Nickname to show (not your real name): ______________",
        margin,
        y,
        text_width,
        size=9,
    )
    y = _wrapped(
        canvas,
        "Email, if you want to hear when someone responds (never published): "
        "________________________________",
        margin,
        y - 1 * mm,
        text_width,
        size=9,
    )
    y = _wrapped(canvas, CONSENT, margin, y - 2 * mm, text_width - 8 * mm, size=8, colour=GREY)
    canvas.rect(margin, y - 1 * mm, 4 * mm, 4 * mm, stroke=1, fill=0)
    _wrapped(
        canvas,
        "I agree: my story may be published, after moderation, without my contact details.",
        margin + 6 * mm,
        y,
        text_width - 6 * mm,
        size=9,
    )
    _wrapped(
        canvas,
        f"Fold, and post free of charge to: {FREEPOST}. No stamp needed. Form {campaign.code}",
        margin,
        10 * mm,
        text_width,
        size=9,
        font="Helvetica-Bold",
    )
    return _finish(buffer, canvas)


DRAWERS = {
    CampaignKind.LEAFLET: leaflet_pdf,
    CampaignKind.POSTER: poster_pdf,
    CampaignKind.PAPER_FORM: paper_form_pdf,
}
