"""Japanese fonts and the text rules of every PDF.

Fonts: reportlab's built-in Adobe-Japan1 CID fonts (``HeiseiKakuGo-W5`` gothic,
``HeiseiMin-W3`` mincho) with the ``UniJIS-UCS2-H`` encoding. Nothing is downloaded, shipped
or embedded: a PDF viewer draws them with its own Japanese fonts (Acrobat, Chrome, Edge,
macOS Preview and poppler do), and text extraction (``pdftotext``, copy/paste, search) maps
them back to Unicode through the standard CMaps. Four ASCII characters come back wrong from
those CMaps (``_`` as U+0332, `````` as U+0300, ``|`` as ``¦``, ``~`` as ``˜``: ``pay_123``
would be copied as ``pay̲123``), so runs of them are drawn in the base-14 ``Helvetica``,
which extracts exactly. The README says why this was chosen over an embedded TrueType font.

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
LATIN = "Helvetica"  # for the characters the Japanese CMaps read back wrong
MISSING = "〓"
ELLIPSIS = "…"

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ASTRAL = re.compile(r"[\U00010000-\U0010FFFF]")
_MISREAD = re.compile(r"[_`|~]")
_RUNS = re.compile(r"[_`|~]+|[^_`|~]+")


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
    """(font, text) runs: ``_ ` | ~`` in :data:`LATIN`, everything else in ``font``."""
    if not _MISREAD.search(text):
        return [(font, text)]
    return [(LATIN if _MISREAD.match(m[0]) else font, m[0]) for m in _RUNS.finditer(text)]


def width(text: str, font: str, size: float) -> float:
    """Width in points of ``text`` as :func:`draw` draws it."""
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


def draw_cells(canvas, cells, size: float, *, font: str = GOTHIC) -> None:
    """Draw many ``(x, y, text, align)`` (text already :func:`clean` and fitted) as one PDF
    text object: a table row costs one object, not one per cell."""
    t = canvas.beginText()
    current = None
    for x, y, text, align in cells:
        if not text:
            continue
        parts = runs(text, font)
        widths = [pdfmetrics.stringWidth(run, f, size) for f, run in parts]
        if align == "right":
            x -= sum(widths)
        elif align == "centre":
            x -= sum(widths) / 2
        for (f, run), w in zip(parts, widths, strict=True):
            if f != current:
                t.setFont(f, size)
                current = f
            t.setTextOrigin(x, y)
            t.textOut(run)
            x += w
    canvas.drawText(t)


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
