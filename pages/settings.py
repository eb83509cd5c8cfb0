"""設定: mode, API base, the key (masked, never the key), a connection test, saved CSV column
sets (CSV出力項目設定), and users and roles (admin only)."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from core import export
from core import views as dq
from core.auth import admin, users
from core.errors import OperatorError
from core.operations import column_sets as column_set_service
from core.roles import Permission, PermissionDenied, Role
from core.settings import Mode
from pages import _mail, _ui
from pages._ui import t


def connection(ctx: _ui.PageContext) -> None:
    st.subheader(t("settings.connection"))
    s = ctx.rt.settings
    mode_key = {Mode.DEMO: "app.mode.demo", Mode.TEST: "app.mode.test", Mode.LIVE: "app.mode.live"}[
        s.mode
    ]
    rows = [
        (t("settings.mode"), t(mode_key)),
        (t("settings.api_base"), ctx.rt.api_base),
        (t("settings.key"), s.masked_key),
        (t("settings.auth_mode"), s.effective_auth_mode.value),
        (t("settings.database"), ctx.db.dialect),
        ("", t("settings.counts", **dq.counts(ctx.db))),
    ]
    st.dataframe(
        pd.DataFrame(rows, columns=["field", "value"]),
        placeholder="",
        hide_index=True,
        key="settings_conn",
        column_config={
            "field": st.column_config.TextColumn(t("order.field")),
            "value": st.column_config.TextColumn(t("order.value")),
        },
    )
    if st.button(t("settings.test"), key="settings_test", icon=":material/network_check:"):
        pid = dq.any_payment_id(ctx.db)
        if pid is None:
            st.info(t("settings.test_no_payment"))
            return
        started = time.perf_counter()
        try:
            res = ctx.ops.client.get_payment(pid)
        except OperatorError as exc:  # Paidy's failures say why; anything else: the guard
            _ui.notice("error", t("settings.test_failed_head"), exc.message(ctx.lang))
            return
        ms = int((time.perf_counter() - started) * 1000)
        detail = t("settings.test_ok_detail", payment_id=pid, status=res.payment.status, ms=ms)
        _ui.notice("success", t("settings.test_ok_head"), detail)


def column_sets(ctx: _ui.PageContext) -> None:
    st.subheader(t("settings.column_sets"))
    lang = ctx.lang
    labels = {k: c.label(lang) for k, c in export.EXPORT_COLUMNS.items()}
    sets = export.list_column_sets(ctx.db)
    if sets:
        frame = pd.DataFrame(
            {
                "name": [s.name for s in sets],
                "columns": [", ".join(labels.get(c, c) for c in s.columns) for s in sets],
                "actor": [s.created_by for s in sets],
            }
        )
        st.dataframe(
            frame,
            placeholder="",
            hide_index=True,
            key="settings_sets",
            column_config={
                "name": st.column_config.TextColumn(t("settings.set_name")),
                "columns": st.column_config.TextColumn(t("settings.set_columns")),
                "actor": st.column_config.TextColumn(t("col.actor")),
            },
        )
    else:
        st.caption(t("settings.no_sets"))
    if not ctx.can(Permission.EXPORT):
        return
    with st.form("settings_set_form", clear_on_submit=True):
        name = st.text_input(t("settings.set_name"), key="settings_set_name")
        cols = st.multiselect(
            t("settings.set_columns"),
            list(labels),
            default=list(export.DEFAULT_COLUMNS),
            format_func=lambda k: labels.get(k, k),
            placeholder=t("common.choose"),
            select_all=False,
            key="settings_set_cols",
        )
        if st.form_submit_button(t("settings.set_save"), icon=":material/save:"):
            try:
                saved = column_set_service.save(ctx.db, ctx.actor, name, cols, now=ctx.ops.now())
            except OperatorError as exc:  # ExportError / PermissionDenied
                _ui.show_refusal(exc)
            else:  # the list above (and the delete pick) was drawn before the save: redraw
                st.session_state["settings_flash"] = t("settings.set_saved", name=saved.name)
                st.rerun()
    mine = [s.name for s in sets if ctx.can(Permission.ADMIN) or s.created_by == ctx.actor.name]
    if mine:
        c = st.columns([2, 1], vertical_alignment="bottom")
        victim = c[0].selectbox(t("settings.set_name"), mine, key="settings_set_delete_pick")
        if c[1].button(
            t("settings.set_delete"), key="settings_set_delete", icon=":material/delete:"
        ):
            column_set_service.delete(ctx.db, ctx.actor, victim, now=ctx.ops.now())
            st.session_state["settings_flash"] = t("settings.set_deleted", name=victim)
            st.rerun()


def user_admin(ctx: _ui.PageContext) -> None:
    st.subheader(t("settings.users"))
    if not ctx.can(Permission.ADMIN):
        st.caption(t("settings.users_admin_only"))
        return
    found = users.list_users(ctx.db)
    if found:
        frame = pd.DataFrame(
            {
                "name": [u["name"] for u in found],
                "role": [_ui.role_label(u["role"]) for u in found],
                "email": [u["email"] for u in found],
                "disabled": [t("common.yes") if u["disabled"] else "" for u in found],
                "last_login_at": [_ui.jst(u["last_login_at"]) for u in found],
            }
        )
        st.dataframe(
            frame,
            placeholder="",
            hide_index=True,
            key="settings_users",
            column_config={
                "name": st.column_config.TextColumn(t("col.name")),
                "role": st.column_config.TextColumn(t("col.role")),
                "email": st.column_config.TextColumn(t("col.email")),
                "disabled": st.column_config.TextColumn(t("col.disabled")),
                "last_login_at": st.column_config.TextColumn(t("col.last_login_at")),
            },
        )
    roles = [r.value for r in Role]
    with (
        st.expander(t("settings.user_add"), icon=":material/person_add:"),
        st.form("settings_user_add", clear_on_submit=True),
    ):
        name = st.text_input(t("col.name"), key="settings_user_name")
        role = st.selectbox(
            t("col.role"), roles, format_func=_ui.role_label, key="settings_user_role"
        )
        email = st.text_input(t("settings.user_email"), key="settings_user_email")
        password = st.text_input(t("login.password"), type="password", key="settings_user_password")
        if st.form_submit_button(t("settings.user_add")):
            _admin_write(
                lambda: admin.add_user(
                    ctx.db, ctx.actor, name, role, password or None, email, now=ctx.ops.now()
                ),
                t("settings.user_added", name=name.strip()),
            )
    if not found:
        return
    names = [u["name"] for u in found]
    c = st.columns([2, 2, 1, 1], vertical_alignment="bottom")
    who = c[0].selectbox(t("settings.user_pick"), names, key="settings_user_pick")
    new_role = c[1].selectbox(
        t("col.role"), roles, format_func=_ui.role_label, key="settings_user_new_role"
    )
    picked = next(u for u in found if u["name"] == who)
    if c[2].button(t("settings.user_role_change"), key="settings_user_set_role"):
        _admin_write(
            lambda: admin.set_role(ctx.db, ctx.actor, who, new_role, now=ctx.ops.now()),
            t("settings.user_role_done", name=who, role=_ui.role_label(new_role)),
        )
    if picked["disabled"]:
        if c[3].button(t("settings.user_enable"), key="settings_user_enable"):
            _admin_write(
                lambda: admin.enable(ctx.db, ctx.actor, who, now=ctx.ops.now()),
                t("settings.user_enabled", name=who),
            )
    elif c[3].button(t("settings.user_disable"), key="settings_user_disable"):
        _admin_write(
            lambda: admin.disable(ctx.db, ctx.actor, who, now=ctx.ops.now()),
            t("settings.user_disabled", name=who),
        )


def _admin_write(write, done: str) -> None:
    """Run one audited admin write (core checks who may); a refusal is shown, not raised."""
    try:
        write()
    except (users.UserError, PermissionDenied) as exc:
        _ui.show_refusal(exc)
        return
    st.session_state["settings_flash"] = done
    st.rerun()


def main() -> None:
    ctx = _ui.page()
    st.title(t("settings.title"))
    flash = st.session_state.pop("settings_flash", None)
    if flash:
        st.success(flash)
    connection(ctx)
    st.divider()
    column_sets(ctx)
    st.divider()
    user_admin(ctx)
    st.divider()
    _mail.mail_settings(ctx)


with _ui.guard():
    main()
