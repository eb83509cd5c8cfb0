"""The audit log (操作履歴) as a CSV download: JST times, streamed from the database, text
cells safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from sqlalchemy import select

from core.export import neutralise
from core.storage.db import Database
from core.timeutil import JST, as_utc
from core.views.audit import AUDIT_COLUMNS, AuditFilter, audit_row, audit_where
from core.views.tables import AT


def _safe_cell(value: object) -> object:
    """A text cell a spreadsheet could read as a formula gets a leading ``'`` (the CSV
    export's rule, :func:`core.export.neutralise`); numbers stay numbers."""
    return neutralise(value) if isinstance(value, str) else value


def audit_csv(
    db: Database,
    f: AuditFilter | None,
    headers: dict[str, str],
    encoding: str = "utf-8-sig",
    chunk: int = 2000,
    lang: str = "ja",
) -> bytes:
    """Every matching entry as CSV (JST times), streamed from the database in chunks.
    ``headers`` maps column keys to the header labels of the UI language; messages are in
    ``lang``."""
    f = f or AuditFilter()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([headers.get(k, k) for k in AUDIT_COLUMNS])
    q = (
        select(*[AT.c[k] for k in AUDIT_COLUMNS], AT.c.detail)
        .where(*audit_where(f))
        .order_by(AT.c.id.desc())
    )
    time_idx = {AUDIT_COLUMNS.index("created_at"), AUDIT_COLUMNS.index("finished_at")}
    with db.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk).execute(q)
        for part in result.partitions():
            for row in part:
                cells = []
                for i, v in enumerate(audit_row(row, lang)):
                    if i in time_idx:
                        v = _fmt_time(v)
                    cells.append("" if v is None else _safe_cell(v))
                writer.writerow(cells)
    return buf.getvalue().encode(encoding, errors="replace")


def _fmt_time(v: datetime | None) -> str:
    v = as_utc(v)
    return v.astimezone(JST).strftime("%Y/%m/%d %H:%M:%S") if v else ""
