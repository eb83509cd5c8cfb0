"""Read PDFs back as a person's tools would: ``pdftotext`` for the text (poppler-utils, with
poppler-data for the Japanese CMaps) and ``pdftoppm`` for page 1 as a PNG under
``artifacts/pdf/`` (kept for the record). Tests that need them skip, with the reason, where
poppler is not installed."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "pdf"

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="pdftotext/pdftoppm not installed (apt-get install poppler-utils)",
)


def pdf_text(data: bytes, *, layout: bool = True) -> str:
    """The PDF's text (``pdftotext -layout``); pages are separated by form feeds."""
    assert data.startswith(b"%PDF-"), data[:20]
    args = ["pdftotext", "-enc", "UTF-8", *(["-layout"] if layout else []), "-", "-"]
    done = subprocess.run(args, input=data, capture_output=True, check=True, timeout=60)
    return done.stdout.decode("utf-8")


def pages_of(data: bytes) -> list[str]:
    text = pdf_text(data)
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def render_first_page(data: bytes, name: str) -> Path:
    """Page 1 as ``artifacts/pdf/<name>.png`` (72 dpi); returns the path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(data)
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "72",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(src),
                str(ARTIFACTS / name),
            ],
            check=True,
            timeout=60,
        )
    png = ARTIFACTS / f"{name}.png"
    assert png.stat().st_size > 1000
    return png
