"""Partial match on customer name / kana / email, by fragments of any length.

"Ignoring spaces": the query and the stored names are compared with half- and full-width
spaces removed; hiragana also finds katakana. Migration 0007 explains the structures:

- PostgreSQL: names and kana through the side table ``order_name_keys`` (one narrow row per
  order, kept by a trigger) and its GIN index over every 1-3 character substring: a
  fragment of up to 3 characters is one index key, a longer one the intersection of its
  3-character keys; ``strpos`` on the lowercased keys decides (what ``ILIKE`` would). A
  count over names alone reads only that table, and for 1-2 character fragments not even
  that: ``name_gram_counts`` (migration 0011, :mod:`core.search.gram_counts`) holds how
  many orders hold each gram. Email: ``ILIKE`` served by pg_trgm.
- SQLite: FTS5 trigram tables kept by triggers. ``orders_fts``: fragments of 3+ characters
  are a phrase MATCH; ``orders_fts_short``: a 1-2 character name/kana fragment is one term
  (``\x03a\x03`` / ``\x03ab``). Email fragments of 1-2 characters are looked up in the
  ``orders_fts`` vocabulary by prefix (each stored value ends with two U+0001, so every
  occurrence starts some trigram) and matched as an OR of those trigrams; one starting more
  than MAX_VOCAB_TERMS trigrams falls back to ``LIKE``. Measured at 1,000,000 orders
  (bench/search_probe.py): ``LIKE`` scans in ~1.1 s, FTS counts 33,000 matches in ~6 ms.
"""

from __future__ import annotations

import unicodedata
import weakref
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    column,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql

from core.search.gram_counts import GRAM_MAX, NK, counted, gram_count
from core.search.predicates import OT, name_key
from core.storage.db import Database

if TYPE_CHECKING:
    from core.search.query import OrderQuery


FTS_MIN = 3  # trigram: shorter fragments go through orders_fts_short (names) / the vocabulary
MAX_VOCAB_TERMS = 2000  # a 1-2 character email fragment starting more trigrams than this scans
SHORT_PAD = "\x03"  # the padding of orders_fts_short's units (migration 0007)

_table_cache: weakref.WeakKeyDictionary[Database, dict[str, bool]] = weakref.WeakKeyDictionary()


def _has_table(db: Database, name: str) -> bool:
    """Whether SQLite has the (FTS) table ``name``: FTS5 or its trigram tokenizer may be
    missing from the SQLite build (the migrations then log it and searches scan)."""
    if db.dialect != "sqlite":
        return False
    known = _table_cache.setdefault(db, {})
    if name not in known:
        with db.engine.connect() as conn:
            known[name] = (
                conn.execute(
                    text("SELECT 1 FROM sqlite_master WHERE type='table' AND name=:n"),
                    {"n": name},
                ).first()
                is not None
            )
    return known[name]


def _like_pattern(term: str) -> str:
    escaped = term.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


def _kata(text_: str) -> str:
    """Hiragana -> katakana, so やまだ finds ヤマダ in the kana."""
    return "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in text_)


def name_terms(raw: str) -> list[str]:
    strip = lambda s: s.replace(" ", "").replace("\u3000", "")  # noqa: E731
    normal = unicodedata.normalize("NFKC", raw)
    terms = [strip(raw), strip(normal), strip(_kata(normal))]
    return [t for t in dict.fromkeys(terms) if t]


def _fts_phrase(terms: list[str]) -> str:
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def _short_unit(term: str) -> str:
    """The one orders_fts_short term of a 1-2 character fragment (migration 0007)."""
    return SHORT_PAD + term + (SHORT_PAD if len(term) == 1 else "")


def _vocab_terms(db: Database, fragment: str) -> list[str] | None:
    """The trigrams starting with a 1-2 character ``fragment`` (every stored value ends with
    two U+0001, so each occurrence starts one); None when too many to list usefully."""
    low = fragment.lower()  # the trigram tokenizer folds case
    with db.engine.connect() as conn:
        terms = (
            conn.execute(
                text("SELECT term FROM orders_fts_vocab WHERE term >= :lo AND term < :hi LIMIT :n"),
                {"lo": low, "hi": low + "\U0010ffff", "n": MAX_VOCAB_TERMS + 1},
            )
            .scalars()
            .all()
        )
    return None if len(terms) > MAX_VOCAB_TERMS else list(terms)


