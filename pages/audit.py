"""操作履歴: every attempted action (who, when, what, result, Paidy request id), filterable,
with a CSV export of all matching entries."""

from __future__ import annotations

import streamlit as st

from core import views as dq
from core.domain.errors import RuleViolation
from core.domain.orders import parse_order_no
from core.domain.statuses import AuditOutcome
from pages import _ui
from pages._ui import t

ACTIONS = ("capture", "refund", "update", "close", "refresh", "order_save", "status_change", "link",
           "delete", "restore", "webhook", "mail", "review")  # fmt: skip
#: the outcomes to filter by (a ``late`` event row is found through the entry it corrects)
OUTCOMES = tuple(o for o in AuditOutcome if o is not AuditOutcome.LATE)


def filters(ctx: _ui.PageContext) -> dq.AuditFilter | None:
    with st.expander(t("orders.search"), expanded=True, icon=":material/filter_list:"):
        c = st.columns(4)
        d_from = c[0].date_input(
            t("audit.date_from"), value=None, key="audit_from", format="YYYY/MM/DD"
        )
        d_to = c[1].date_input(t("audit.date_to"), value=None, key="audit_to", format="YYYY/MM/DD")
        actor = c[2].selectbox(
            t("audit.actor"),
            ["", *dq.distinct_actors(ctx.db)],
            key="audit_actor",
            format_func=lambda v: v or t("common.all"),
        )
        order_no = c[3].text_input(t("audit.order_no"), key="audit_order_no").strip()
        c = st.columns([2, 2, 2])
        actions = c[0].multiselect(
            t("audit.actions"),
            ACTIONS,
            placeholder=t("common.choose"),
            select_all=False,  # its "Select all" is English on both screens
            key="audit_actions",
            format_func=lambda a: t(f"action.{a}"),
        )
        outcomes = c[1].multiselect(
            t("audit.outcomes"),
            OUTCOMES,
            placeholder=t("common.choose"),
            select_all=False,
            key="audit_outcomes",
            format_func=lambda o: t(f"outcome.{o}"),
        )
        payment_id = c[2].text_input(t("audit.payment_id"), key="audit_payment_id").strip()
    number = None
    if order_no:
        try:
            number = parse_order_no(order_no)  # a 20-digit number: out of range, not SQL's
        except RuleViolation as exc:
            _ui.show_refusal(exc)
            return None
    return dq.AuditFilter(
        date_from=d_from,
        date_to=d_to,
        actor=actor or None,
        actions=tuple(actions),
        outcomes=tuple(outcomes),
        order_no=number,
        payment_id=payment_id or None,
    )


def headers() -> dict[str, str]:
    return {k: t(f"col.{k}") for k in dq.AUDIT_COLUMNS}


def main() -> None:
    ctx = _ui.page()
    st.title(t("audit.title"))
    f = filters(ctx)
    if f is None:
        return
    total = dq.audit_count(ctx.db, f)
    frame = dq.audit_log(ctx.db, f, limit=500, lang=ctx.lang)
    st.markdown(
        f"**{_ui.md_escape(t('audit.found', count=total))}** "
        + _ui.md_escape(t("audit.shown", shown=len(frame)))
    )
    view = frame.assign(
        created_at=_ui.jst_frame_col(frame["created_at"]),
        finished_at=_ui.jst_frame_col(frame["finished_at"]),
        action=frame["action"].map(lambda a: t(f"action.{a}")),
        outcome=frame["outcome"].map(lambda o: t(f"outcome.{o}")),
    )
    config = {k: st.column_config.TextColumn(t(f"col.{k}")) for k in dq.AUDIT_COLUMNS}
    for k in ("id", "order_no", "job_id"):
        config[k] = st.column_config.NumberColumn(t(f"col.{k}"), format="%d")
    config["amount"] = st.column_config.NumberColumn(t("col.amount"), format="localized")
    st.dataframe(view, hide_index=True, column_config=config, key="audit_grid", placeholder="")
    # One click: the CSV is made when the button is pressed (Streamlit calls ``data``),
    # from the filters and language of this run.
    db, lang, heads = ctx.db, ctx.lang, headers()
    st.download_button(
        t("common.download_csv"),
        lambda: dq.audit_csv(db, f, heads, lang=lang),
        file_name="audit_log.csv",
        mime="text/csv",
        key="audit_csv_download",
        on_click="ignore",
        icon=":material/download:",
    )


with _ui.guard():
    main()
