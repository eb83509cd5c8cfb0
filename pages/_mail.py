"""メール通知 on the screens: the order page's section (template, preview, send, history,
this order's mails in the demo inbox) and the 設定 page's mail settings and demo inbox.
Thin: core.mail drafts, guards and sends; everything customer-made is shown as text."""

from __future__ import annotations

import uuid

import pandas as pd
import streamlit as st

from core.mail.inbox import read_inbox
from core.mail.service import Draft, draft, history, send_mail
from core.mail.templates import Template, template_label
from core.roles import Permission
from core.settings import Mode
from pages import _ui
from pages._ui import t

INBOX_LIMIT = 50
RESULT = "mail_result"  # (order_no, template, token) -> MailResult of this session


def _token_key(order_no: int, template: str) -> str:
    return f"mail_token_{order_no}_{template}"


def _token(order_no: int, template: str) -> str:
    """The click token of the mail shown now: the same for every click on its send button
    (a double click sends once); a new one only by「もう一度送信する」."""
    key = _token_key(order_no, template)
    if key not in st.session_state:
        st.session_state[key] = uuid.uuid4().hex
    return st.session_state[key]


@st.fragment
def mail_section(order_no: int, expanded: bool = False) -> None:
    ctx = _ui.page()
    ms = ctx.rt.mail
    with st.expander(t("mail.section"), expanded=expanded, icon=":material/mail:"):
        template = st.selectbox(
            t("mail.template"),
            [m.value for m in Template],
            format_func=lambda v: template_label(v, ctx.lang),
            key=f"mail_template_{order_no}",
        )
        d = draft(ms, order_no, template)
        preview(d)
        if ms.demo:
            st.caption(t("mail.demo_note"))
        send_controls(ctx, ms, d)
        sent_history(ctx, order_no)
        if ms.demo:
            order_inbox(ctx, order_no)


def _fields(rows: list[tuple[str, str]], key: str) -> None:
    """Label/value pairs as a read-only table: customer text is a cell, never markup."""
    st.dataframe(
        pd.DataFrame(rows, columns=["field", "value"]),
        placeholder="",
        hide_index=True,
        key=key,
        column_config={
            "field": st.column_config.TextColumn(t("order.field"), width="small"),
            "value": st.column_config.TextColumn(t("order.value"), width="large"),
        },
    )


def preview(d: Draft) -> None:
    rows = [(t("mail.from"), d.sender), (t("mail.to"), d.to)]
    if d.subject:
        rows.append((t("mail.subject"), d.subject))
    _fields(rows, f"mail_head_{d.order_no}")
    if d.body:
        st.caption(t("mail.body") + " — " + t("mail.japanese_note"))
        st.code(d.body, language=None, wrap_lines=True)
    if d.problem is not None:
        _ui.show_refusal(d.problem)


def send_controls(ctx: _ui.PageContext, ms, d: Draft) -> None:
    if not ctx.can(Permission.ACT):
        st.caption(t("app.readonly_note"))
        return
    token = _token(d.order_no, d.template.value)
    done = st.session_state.get(RESULT, {}).get((d.order_no, d.template.value, token))
    c = st.columns([1, 1, 2])
    unknown = done is not None and (done.outcome == "unknown" or done.code == "previous_unknown")
    if done is not None and (done.done or unknown):
        st.caption(t("mail.sent_note") if done.done else t("mail.unknown_note"))
        if c[0].button(t("mail.send_again"), key=f"mail_again_{d.order_no}_{d.template.value}"):
            st.session_state[_token_key(d.order_no, d.template.value)] = uuid.uuid4().hex
            st.rerun(scope="fragment" if _ui._fragment_rerun() else "app")
    elif c[0].button(
        t("mail.send"),
        type="primary",
        icon=":material/send:",
        key=f"mail_send_{d.order_no}_{d.template.value}",
        disabled=not d.can_send,
    ):
        result = send_mail(ms, ctx.actor, d.order_no, d.template, token=token)
        st.session_state.setdefault(RESULT, {})[(d.order_no, d.template.value, token)] = result
        st.rerun(scope="fragment" if _ui._fragment_rerun() else "app")
    if done is not None:
        _ui.show_result(done)  # the address is in the history below (a table cell)