def fts_rowids(db: Database, terms: list[str], key: str, *, names: bool) -> tuple[Any, list[str]]:
    """SQLite: (SELECT rowid of the orders matching any term, or None; terms left for LIKE).
    ``names``: name/kana (1-2 characters via orders_fts_short), else email."""
    if db.dialect != "sqlite" or not _has_table(db, "orders_fts"):
        return None, terms
    short_table = names and _has_table(db, "orders_fts_short")
    phrases: list[str] = []
    units: list[str] = []
    left: list[str] = []
    for term in terms:
        if len(term) >= FTS_MIN:
            phrases.append(term)
        elif short_table:
            units.append(_short_unit(term))
        elif (found := _vocab_terms(db, term)) is not None:
            phrases.extend(found)
        else:
            left.append(term)
    selects, params = [], {}
    if phrases:
        cols = "name_key kana_key" if names else "email"
        selects.append(f"SELECT rowid FROM orders_fts WHERE orders_fts MATCH :{key}")
        params[key] = "{" + cols + "} : (" + _fts_phrase(phrases) + ")"
    if units:
        selects.append(
            f"SELECT rowid FROM orders_fts_short WHERE orders_fts_short MATCH :{key}_short"
        )
        params[f"{key}_short"] = _fts_phrase(units)
    if not selects:
        nothing = text("SELECT rowid FROM orders_fts WHERE 0").columns(column("rowid", Integer))
        return (None, left) if left else (nothing, left)
    fts = text(" UNION ".join(selects)).bindparams(**params)
    return fts.columns(column("rowid", Integer)), left


def text_match(
    db: Database,
    cols: list[Any],
    terms: list[str],
    key: str,
    drive: bool,
    *,
    names: bool,
    id_range: tuple[Any, Any] | None = None,
) -> ColumnElement[bool]:
    """Any of ``terms`` is a substring of any of ``cols`` (case-insensitive). ``drive=False``
    keeps SQLite from starting the query from the FTS matches (``+id`` is not indexable);
    ``id_range`` (low, high) limits the FTS lookup to those rowids (FTS5 seeks them)."""
    fts, like_terms = fts_rowids(db, terms, key, names=names)
    if fts is not None and id_range is not None:
        found = fts.subquery("fts")
        fts = select(found.c.rowid).where(found.c.rowid.between(*id_range))
    oid = OT.c.id if drive else OT.c.id + literal_column("0")
    parts: list[ColumnElement[bool]] = [] if fts is None else [oid.in_(fts)]
    for term in like_terms:
        pattern = _like_pattern(term)
        for col in cols:
            if db.dialect == "postgresql":
                parts.append(col.ilike(pattern, escape="/"))
            else:
                parts.append(col.like(pattern, escape="/"))
    return or_(*parts)


def pg_name_keys_match(terms: list[str], *, counting: bool = False) -> ColumnElement[bool]:
    """PostgreSQL: the order_name_keys rows holding any of ``terms`` (case-insensitive, as
    ILIKE: both sides lowercased by the database). The GIN index finds the candidates,
    exactly for terms of up to GRAM_MAX characters; ``strpos`` decides. ``counting``: when
    every term is that short the index alone decides (a count then never reads a key: a
    third faster), else ``strpos`` stays as the cheap per-row test a walk of the sort index
    uses instead of computing the grams."""
    keys = NK.c["keys"]
    top: ColumnElement[Any] = literal_column(str(GRAM_MAX))
    grams = func.paidy_grams(keys, literal_column("1"), top)
    short = [t for t in terms if len(t) <= GRAM_MAX]
    hints: list[ColumnElement[bool]] = []
    if short:
        hints.append(grams.bool_op("&&")(postgresql.array([func.lower(t) for t in short])))
    for term in terms:
        if len(term) > GRAM_MAX:
            hints.append(grams.bool_op("@>")(func.paidy_grams(func.lower(term), top, top)))
    if counting and len(short) == len(terms):
        return or_(*hints)
    found = or_(*[func.strpos(keys, func.lower(t)) > 0 for t in terms])
    return and_(or_(*hints), found)


def name_condition(
    db: Database, raw: str, drive: bool, id_range: tuple[Any, Any] | None
) -> ColumnElement[bool]:
    terms = name_terms(raw)
    if db.dialect == "postgresql":
        return OT.c.id.in_(select(NK.c.order_id).where(pg_name_keys_match(terms)))
    cols = [name_key(OT.c.customer_name), name_key(OT.c.customer_kana)]
    return text_match(db, cols, terms, "name_fts", drive, names=True, id_range=id_range)


def text_only_count(db: Database, q: OrderQuery) -> Select | None:
    """COUNT straight from the search structures when a name or email fragment is the only
    condition (triggers keep them exactly in step with orders)."""
    given = set(q.model_dump(exclude_defaults=True))
    name, email = q.name or "", q.email or ""
    if given == {"name"} and db.dialect == "postgresql":
        terms = name_terms(name)
        match = pg_name_keys_match(terms, counting=True)
        by_index = select(func.count()).select_from(NK).where(match)
        return gram_count(terms, fallback=by_index) if counted(terms) else by_index
    if given == {"name"}:
        fts, left = fts_rowids(db, name_terms(name), "name_fts", names=True)
    elif given == {"email"}:
        fts, left = fts_rowids(db, email_terms(email), "email_fts", names=False)
    else:
        return None
    if fts is None or left:
        return None
    return select(func.count()).select_from(fts.subquery())


def email_terms(raw: str) -> list[str]:
    return list(dict.fromkeys([raw, unicodedata.normalize("NFKC", raw)]))
