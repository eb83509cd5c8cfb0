"""Japanese fonts and the text rules of every PDF.

Fonts: reportlab's built-in Adobe-Japan1 CID fonts (``HeiseiKakuGo-W5`` gothic,
``HeiseiMin-W3`` mincho) with the ``UniJIS-UCS2-H`` encoding for Japanese, and the base-14
``Helvetica`` for runs of printable ASCII. None is downloaded, shipped or embedded: a PDF
viewer draws them with its own fonts (Acrobat, Chrome, Edge, macOS Preview and poppler do),
and text extraction (``pdftotext``, copy/paste, search) maps them back to Unicode. ASCII goes
through Helvetica because the Adobe-Japan1 CMaps read ``_ ` | ~`` back as other characters
(``pay_123`` would be copied as ``pay̲123``); with Helvetica payment ids, emails and amounts
extract exactly. The README says why this was chosen over an embedded TrueType font.

Text rules (one place):
- customer text is drawn with ``drawString`` as it is: never markup, never interpreted;
- control characters become spaces; characters outside the BMP (``𠮷``, emoji), which the
  UCS-2 encoding cannot carry, become ``〓`` (the usual mark for a missing character)
  instead of two broken glyphs;
- a cell too wide for its column is cut and ends with ``…``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont

GOTHIC = "HeiseiKakuGo-W5"
MINCHO = "HeiseiMin-W3"
LATIN = "Helvetica"  # printable ASCII: exact text extraction
MISSING = "〓"
ELLIPSIS = "…"

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ASTRAL = re.compile(r"[\U00010000-\U0010FFFF]")
_RUNS = re.compile(r"[\x20-\x7e]+|[^\x20-\x7e]+")


@lru_cache(maxsize=1)
def register_fonts() -> tuple[str, str]:
    """Register both CID fonts once per process; returns (gothic, mincho)."""
    for name in (GOTHIC, MINCHO):
        pdfmetrics.registerFont(UnicodeCIDFont(name))
    return GOTHIC, MINCHO


def clean(value: object) -> str:
    """Text as it will be drawn: controls -> space, outside the BMP -> 〓."""
    if value is None:
        return ""
    text = str(value)
    if text.isascii():
        return _CONTROL.sub(" ", text)
    return _ASTRAL.sub(MISSING, _CONTROL.sub(" ", text))


def runs(text: str, font: str = GOTHIC) -> list[tuple[str, str]]:
    """(font, text) runs: printable ASCII in :data:`LATIN`, the rest in ``font``."""
    if text.isascii():
        return [(LATIN, text)]
    return [(LATIN if m[0].isascii() else font, m[0]) for m in _RUNS.finditer(text)]


def width(text: str, font: str, size: float) -> float:
    """Width in points of ``text`` as :func:`draw` draws it (ASCII runs in Helvetica)."""
    if text.isascii():
        return pdfmetrics.stringWidth(text, LATIN, size)
    return sum(pdfmetrics.stringWidth(t, f, size) for f, t in runs(text, font))


def draw(
    canvas, x: float, y: float, text: str, size: float, *, font: str = GOTHIC, align="left"
) -> None:
    """Draw ``text`` (already :func:`clean`) as plain text; ``align`` left, right or centre
    around ``x``. Leaves the canvas font at the last run's."""
    if not text:
        return
    parts = runs(text, font)
    if align != "left":
        total = sum(pdfmetrics.stringWidth(t, f, size) for f, t in parts)
        x -= total if align == "right" else total / 2
    for f, t in parts:
        canvas.setFont(f, size)
        canvas.drawString(x, y, t)
        x += pdfmetrics.stringWidth(t, f, size)


def fit(text: str, font: str, size: float, room: float) -> str:
    """``text`` cut to ``room`` points wide, ending with ``…`` when cut."""
    if len(text) * size <= room or width(text, font, size) <= room:
        return text
    budget = room - width(ELLIPSIS, font, size)
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits the budget
        mid = (lo + hi + 1) // 2
        if width(text[:mid], font, size) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + ELLIPSIS


def wrap(text: str, font: str, size: float, room: float, max_lines: int = 0) -> list[str]:
    """``text`` broken into lines at most ``room`` wide (by character: Japanese has no
    spaces); with ``max_lines`` the last line is cut with ``…``. Never an empty list."""
    lines: list[str] = []
    for part in text.split("\n"):
        line = ""
        for char in part:
            if line and width(line + char, font, size) > room:
                lines.append(line)
                line = char.lstrip() if char == " " else char
            else:
                line += char
        lines.append(line)
    if max_lines and len(lines) > max_lines:
        rest = "".join(lines[max_lines - 1 :])
        lines = [*lines[: max_lines - 1], fit(rest, font, size, room)]
    return lines or [""]


register_fonts()  # widths are measured before any document exists (layouts, tests)
