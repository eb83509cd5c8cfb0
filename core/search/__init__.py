"""The order search (受注管理の検索条件): one query model, SQL only, for the screens and the CLI.

Filtering, counting, sorting and paging all happen in SQL with bound parameters;
:func:`iter_orders` streams (server-side cursor / ``yield_per``) so memory stays flat.
The modules, in the order a search passes through them:

- :mod:`~core.search.invalid`, :mod:`~core.search.parsing`, :mod:`~core.search.query`:
  what was typed becomes an :class:`OrderQuery`, or :class:`InvalidQuery` says why not;
- :mod:`~core.search.predicates`: the payment rules (derived state, discrepancy) as SQL;
- :mod:`~core.search.text_match`: partial match on name / kana / email (FTS5 trigram on
  SQLite, the name-key side table and pg_trgm on PostgreSQL, short fragments), with
  :mod:`~core.search.gram_counts` counting 1-2 character fragments on PostgreSQL;
- :mod:`~core.search.conditions`: a query as WHERE conditions;
- :mod:`~core.search.columns`: the columns a search can return and sort by;
- :mod:`~core.search.statement`: the one SELECT; :mod:`~core.search.counting`: the COUNT;
- :mod:`~core.search.paging`: one page (:mod:`~core.search.by_payment` for a search on the
  payment alone sorted by order date); :mod:`~core.search.frames`: rows as a typed frame;
- :mod:`~core.search.orders`: streaming, ids, and one order by number.

docs/architecture.md places the search in the whole.
"""

from core.search.columns import COLUMNS, DATE_COLUMNS, PAYMENT_COLUMNS, SORTS, TIME_COLUMNS
from core.search.counting import count_orders, count_select
from core.search.frames import DTYPES, to_frame
from core.search.invalid import InvalidQuery
from core.search.orders import frame_for_orders, get_order, iter_orders, order_ids_for
from core.search.paging import MAX_PAGE_SIZE, SearchPage, search_orders
from core.search.predicates import (
    discrepancy_condition,
    name_key,
    state_column,
    state_condition,
)
from core.search.query import OrderQuery
from core.search.statement import build_select

__all__ = [
    "COLUMNS",
    "DATE_COLUMNS",
    "DTYPES",
    "MAX_PAGE_SIZE",
    "PAYMENT_COLUMNS",
    "SORTS",
    "TIME_COLUMNS",
    "InvalidQuery",
    "OrderQuery",
    "SearchPage",
    "build_select",
    "count_orders",
    "count_select",
    "discrepancy_condition",
    "frame_for_orders",
    "get_order",
    "iter_orders",
    "name_key",
    "order_ids_for",
    "search_orders",
    "state_column",
    "state_condition",
    "to_frame",
]
