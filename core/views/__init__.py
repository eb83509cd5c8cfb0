"""The read side of the screens: every aggregate computed by the database (no table is
loaded whole), on SQLite and PostgreSQL alike. Times are UTC in the database, JST on screen.

- :mod:`~core.views.metrics`, :mod:`~core.views.charts`, :mod:`~core.views.expiring`,
  :mod:`~core.views.attention`: the dashboard;
- :mod:`~core.views.audit`, :mod:`~core.views.audit_csv`: the audit log (操作履歴);
- :mod:`~core.views.timeline`: an order's timeline (the order screen);
- :mod:`~core.views.inventory`: the settings page's counts and connection test.

Deleted orders (削除) leave every figure and list, their audit entries included; the audit
log screen and an order's timeline keep them (core/storage/deleted.py).
"""

from core.domain.statuses import UNSETTLED
from core.views.attention import ATTENTION_COLUMNS, attention
from core.views.audit import (
    AUDIT_COLUMNS,
    AuditFilter,
    audit_count,
    audit_log,
    distinct_actors,
    entry_message,
    recent_actions,
)
from core.views.audit_csv import audit_csv
from core.views.charts import amounts_by_state, captures_per_day
from core.views.expiring import expiring_soon
from core.views.inventory import any_payment_id, counts
from core.views.metrics import INTENT_STALE, Metrics, metrics
from core.views.timeline import TIMELINE_COLUMNS, order_timeline

__all__ = [
    "ATTENTION_COLUMNS",
    "AUDIT_COLUMNS",
    "INTENT_STALE",
    "TIMELINE_COLUMNS",
    "UNSETTLED",
    "AuditFilter",
    "Metrics",
    "amounts_by_state",
    "any_payment_id",
    "attention",
    "audit_count",
    "audit_csv",
    "audit_log",
    "captures_per_day",
    "counts",
    "distinct_actors",
    "entry_message",
    "expiring_soon",
    "metrics",
    "order_timeline",
    "recent_actions",
]
