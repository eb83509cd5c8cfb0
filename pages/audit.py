"""操作履歴: every attempted action (who, when, what, result, Paidy request id), filterable,
with a CSV export of all matching entries."""

from __future__ import annotations

import streamlit as st

from core import dashboard as dq
from pages import _ui
from pages._ui import t

ACTIONS = ("capture", "refund", "update", "close", "refresh", "order_save", "status_change", "link",
           "delete", "restore", "webhook", "mail", "review")  # fmt: skip
OUTCOMES = ("ok", "skipped", "failed", "unknown", "intent", "settled")
CSV_KEY = "audit_csv"


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
            key="audit_actions",
            format_func=lambda a: t(f"action.{a}"),
        )
        outcomes = c[1].multiselect(
            t("audit.outcomes"),
            OUTCOMES,
            placeholder=t("common.choose"),
            key="audit_outcomes",
            format_func=lambda o: t(f"outcome.{o}"),
        )
        payment_id = c[2].text_input(t("audit.payment_id"), key="audit_payment_id").strip()
    if order_no and not order_no.isdigit():
        st.error(t("audit.bad_order_no"))
        return None
    return dq.AuditFilter(
        date_from=d_from,
        date_to=d_to,
        actor=actor or None,
        actions=tuple(actions),
        outcomes=tuple(outcomes),
        order_no=int(order_no) if order_no else None,
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
    frame = dq.audit_log(ctx.db, f, limit=500)
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
    st.dataframe(view, hide_index=True, column_config=config, key="audit_grid")
    sig = repr(f) + _ui.lang()
    if st.button(t("audit.csv_build"), key="audit_csv_build", icon=":material/build:"):
        st.session_state[CSV_KEY] = {"sig": sig, "data": dq.audit_csv(ctx.db, f, headers())}
    built = st.session_state.get(CSV_KEY)
    if built and built["sig"] == sig:
        st.download_button(
            t("common.download_csv"),
            built["data"],
            file_name="audit_log.csv",
            mime="text/csv",
            key="audit_csv_download",
            on_click="ignore",
            icon=":material/download:",
        )


with _ui.guard():
    main()
