"""Paidy決済状況管理: Paidy orders with 選択 checkboxes, the guide's pull-down and 実行 ->
preview (will run / skipped and why) -> confirmation -> a batch job run by the server's
workers. Progress and per-row results are read from the database by the job id kept in the
URL (``?job=12``), so a reload shows them again.

The ticks are a set of order numbers (pages/_selection.py): cleared after every run, when a
job finishes and whenever the list changes; the confirmation names exactly what runs (count,
order numbers, yen) and the job stores that set."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.domain.orders import OrderStatus, PaymentStatus, label_of, labels
from core.domain.states import PaymentState
from core.domain.statuses import ItemStatus
from core.operations import batch as jobs
from core.operations.batch import BatchAction
from core.roles import Permission
from core.search import InvalidQuery, OrderQuery, frame_for_orders, search_orders
from pages import _selection, _ui
from pages._ui import t

GRID_KEY = "batch_grid"
PREVIEW = "batch_preview"
ACTION_KEY = "batch_action"
RESET = "batch_reset_controls"  # set after a run: the pull-down starts empty again
PAGE_SIZE = 100


def action_label(action: str) -> str:
    return t(f"batch_action.{BatchAction(action).value}")


# ------------------------------------------------------------------------------ the grid
def filters() -> OrderQuery:
    lang = _ui.lang()
    with st.expander(t("batch.filters"), expanded=True, icon=":material/filter_list:"):
        c = st.columns([2, 1, 2])
        states = c[0].multiselect(
            t("orders.paidy_state"),
            list(labels(PaymentState, lang)),
            placeholder=t("common.choose"),
            select_all=False,  # its "Select all" is English on both screens
            key="batch_states",
            format_func=lambda v: label_of(PaymentState, v, lang),
        )
        days = c[1].number_input(
            t("orders.expires_within"),
            min_value=0,
            max_value=3650,
            value=None,
            step=1,
            key="batch_days",
        )
        text = c[2].text_input(t("batch.search"), key="batch_text").strip()
    data: dict = {"paidy_only": True, "paidy_state": states or None, "expires_within_days": days}
    if text:
        if text.isdigit():
            data["order_no"] = text
        else:
            data["name"] = text
    return OrderQuery(**data)


def grid_view(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    lang = _ui.lang()
    view = pd.DataFrame(
        {
            "status": frame["status"].map(lambda v: label_of(OrderStatus, v, lang)),
            "order_no": frame["order_no"],
            "ordered": _ui.jst_frame_col(frame["ordered_at"]),
            "customer": frame["customer_name"],
            "paidy_amount": frame["paidy_amount"],
            "billed": frame["billed_amount"],
            "paidy_state": frame["paidy_state"].map(
                lambda v: _ui.state_label(v) if isinstance(v, str) else ""
            ),
            "expires": frame["expires_at"].map(
                lambda v: _ui.jst(v.to_pydatetime(), False) if v is not None and v == v else ""
            ),
            "payment_status": frame["payment_status"].map(
                lambda v: label_of(PaymentStatus, v, lang)
            ),
            "shipped": frame["shipped_at"].map(
                lambda v: (
                    t("common.shipped") if v is not None and v == v else t("common.not_shipped")
                )
            ),
        }
    )
    config = {
        "status": st.column_config.TextColumn(t("col.status")),
        "order_no": st.column_config.NumberColumn(t("col.order_no"), format="%d"),
        "ordered": st.column_config.TextColumn(t("col.ordered_at")),
        "customer": st.column_config.TextColumn(t("col.customer_name")),
        "paidy_amount": st.column_config.NumberColumn(t("col.paidy_amount"), format="localized"),
        "billed": st.column_config.NumberColumn(t("col.billed_amount"), format="localized"),
        "paidy_state": st.column_config.TextColumn(t("col.paidy_state")),
        "expires": st.column_config.TextColumn(t("col.expires_at")),
        "payment_status": st.column_config.TextColumn(t("col.payment_status")),
        "shipped": st.column_config.TextColumn(t("col.shipped")),
    }
    return view, config


def load_rows(ctx: _ui.PageContext) -> tuple[pd.DataFrame, bool, int, tuple]:
    """(frame, preselected?, total, what names the list): the preselection from another
    page, or the filters."""
    pre = st.session_state.get(_ui.BATCH_PRESELECT)
    if pre:
        st.info(t("batch.preselected", count=len(pre)))
        if st.button(t("batch.clear_preselect"), key="batch_clear_pre"):
            st.session_state.pop(_ui.BATCH_PRESELECT, None)
            st.rerun()
        frame = frame_for_orders(ctx.db, pre, ctx.ops.now())
        frame = frame[frame["paidy_payment_id"].notna()].reset_index(drop=True)
        return frame, True, len(frame), ("preselected",)
    query = filters()
    page = int(st.session_state.get("batch_page", 1) or 1)
    result = search_orders(ctx.db, query, now=ctx.ops.now(), page=page, page_size=PAGE_SIZE)
    if result.pages > 1:
        st.session_state["batch_page"] = result.page
        st.number_input(
            t("common.page"), min_value=1, max_value=result.pages, step=1, key="batch_page"
        )
    return result.frame, False, result.total, ("filters", query.model_dump_json(), result.page)


# ------------------------------------------------------------------------------ actions
def run_controls(ctx: _ui.PageContext, selected: list[int]) -> None:
    options = [a.value for a in BatchAction]
    if st.session_state.pop(RESET, False):
        st.session_state[ACTION_KEY] = None  # set (not popped): the browser forgets it too
    preset = st.session_state.pop(_ui.BATCH_ACTION, None)
    if preset in options:
        st.session_state[ACTION_KEY] = preset
    c = st.columns([2, 1, 3], vertical_alignment="bottom")
    action = c[0].selectbox(
        t("batch.action"),
        options,
        index=None,
        placeholder=t("batch.choose"),
        format_func=action_label,
        key=ACTION_KEY,
    )
    pressed = c[1].button(
        t("batch.run"), type="primary", key="batch_run", icon=":material/play_arrow:"
    )
    c[2].caption(t("batch.note"))
    if pressed:
        st.session_state.pop(PREVIEW, None)
        if not selected:
            st.warning(t("batch.need_selection"), icon=":material/check_box_outline_blank:")
        elif not action:
            st.warning(t("batch.need_action"))
        else:
            rows = jobs.preview(ctx.ops, ctx.actor, action, selected)
            st.session_state[PREVIEW] = {"action": action, "chosen": tuple(selected), "rows": rows}
    show_preview(ctx, action, selected)


def show_preview(ctx: _ui.PageContext, action: str | None, selected: list[int]) -> None:
    """The confirmation: what runs (count, order numbers, yen), what is skipped and why. It
    is withdrawn as soon as the selection or the action is no longer the one it was made for."""
    pv = st.session_state.get(PREVIEW)
    if not pv:
        return
    if pv["chosen"] != tuple(selected) or pv["action"] != action:
        st.session_state.pop(PREVIEW, None)
        st.info(t("batch.preview_stale"))
        return
    lang = _ui.lang()
    rows = pv["rows"]
    st.subheader(f"{t('batch.preview')}: {action_label(pv['action'])}")
    frame = pd.DataFrame(
        {
            "will_run": ["○" if r.will_run else "×" for r in rows],
            "order_no": [r.order_no for r in rows],
            "customer": [r.customer_name for r in rows],
            "state": [_ui.state_label(r.state) for r in rows],
            "amount": pd.array([r.amount for r in rows], dtype="Int64"),
            "reason": [r.reason(lang) for r in rows],
            "note": [r.note(lang) for r in rows],
        }
    )
    will = [r for r in rows if r.will_run]
    run = [r.order_no for r in will]
    st.write(t("batch.preview_counts", run=len(run), skip=len(rows) - len(run)))
    st.dataframe(
        frame,
        placeholder="",
        hide_index=True,
        key="batch_preview_grid",
        column_config={
            "will_run": st.column_config.TextColumn(t("col.will_run"), width="small"),
            "order_no": st.column_config.NumberColumn(t("col.order_no"), format="%d"),
            "customer": st.column_config.TextColumn(t("col.customer_name")),
            "state": st.column_config.TextColumn(t("col.paidy_state")),
            "amount": st.column_config.NumberColumn(t("col.amount"), format="localized"),
            "reason": st.column_config.TextColumn(t("col.reason")),
            "note": st.column_config.TextColumn(t("col.note")),
        },
    )
    if will:
        numbers = ", ".join(str(n) for n in run)
        if any(r.amount is not None for r in will):
            total = sum(r.amount or 0 for r in will)
            st.text(t("batch.confirm_summary", count=len(run), total=total, numbers=numbers))
        else:
            st.text(t("batch.confirm_summary_plain", count=len(run), numbers=numbers))
        cancels = sum(1 for r in will if r.cancels_order)
        if cancels:
            st.warning(t("batch.cancels_orders", count=cancels), icon=":material/cancel:")
    c = st.columns([1, 1, 4])
    confirm = c[0].button(t("batch.confirm"), type="primary", key="batch_confirm", disabled=not run)
    if c[1].button(t("common.cancel"), key="batch_cancel"):
        st.session_state.pop(PREVIEW, None)
        st.rerun()
    if not run:
        st.warning(t("batch.nothing_to_run"))
    if confirm and run:
        # the confirmation is used up first: a second click in flight finds nothing to run
        st.session_state.pop(PREVIEW, None)
        st.session_state.pop(_ui.BATCH_PRESELECT, None)
        _selection.clear(GRID_KEY)
        st.session_state[RESET] = True
        job_id = jobs.create_job(ctx.ops, ctx.actor, pv["action"], run, confirmed=will)
        if ctx.rt.workers is not None:
            ctx.rt.workers.wake()
        st.query_params["job"] = str(job_id)
        st.rerun()


# ------------------------------------------------------------------------------ job results
def job_param() -> int | None:
    raw = str(st.query_params.get("job") or "")
    return int(raw) if raw.isdigit() and len(raw) <= 9 else None  # never an overflow in SQL


def job_panel(ctx: _ui.PageContext, job_id: int) -> None:
    try:
        prog = jobs.progress(ctx.ops, job_id)
    except Exception:  # no such job
        st.warning(t("batch.job_missing", job_id=str(job_id)))
        return
    running = not prog.done
    st.fragment(run_every=1 if running else None)(_job_body)(job_id, running)


def _job_body(job_id: int, was_running: bool) -> None:
    ctx = _ui.page()
    prog = jobs.progress(ctx.ops, job_id)
    counts = prog.counts
    st.subheader(t("batch.job", job_id=str(job_id), action=action_label(prog.action)))
    if prog.confirmed_amount is not None:
        st.caption(t("batch.job_confirmed", count=prog.total, total=prog.confirmed_amount))
    total = max(prog.total, 1)
    st.progress(
        min(prog.finished / total, 1.0),
        text=t("batch.progress", finished=prog.finished, total=prog.total),
    )
    if not prog.done:
        st.caption(t("batch.running"))
    else:
        summary = t(
            "batch.done",
            ok=counts.get(ItemStatus.OK, 0),
            skipped=counts.get(ItemStatus.SKIPPED, 0),
            failed=counts.get(ItemStatus.FAILED, 0),
            unknown=counts.get(ItemStatus.UNKNOWN, 0),
        )
        if counts.get(ItemStatus.FAILED, 0) or counts.get(ItemStatus.UNKNOWN, 0):
            st.warning(summary)
        else:
            st.success(summary)
    items = jobs.items_frame(ctx.ops, job_id, ctx.lang)
    view = pd.DataFrame(
        {
            "position": items["position"] + 1,
            "order_no": items["order_no"],
            "payment_id": items["payment_id"],
            "status": items["status"].map(lambda s: t(f"outcome.{s}")),
            "message": items["message"],
            "finished": _ui.jst_frame_col(pd.to_datetime(items["finished_at"], utc=True)),
        }
    )
    st.dataframe(
        view,
        placeholder="",
        hide_index=True,
        key=f"batch_items_{job_id}",
        column_config={
            "position": st.column_config.NumberColumn(
                t("col.position"), format="%d", width="small"
            ),
            "order_no": st.column_config.NumberColumn(t("col.order_no"), format="%d"),
            "payment_id": st.column_config.TextColumn(t("col.payment_id")),
            "status": st.column_config.TextColumn(t("col.result")),
            "message": st.column_config.TextColumn(t("col.message")),
            "finished": st.column_config.TextColumn(t("col.finished_at")),
        },
    )
    if prog.done:
        headers = {
            "position": t("col.position"),
            "order_no": t("col.order_no"),
            "payment_id": t("col.payment_id"),
            "status": t("col.result"),
            "message": t("col.message"),
            "finished": t("col.finished_at"),
        }
        csv = view.rename(columns=headers).to_csv(index=False).encode("utf-8-sig")
        c = st.columns([1, 1, 4])
        c[0].download_button(
            t("batch.results_csv"),
            csv,
            file_name=f"batch_{job_id}.csv",
            mime="text/csv",
            key=f"batch_csv_{job_id}",
            on_click="ignore",
            icon=":material/download:",
        )
        if c[1].button(t("batch.close_job"), key=f"batch_close_{job_id}"):
            st.query_params.pop("job", None)
            st.rerun()
        if was_running:  # stop polling: rerun the page with a static fragment
            _selection.clear(GRID_KEY)  # the list under the ticks has changed
            st.rerun()


def recent(ctx: _ui.PageContext) -> None:
    found = jobs.recent_jobs(ctx.ops, limit=10)
    if not found:
        return
    with st.expander(t("batch.recent"), icon=":material/history:"):
        frame = pd.DataFrame(
            {
                "job": [p.job_id for p in found],
                "action": [action_label(p.action) for p in found],
                "progress": [f"{p.finished}/{p.total}" for p in found],
                "status": [
                    t(f"outcome.{ItemStatus.OK if p.done else ItemStatus.RUNNING}") for p in found
                ],
                "actor": [p.created_by for p in found],
                "created": [_ui.jst(p.created_at) for p in found],
            }
        )
        st.dataframe(
            frame,
            placeholder="",
            hide_index=True,
            key="batch_recent",
            column_config={
                "job": st.column_config.NumberColumn(t("col.job_id"), format="%d"),
                "action": st.column_config.TextColumn(t("col.action")),
                "progress": st.column_config.TextColumn(t("col.progress")),
                "status": st.column_config.TextColumn(t("batch.status_col")),
                "actor": st.column_config.TextColumn(t("col.actor")),
                "created": st.column_config.TextColumn(t("col.created_at")),
            },
        )
        c = st.columns([1, 1, 4], vertical_alignment="bottom")
        pick = c[0].selectbox(t("col.job_id"), [p.job_id for p in found], key="batch_pick_job")
        if c[1].button(t("batch.show_job", job_id=str(pick)), key="batch_show_job"):
            st.query_params["job"] = str(pick)
            st.rerun()


def main() -> None:
    ctx = _ui.page()
    st.title(t("batch.title"))
    job_id = job_param()
    if job_id is not None:
        job_panel(ctx, job_id)
        st.divider()
    try:
        frame, preselected, total, context = load_rows(ctx)
    except InvalidQuery as exc:
        _ui.show_refusal(exc)
        return
    st.markdown(_ui.md_escape(t("orders.found", count=total)))
    view, config = grid_view(frame)
    numbers = [int(n) for n in frame["order_no"]]
    selected = _selection.selection_grid(
        GRID_KEY,
        view,
        numbers,
        context=context,
        initial=numbers if preselected else (),
        column_config=config,
    )
    if ctx.can(Permission.ACT):
        run_controls(ctx, selected)
    else:
        st.caption(t("app.readonly_note"))
    recent(ctx)


with _ui.guard():
    main()
