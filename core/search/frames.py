"""Result rows -> a typed DataFrame (the search grid's page and the batch preselection)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy.engine import Row

from core.search.columns import COLUMNS

_INT = (
    "id",
    "order_no",
    "total",
    "paidy_amount",
    "captured_amount",
    "refunded_amount",
    "billed_amount",
)
_TIME = ("ordered_at", "updated_at", "shipped_at", "expires_at")
DTYPES: dict[str, str] = {
    **{c: "Int64" for c in _INT},
    **{c: "datetime64[ns, UTC]" for c in _TIME},
    "birth_date": "datetime64[ns]",
    "test": "boolean",
    "discrepancy": "bool",
}


def to_frame(rows: Sequence[Row | tuple], columns: Sequence[str] = COLUMNS) -> pd.DataFrame:
    """Rows (in ``columns`` order) -> a DataFrame with typed columns (see DTYPES)."""
    data: dict[str, Any] = {}
    for i, key in enumerate(columns):
        values = [row[i] for row in rows]
        dtype = DTYPES.get(key, "string")
        if dtype.startswith("datetime64"):
            utc = dtype.endswith("UTC]")
            data[key] = pd.to_datetime(pd.Series(values, dtype=object), utc=utc).astype(dtype)
        elif dtype == "bool":
            data[key] = pd.Series([bool(v) for v in values], dtype=bool)
        else:
            data[key] = pd.array(values, dtype=dtype)
    return pd.DataFrame(data, columns=list(columns))
