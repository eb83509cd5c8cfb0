"""削除 on the screens: the button (list rows and the order page), its confirmation dialog,
the results, and the deleted order's notice with 復元 for admins. Core decides everything
(``core.operations.delete``); this only asks and shows.

The dialog opens from a session-state flag set by the button (a dialog opened straight from
a button cannot be driven by AppTest, and the flag survives the rerun).
"""

from __future__ import annotations

import streamlit as st

from core.domain.statuses import Outcome
from core.operations.delete import delete_orders, restore_orders
from core.roles import Permission
from pages import _ui
from pages._ui import t

PENDING = "delete_pending"  # {"order_nos": [...], "clear": [session keys to drop after]}
FLASH = "delete_flash"  # list[OrderChange] of the last run, shown once


def button(ctx: _ui.PageContext, order_nos: list[int], *, key: str, clear=(), label=None) -> None:
    """A 削除 button for these orders (operators and admins only); nothing is deleted
    before the confirmation. ``clear``: session keys to drop after a run (grid selections)."""
    if not ctx.can(Permission.EDIT_ORDERS):
        return
    if st.button(
        label or t("delete.button"),
        key=key,
        disabled=not order_nos,
        icon=":material/delete:",
    ):
        st.session_state[PENDING] = {"order_nos": list(order_nos), "clear": list(clear)}
        st.rerun()


def dialog() -> None:
    """Open the confirmation when a 削除 is pending (call once per page run)."""
    pending = st.session_state.get(PENDING)
    if pending:
        st.dialog(t("delete.title"), width="medium")(_confirm)(pending)


def _confirm(pending: dict) -> None:
    ctx = _ui.page()
    nos = pending["order_nos"]
    shown = ", ".join(map(str, nos[:50])) + (" …" if len(nos) > 50 else "")
    st.text(t("delete.confirm", count=len(nos), numbers=shown))
    st.caption(t("delete.confirm_note"))
    c = st.columns(2)
    run = c[0].button(t("delete.run"), type="primary", key="delete_run", icon=":material/delete:")
    cancel = c[1].button(t("common.cancel"), key="delete_cancel")
    if cancel:
        st.session_state.pop(PENDING, None)
        st.rerun()
    if run:
        st.session_state.pop(PENDING, None)
        for key in pending.get("clear", ()):
            st.session_state.pop(key, None)
        st.session_state[FLASH] = delete_orders(ctx.ops, ctx.actor, nos)
        st.rerun()


def results() -> None:
    """What the last 削除 / 復元 did, once: a count of done, each refusal with its reason."""
    found = st.session_state.pop(FLASH, None)
    if not found:
        return
    lang = _ui.lang()
    done = [r for r in found if r.outcome is Outcome.OK]
    if done:
        key = "delete.done" if done[0].action == "delete" else "restore.done"
        st.success(t(key, count=len(done)), icon=":material/check_circle:")
    for r in found:
        if r.outcome is not Outcome.OK:
            st.warning(_ui.md_escape(r.message(lang)), icon=":material/block:")


def deleted_notice(ctx: _ui.PageContext, order) -> None:
    """The deep link of a deleted order: say so; an admin can restore it here."""
    st.warning(
        _ui.md_escape(
            t("delete.is_deleted", at=_ui.jst(order.deleted_at), by=order.deleted_by or "-")
        ),
        icon=":material/delete:",
    )
    if not ctx.can(Permission.ADMIN):
        st.caption(t("delete.restore_hint"))
        return
    if st.button(t("restore.button"), key=f"restore_{order.order_no}", icon=":material/restore:"):
        st.session_state[FLASH] = restore_orders(ctx.ops, ctx.actor, [order.order_no])
        st.rerun()
