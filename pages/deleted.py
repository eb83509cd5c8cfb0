"""削除済み受注 (admins): the deleted orders, newest first; tick rows and 復元 brings them back
into search, export and the dashboard. Core checks the role again (``restore_orders``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.operations.delete import deleted_orders, restore_orders
from core.roles import Permission
from pages import _delete, _ui
from pages._ui import t

GRID_KEY = "deleted_grid"


def main() -> None:
    ctx = _ui.page()
    st.title(t("restore.title"))
    _delete.results()
    if not ctx.can(Permission.ADMIN):
        st.info(t("settings.admin_only"))
        return
    st.caption(t("restore.intro"))
    frame = deleted_orders(ctx.ops, ctx.actor)
    if frame.empty:
        st.info(t("restore.none"))
        return
    view = pd.DataFrame(
        {
            "edit": [_ui.url("order", order=int(n)) for n in frame["order_no"]],
            "order_no": frame["order_no"],
            "customer": frame["customer_name"],
            "total": frame["total"],
            "payment_id": frame["paidy_payment_id"],
            "deleted_at": _ui.jst_frame_col(frame["deleted_at"]),
            "deleted_by": frame["deleted_by"],
        }
    )
    event = st.dataframe(
        view,
        placeholder="",
        hide_index=True,
        key=GRID_KEY,
        on_select="rerun",
        selection_mode="multi-row",
        column_config={
            "edit": st.column_config.LinkColumn(
                t("col.open"), display_text=r"/order\?order=(\d+)", width="small"
            ),
            "order_no": st.column_config.NumberColumn(t("col.order_no"), format="%d"),
            "customer": st.column_config.TextColumn(t("col.customer_name")),
            "total": st.column_config.NumberColumn(t("col.total"), format="localized"),
            "payment_id": st.column_config.TextColumn(t("col.payment_id")),
            "deleted_at": st.column_config.TextColumn(t("col.deleted_at")),
            "deleted_by": st.column_config.TextColumn(t("col.deleted_by")),
        },
    )
    chosen = [int(frame["order_no"].iloc[i]) for i in event.selection.rows if i < len(frame)]
    if st.button(
        t("restore.selected"),
        key="deleted_restore",
        disabled=not chosen,
        icon=":material/restore:",
        type="primary",
    ):
        st.session_state.pop(GRID_KEY, None)  # positions of a list that is about to change
        st.session_state[_delete.FLASH] = restore_orders(ctx.ops, ctx.actor, chosen)
        st.rerun()


with _ui.guard():
    main()
