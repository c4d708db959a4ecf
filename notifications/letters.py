"""Printed letters: HTML to PDF with WeasyPrint, and the daily print batch as one PDF.

The stylesheet and font configuration are parsed once per process and reused, so a warm
worker pays only for laying out the letter itself.
"""

from __future__ import annotations

import io
import logging
from functools import lru_cache
from pathlib import Path

# WeasyPrint logs every layout step at INFO; a worker printing letters needs only problems.
logging.getLogger("weasyprint").setLevel(logging.WARNING)
logging.getLogger("fontTools").setLevel(logging.WARNING)

LETTER_CSS = Path(__file__).resolve().parent / "letter.css"


@lru_cache(maxsize=1)
def _font_config():
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@lru_cache(maxsize=1)
def _stylesheet():
    from weasyprint import CSS

    return CSS(filename=str(LETTER_CSS), font_config=_font_config())


def render_pdf(html: str) -> tuple[bytes, int]:
    """(PDF bytes, number of pages) for a letter's HTML."""
    from weasyprint import HTML

    document = HTML(string=html, base_url=str(LETTER_CSS.parent)).render(
        stylesheets=[_stylesheet()], font_config=_font_config()
    )
    return document.write_pdf(), len(document.pages)


def merge_for_printing(pdfs: list[bytes]) -> tuple[bytes, int]:
    """One PDF for the printer. A letter with an odd number of pages gets a blank back page,
    so on a double-sided printer no letter starts on the back of another's last page."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for pdf in pdfs:
        reader = PdfReader(io.BytesIO(pdf))
        for page in reader.pages:
            writer.add_page(page)
        if len(reader.pages) % 2:
            last = reader.pages[-1]
            writer.add_blank_page(width=last.mediabox.width, height=last.mediabox.height)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), len(writer.pages)


def page_count(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF, for tests and checks."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
