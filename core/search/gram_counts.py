"""PostgreSQL: counting a short name fragment without reading a matching row.

``name_gram_counts`` (migration 0011) holds per 1- or 2-character fragment ("gram") the
number of orders whose name keys contain it, as trigger-appended +1/-1 rows folded now and
then. A name search whose terms (:func:`core.search.text_match.name_terms`) are all that
short - ヤ, 山, 山田, or やま with its katakana ヤマ - is counted from it: one term is the
sum of its rows; several are the size of their union by inclusion-exclusion, each
intersection counted through the GIN index of 0007 (``@>`` visits only the orders holding
every gram of the subset: few unless all of them are common). Whether a term is short is
decided in SQL by the database's own ``lower`` (a CASE): if one lowercases longer, the
index count ``fallback`` answers, as before.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    Text,
    and_,
    case,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from core.storage.db import Database

# migration 0007: lower(name key) || chr(1) || lower(kana key) per order, GIN-indexed on
# every 1..GRAM_MAX character substring
NK = table("order_name_keys", column("order_id", Integer), column("keys", Text))
GRAM_MAX = 3
# migration 0011: deltas per gram of 1..COUNTED_MAX characters
GC = table("name_gram_counts", column("gram", Text), column("n", BigInteger))
COUNTED_MAX = 2
MAX_TERMS = 3  # name_terms gives at most three (as typed, NFKC, katakana)


def counted(terms: list[str]) -> bool:
    """Whether :func:`gram_count` serves these terms."""
    return 0 < len(terms) <= MAX_TERMS and all(1 <= len(t) <= COUNTED_MAX for t in terms)


def gram_count(terms: list[str], *, fallback: Select) -> Select:
    """SELECT the number of orders whose name keys hold any of ``terms`` (case-insensitive,
    as ``lower`` decides); ``fallback`` (the index count) answers instead when some term
    lowercases to more than COUNTED_MAX characters."""
    lowered = [func.lower(t) for t in terms]
    top: ColumnElement[Any] = literal_column(str(GRAM_MAX))
    grams = func.paidy_grams(NK.c["keys"], literal_column("1"), top)
    total: ColumnElement[Any] = literal(0)
    for size in range(1, len(lowered) + 1):
        for subset in combinations(lowered, size):
            if size == 1:
                part = select(func.coalesce(func.sum(GC.c.n), 0)).where(GC.c.gram == subset[0])
            else:
                holds_all = grams.bool_op("@>")(postgresql.array(list(subset)))
                part = select(func.count()).select_from(NK).where(holds_all)
            value = part.scalar_subquery()
            total = total + value if size % 2 else total - value
    short = and_(*[func.length(t) <= COUNTED_MAX for t in lowered])
    return select(case((short, total), else_=fallback.scalar_subquery()))


def fold(conn: Connection) -> int:
    """Fold each gram's delta rows into one, in the caller's transaction (PostgreSQL;
    nothing elsewhere). Returns how many rows were folded."""
    if conn.dialect.name != "postgresql":
        return 0
    return int(conn.exec_driver_sql("SELECT paidy_fold_name_gram_counts()").scalar_one())


def fold_counts(db: Database) -> int:
    """:func:`fold` in its own transaction (the worker pool's housekeeping)."""
    if db.dialect != "postgresql":
        return 0
    with db.engine.begin() as conn:
        return fold(conn)
