"""The page frame both reports share: an A4 reportlab canvas writing to a binary stream,
document info, and numbers known only at the end ("page 3 / 12", "全 480件").

Pages are drawn one at a time and closed with ``showPage``: nothing is laid out ahead
(no platypus story), so a long list costs the PDF's own bytes, not its rows as objects.
Numbers that are known only when the last row is drawn are PDF form XObjects: each page
draws the form by name, the form itself is written once at the end.
"""

from __future__ import annotations

from typing import BinaryIO

from reportlab.pdfgen.canvas import Canvas

from core.reports.fonts import draw, register_fonts

CREATOR = "Paidy operations dashboard"


class Document:
    """A canvas on ``out`` with deferred numbers (:meth:`later` / :meth:`settle`)."""

    def __init__(self, out: BinaryIO, pagesize: tuple[float, float], title: str) -> None:
        register_fonts()
        self.width, self.height = pagesize
        self.canvas = Canvas(out, pagesize=pagesize, pageCompression=1)
        self.canvas.setTitle(title)
        self.canvas.setCreator(CREATOR)
        self.canvas.setAuthor(CREATOR)
        self.pages = 0
        self._later: dict[str, tuple[float, float, float, str]] = {}

    def later(self, name: str, x: float, y: float, size: float, align: str = "left") -> None:
        """Draw the number ``name`` here; its value is given to :meth:`settle` at the end."""
        self._later.setdefault(name, (x, y, size, align))
        self.canvas.doForm(name)

    def end_page(self) -> None:
        self.canvas.showPage()
        self.pages += 1

    def settle(self, values: dict[str, str]) -> None:
        """Write each deferred number (drawn where :meth:`later` first placed it) and save."""
        c = self.canvas
        for name, (x, y, size, align) in self._later.items():
            c.beginForm(name)
            draw(c, x, y, values.get(name, ""), size, align=align)
            c.endForm()
        c.save()