def sent_history(ctx: _ui.PageContext, order_no: int) -> None:
    st.markdown(f"**{_ui.md_escape(t('mail.history'))}**")
    rows = history(ctx.db, order_no)
    if not rows:
        st.caption(t("mail.history_empty"))
        return
    frame = pd.DataFrame(
        {
            "at": [_ui.jst(r.created_at) for r in rows],
            "template": [template_label(r.template, ctx.lang) for r in rows],
            "to": [r.to_addr for r in rows],
            "status": [t(f"mail.status.{r.status}") for r in rows],
            "actor": [r.actor for r in rows],
            "error": [r.error for r in rows],
        }
    )
    st.dataframe(
        frame,
        placeholder="",
        hide_index=True,
        key=f"mail_history_{order_no}",
        column_config={
            "at": st.column_config.TextColumn(t("col.at")),
            "template": st.column_config.TextColumn(t("mail.template")),
            "to": st.column_config.TextColumn(t("mail.to")),
            "status": st.column_config.TextColumn(t("mail.col.status")),
            "actor": st.column_config.TextColumn(t("col.actor")),
            "error": st.column_config.TextColumn(t("mail.col.error")),
        },
    )


def order_inbox(ctx: _ui.PageContext, order_no: int) -> None:
    ids = {r.message_id for r in history(ctx.db, order_no, limit=INBOX_LIMIT) if r.message_id}
    if not ids:
        return
    st.markdown(f"**{_ui.md_escape(t('mail.inbox_order'))}**")
    inbox(ctx, key=f"mail_inbox_{order_no}", message_ids=ids)


def inbox(ctx: _ui.PageContext, *, key: str, message_ids: set[str] | None = None) -> None:
    """What the embedded demo SMTP server kept: a table and the chosen mail as text."""
    mails = read_inbox(ctx.rt.settings.demo_mail_dir, limit=INBOX_LIMIT, message_ids=message_ids)
    if not mails:
        st.caption(t("mail.inbox_empty"))
        return
    st.caption(t("mail.inbox_hint", limit=INBOX_LIMIT))
    frame = pd.DataFrame(
        {
            "received": [_ui.jst(m.received_at) for m in mails],
            "to": [m.to for m in mails],
            "subject": [m.subject for m in mails],
        }
    )
    st.dataframe(
        frame,
        placeholder="",
        hide_index=True,
        key=f"{key}_table",
        column_config={
            "received": st.column_config.TextColumn(t("mail.received")),
            "to": st.column_config.TextColumn(t("mail.to")),
            "subject": st.column_config.TextColumn(t("mail.subject")),
        },
    )
    labels = {m.key: f"{_ui.jst(m.received_at)}  {m.subject}" for m in mails}
    chosen = st.selectbox(
        t("mail.inbox_pick"), list(labels), format_func=labels.get, key=f"{key}_pick"
    )
    mail = next(m for m in mails if m.key == chosen)
    _fields(
        [
            (t("mail.from"), mail.sender),
            (t("mail.to"), mail.to),
            (t("mail.subject"), mail.subject),
        ],
        f"{key}_head",
    )
    st.code(mail.body, language=None, wrap_lines=True)


def mail_settings(ctx: _ui.PageContext) -> None:
    """設定: the mail server (password masked), the sender, and in demo mode the inbox."""
    st.subheader(t("mail.settings"))
    ms = ctx.rt.mail
    st.text(f"{t('mail.server')}: {ms.describe()}")
    st.text(f"{t('mail.mail_from')}: {ms.mail_from or '-'}")
    if ms.problem is not None:
        st.warning(_ui.md_escape(t("mail.problem", message=ms.problem.message(ctx.lang))))
    if ms.demo or ctx.rt.settings.mode is Mode.DEMO:
        st.markdown(f"**{_ui.md_escape(t('mail.inbox'))}**")
        inbox(ctx, key="settings_mail_inbox")
