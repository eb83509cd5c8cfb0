"""ダッシュボード: metric tiles, the authorizations expiring soonest (one click to capture them
on the batch page), the latest actions, and amounts by Paidy state."""

from __future__ import annotations

import streamlit as st

from core import views as dq
from core.domain.statuses import UNSETTLED
from core.errors import OperatorError
from core.operations import review
from core.operations.batch import BatchAction
from core.operations.flags import TAGS_UNRELIABLE, get_flag
from core.roles import Permission
from core.timeutil import fmt_jst_seconds, parse_iso
from pages import _ui
from pages._ui import t


def tiles(m: dq.Metrics) -> None:
    tiles = [
        (t("dash.open"), m.open_amount, m.open_count),
        (t("dash.expiring_3"), m.expiring_3_amount, m.expiring_3_count),
        (t("dash.expiring_7"), m.expiring_7_amount, m.expiring_7_count),
        (t("dash.captured_today"), m.captured_today, m.captured_today_count),
        (t("dash.captured_month"), m.captured_month, m.captured_month_count),
        (t("dash.refunded_today"), m.refunded_today, m.refunded_today_count),
    ]
    cells = [c for _ in range(2) for c in st.columns(4)]
    for cell, (title, amount, count) in zip(cells[:3] + cells[4:7], tiles, strict=True):
        yen_tile(cell, title, amount, count)
    cells[3].metric(t("dash.discrepancies"), t("common.count", count=m.discrepancies), border=True)
    cells[7].metric(
        t("dash.unsettled"),
        t("common.count", count=m.unsettled),
        t("dash.needs_review") + " " + t("common.count", count=m.needs_review),
        delta_color="inverse" if m.needs_review else "off",
        delta_arrow="off",
        help=t("dash.unsettled_help") + " " + t("dash.needs_review_help"),
        border=True,
    )
    st.caption(t("dash.today_note"))


def yen_tile(cell, title: str, amount: int, count: int) -> None:
    """Yen as the figure, the count beneath it (one long "N件 / X円" line gets cut off)."""
    cell.metric(
        title,
        _ui.yen(amount),
        t("dash.count_delta", count=count),
        delta_color="off",
        delta_arrow="off",
        border=True,
    )


def expiring(ctx: _ui.PageContext, now) -> None:
    st.subheader(t("dash.expiring_title"))
    frame = dq.expiring_soon(ctx.db, now, limit=20)
    if frame.empty:
        st.info(t("dash.no_open"))
        return
    view = frame.assign(
        expires=_ui.jst_frame_col(frame["expires_at"]),
        days_left=[_ui.days_text(e.to_pydatetime(), now) for e in frame["expires_at"]],
    )
    st.dataframe(
        view[
            ["order_no", "customer_name", "amount", "total", "expires", "days_left", "payment_id"]
        ],
        hide_index=True,
        column_config={
            "order_no": st.column_config.NumberColumn(t("col.order_no"), format="%d"),
            "customer_name": st.column_config.TextColumn(t("col.customer_name")),
            "amount": st.column_config.NumberColumn(t("col.paidy_amount"), format="localized"),
            "total": st.column_config.NumberColumn(t("col.total"), format="localized"),
            "expires": st.column_config.TextColumn(t("col.expires_at")),
            "days_left": st.column_config.TextColumn(t("col.days_left")),
            "payment_id": st.column_config.TextColumn(t("col.payment_id")),
        },
        key="dash_expiring",
        placeholder="",
    )
    if ctx.can(Permission.ACT):
        order_nos = [int(n) for n in frame["order_no"]]
        if st.button(
            t("dash.capture_these", count=len(order_nos)),
            key="dash_to_batch",
            icon=":material/playlist_add_check:",
            type="primary",
        ):
            st.session_state[_ui.BATCH_PRESELECT] = order_nos
            st.session_state[_ui.BATCH_ACTION] = BatchAction.CAPTURE.value
            _ui.switch_page("pages/batch.py")


def recent(ctx: _ui.PageContext) -> None:
    st.subheader(t("dash.recent_title"))
    frame = dq.recent_actions(ctx.db, limit=10, lang=ctx.lang)
    if frame.empty:
        st.caption(t("common.no_rows"))
        return
    view = frame.assign(
        at=_ui.jst_frame_col(frame["created_at"]),
        action_label=frame["action"].map(lambda a: t(f"action.{a}")),
        outcome_label=frame["outcome"].map(lambda o: t(f"outcome.{o}")),
    )
    st.dataframe(
        view[["at", "actor", "action_label", "order_no", "amount", "outcome_label", "message"]],
        hide_index=True,
        column_config={
            "at": st.column_config.TextColumn(t("col.created_at")),
            "actor": st.column_config.TextColumn(t("col.actor")),
            "action_label": st.column_config.TextColumn(t("col.action")),
            "order_no": st.column_config.NumberColumn(t("col.order_no"), format="%d"),
            "amount": st.column_config.NumberColumn(t("col.amount"), format="localized"),
            "outcome_label": st.column_config.TextColumn(t("col.outcome")),
            "message": st.column_config.TextColumn(t("col.message")),
        },
        key="dash_recent",
        placeholder="",
    )


def attention(ctx: _ui.PageContext) -> None:
    """Late landings, duplicates and undecidable writes (a person decides), and writes whose
    outcome is being checked (with the moment it becomes definite)."""
    flag = get_flag(ctx.db, TAGS_UNRELIABLE)
    if flag:
        st.warning(t("dash.tags_unreliable", at=str(flag.get("at", ""))), icon=":material/warning:")
    frame = dq.attention(ctx.db, lang=ctx.lang)
    if frame.empty:
        return
    st.subheader(t("dash.attention_title"))
    view = frame.assign(
        at=_ui.jst_frame_col(frame["created_at"]),
        definite=frame["settle_after"].map(lambda v: fmt_jst_seconds(v) if v is not None else ""),
        action_label=frame["action"].map(lambda a: t(f"action.{a}")),
        outcome_label=frame["outcome"].map(lambda o: t(f"outcome.{o}")),
    )
    st.dataframe(
        view[["at", "order_no", "action_label", "amount", "outcome_label", "definite", "message"]],
        hide_index=True,
        column_config={
            "at": st.column_config.TextColumn(t("col.created_at")),
            "order_no": st.column_config.NumberColumn(t("col.order_no"), format="%d"),
            "action_label": st.column_config.TextColumn(t("col.action")),
            "amount": st.column_config.NumberColumn(t("col.amount"), format="localized"),
            "outcome_label": st.column_config.TextColumn(t("col.outcome")),
            "definite": st.column_config.TextColumn(t("col.definite_at")),
            "message": st.column_config.TextColumn(t("col.message")),
        },
        key="dash_attention",
        placeholder="",
    )
    flagged = frame[frame["needs_review"].astype(bool)]
    if flagged.empty or not ctx.can(Permission.ACT):
        return
    review_one(ctx, flagged)


def review_one(ctx: _ui.PageContext, flagged) -> None:
    ids = [int(i) for i in flagged["id"]]
    labels = {
        int(r.id): f"#{int(r.id)} {t('col.order_no')} {r.order_no} {t(f'action.{r.action}')}"
        for r in flagged.itertuples()
    }
    picked = st.selectbox(t("review.pick"), ids, format_func=labels.get, key="review_pick")
    row = flagged[flagged["id"] == picked].iloc[0]
    if row["payment_id"]:
        entries = review.paidy_entries(ctx.db, row["payment_id"])
        st.caption(t("review.paidy_record"))
        view = entries.assign(
            kind=entries["kind"].map(lambda k: t(f"kind.{k.rstrip('s')}")),
            created_at=[
                _ui.jst(parse_iso(v)) if isinstance(v, str) and v else ""
                for v in entries["created_at"]
            ],
        )
        st.dataframe(
            view,
            hide_index=True,
            key="review_entries",
            placeholder="",
            column_config={
                "kind": st.column_config.TextColumn(t("col.kind")),
                "id": st.column_config.TextColumn(t("col.id")),
                "created_at": st.column_config.TextColumn(t("col.at")),
                "amount": st.column_config.NumberColumn(t("col.amount"), format="localized"),
                "tag": st.column_config.TextColumn(t("col.tag")),
            },
        )
    note = st.text_input(t("review.note"), key="review_note", max_chars=500)
    unsettled = row["outcome"] in UNSETTLED
    cols = st.columns(2 if unsettled else 1)
    with _ui.guard():
        if unsettled:
            if cols[0].button(t("review.resolve_done"), key="review_done"):
                review.resolve(ctx.ops, ctx.actor, int(picked), True, note)
                st.toast(t("review.done"))
                st.rerun()
            if cols[1].button(t("review.resolve_not_done"), key="review_not_done"):
                review.resolve(ctx.ops, ctx.actor, int(picked), False, note)
                st.toast(t("review.done"))
                st.rerun()
        elif cols[0].button(t("review.mark_reviewed"), key="review_ack", type="primary"):
            review.mark_reviewed(ctx.ops, ctx.actor, int(picked), note)
            st.toast(t("review.done"))
            st.rerun()


def unlinked(ctx: _ui.PageContext) -> None:
    """Payments Paidy told us about that have no order here: one click links each (reads it
    from Paidy and creates its order). Hidden when there are none."""
    from core.operations import unlinked as ul

    frame = ul.unlinked_payments(ctx.ops, limit=20)
    flash = st.session_state.pop("dash_link_flash", None)
    if flash:
        st.success(flash, icon=":material/link:")
    if frame.empty:
        return
    st.subheader(t("dash.unlinked_title"))
    st.caption(t("dash.unlinked_intro"))
    for row in frame.itertuples():
        c = st.columns([5, 1], vertical_alignment="center")
        c[0].text(
            t(
                "dash.unlinked_row",
                payment_id=row.payment_id,
                hints=int(row.hints),
                last_seen=_ui.jst(row.last_seen_at.to_pydatetime()),
                status=row.last_status or "-",
            )
            + (("  " + t("dash.unlinked_ref", order_ref=row.order_ref)) if row.order_ref else "")
        )
        if ctx.can(Permission.ACT) and c[1].button(
            t("dash.unlinked_link"), key=f"dash_link_{row.payment_id}", icon=":material/link:"
        ):
            try:
                res = ul.link(ctx.ops, ctx.actor, row.payment_id)
            except OperatorError as exc:  # a refusal or Paidy's failure: both say why
                _ui.show_refusal(exc)
                return
            st.session_state["dash_link_flash"] = t(
                "dash.unlinked_done", payment_id=res.payment_id, order_no=str(res.order_no)
            )
            st.rerun()
    total = ul.unlinked_count(ctx.ops) if len(frame) == 20 else len(frame)
    if total > len(frame):
        st.caption(t("dash.unlinked_more", count=total - len(frame)))


def chart(ctx: _ui.PageContext, now) -> None:
    st.subheader(t("dash.chart_state"))
    frame = dq.amounts_by_state(ctx.db, now)
    if frame.empty:
        st.caption(t("common.no_rows"))
        return
    frame["label"] = frame["state"].map(_ui.state_label)
    data = frame.set_index("label")[["amount", "billed"]].rename(
        columns={"amount": t("col.paidy_amount"), "billed": t("col.billed")}
    )
    st.bar_chart(data, stack=False, y_label=t("col.amount"), x_label=t("col.state"))


def main() -> None:
    ctx = _ui.page()
    st.title(t("dash.title"))
    now = ctx.ops.now()
    tiles(dq.metrics(ctx.db, now, ctx.ops.stale_intent_age))
    attention(ctx)
    unlinked(ctx)
    left, right = st.columns([3, 2])
    with left:
        expiring(ctx, now)
    with right:
        chart(ctx, now)
    recent(ctx)


with _ui.guard():
    main()
