"""受注編集 (``/order?order=61``): the order and customer (as text), the items editor, shipping,
tax, 対応状況 and 「この内容で登録する」; and the ▼Paidy 決済情報 panel with only the buttons the
rule table allows, a confirmation before money moves, the last result and the timeline."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import dashboard as dq
from core.domain.errors import RuleViolation
from core.domain.money import Discrepancy, discrepancy, parse_yen, refundable, validate_refund
from core.domain.orders import Gender, OrderStatus, PaymentMethod, PaymentStatus, label_of, labels
from core.domain.states import Action, allowed_actions, derive_state, panel_actions
from core.operations import payments
from core.operations.orders import save_order
from core.roles import Permission
from core.storage.search import OrderNotFound, get_order
from core.timeutil import as_utc
from pages import _ui
from pages._ui import t

PENDING = "paidy_pending"  # {"action", "order_no", "version", "amount"} awaiting confirmation
BUSY = "paidy_busy"  # the action running now (buttons disabled)
RESULTS = "paidy_results"  # order_no -> last ActionResult of this session
SLIP_KEY = "order_slip"  # the built 納品書 {"sig": (order_no, updated stamp), "data"}


def order_no_param() -> int | None:
    raw = st.query_params.get("order")
    if raw is None:
        return None
    raw = str(raw).strip()
    return int(raw) if raw.isdigit() else -1


def picker() -> None:
    st.title(t("nav.order"))
    st.info(t("order.pick"))
    number = st.text_input(t("orders.order_no"), key="order_pick_no")
    if st.button(t("orders.open"), key="order_pick_go"):
        if number.strip().isdigit():
            st.query_params["order"] = number.strip()
            st.rerun()
        st.error(t("audit.bad_order_no"))


# ------------------------------------------------------------------------------ order data
def info_tables(order) -> None:
    lang = _ui.lang()
    left, right = st.columns(2)
    with left:
        st.subheader(t("order.info"))
        rows = [
            (t("col.order_no"), str(order.order_no)),
            (t("col.ordered_at"), _ui.jst(order.ordered_at)),
            (t("col.updated_at"), _ui.jst(order.updated_at)),
            (t("col.payment_method"), label_of(PaymentMethod, order.payment_method, lang)),
            (t("col.status"), label_of(OrderStatus, order.status, lang)),
            (t("col.payment_status"), label_of(PaymentStatus, order.payment_status, lang)),
            (
                t("col.shipped_at"),
                _ui.jst(order.shipped_at) or ("未発送" if lang == "ja" else "not shipped"),
            ),
            (t("order.total"), _ui.yen(order.total)),
        ]
        _kv(rows, "order_info")
    with right:
        st.subheader(t("order.customer"))
        address = " ".join(
            x for x in (order.zip, order.prefecture, order.address1, order.address2) if x
        )
        rows = [
            (t("col.customer_name"), order.customer_name or ""),
            (t("order.kana"), order.customer_kana or ""),
            (t("col.email"), order.email or ""),
            (t("order.phone"), order.phone or ""),
            (t("order.birth"), order.birth_date.strftime("%Y/%m/%d") if order.birth_date else ""),
            (t("orders.gender"), label_of(Gender, order.gender, lang) if order.gender else ""),
            (t("order.address"), address),
            (t("order.note"), order.note or ""),
        ]
        _kv(rows, "customer_info")


def _kv(rows: list[tuple[str, str]], key: str) -> None:
    """Label/value pairs as a read-only table: customer text is shown as text, never markup."""
    frame = pd.DataFrame(rows, columns=["field", "value"])
    st.dataframe(
        frame,
        hide_index=True,
        key=key,
        column_config={
            "field": st.column_config.TextColumn(t("order.field"), width="small"),
            "value": st.column_config.TextColumn(t("order.value"), width="large"),
        },
    )


def _items_frame(order) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            (i.product_code or "", i.product_name or "", int(i.unit_price), int(i.quantity))
            for i in order.items
        ],
        columns=["product_code", "product_name", "unit_price", "quantity"],
    )
    return frame.astype(
        {
            "product_code": "string",
            "product_name": "string",
            "unit_price": "Int64",
            "quantity": "Int64",
        }
    )


def _records(frame: pd.DataFrame) -> list[dict]:
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict("records")


def _edited_total(records: list[dict], shipping: int, tax: int) -> int:
    total = 0
    for r in records:
        try:
            total += int(r.get("unit_price") or 0) * int(r.get("quantity") or 0)
        except (TypeError, ValueError):
            continue
    return total + int(shipping or 0) + int(tax or 0)


@st.fragment
def edit_section(order_no: int) -> None:
    ctx = _ui.page()
    lang = ctx.lang
    order = get_order(ctx.db, order_no)
    stamp = int(as_utc(order.updated_at).timestamp() * 1000) if order.updated_at else 0
    suffix = f"{order_no}_{stamp}"
    st.subheader(t("order.items"))
    editable = ctx.can(Permission.EDIT_ORDERS)
    edited = st.data_editor(
        _items_frame(order),
        num_rows="dynamic" if editable else "fixed",
        disabled=not editable,
        hide_index=True,
        key=f"items_{suffix}",
        column_config={
            "product_code": st.column_config.TextColumn(t("col.product_code"), max_chars=64),
            "product_name": st.column_config.TextColumn(
                t("col.product_name"), max_chars=300, required=True
            ),
            "unit_price": st.column_config.NumberColumn(
                t("col.unit_price"),
                min_value=-9_999_999,
                max_value=9_999_999,
                step=1,
                format="localized",
                required=True,
            ),
            "quantity": st.column_config.NumberColumn(
                t("col.quantity"), min_value=1, max_value=9_999, step=1, format="%d", required=True
            ),
        },
    )
    c = st.columns(4)
    shipping = c[0].number_input(
        t("order.shipping_fee"),
        min_value=0,
        max_value=9_999_999,
        step=1,
        value=int(order.shipping_fee or 0),
        key=f"shipping_{suffix}",
        disabled=not editable,
    )
    tax = c[1].number_input(
        t("order.tax"),
        min_value=0,
        max_value=9_999_999,
        step=1,
        value=int(order.tax or 0),
        key=f"tax_{suffix}",
        disabled=not editable,
    )
    statuses = list(labels(OrderStatus, lang))
    status = c[2].selectbox(
        t("col.status"),
        statuses,
        index=statuses.index(order.status) if order.status in statuses else 0,
        format_func=lambda v: label_of(OrderStatus, v, lang),
        key=f"status_{suffix}",
        disabled=not editable,
    )
    records = _records(edited)
    c[3].metric(t("order.total"), _ui.yen(_edited_total(records, shipping, tax)))
    if not editable:
        st.caption(t("order.no_edit"))
        return
    if st.button(t("order.save"), type="primary", key=f"save_{suffix}", icon=":material/save:"):
        try:
            saved = save_order(
                ctx.ops,
                ctx.actor,
                order_no,
                items=records,
                shipping_fee=shipping,
                tax=tax,
                status=status,
                expected_updated_at=order.updated_at,
            )
        except RuleViolation as exc:
            _ui.show_refusal(exc)
            return
        st.session_state["order_flash"] = t("order.saved", amount=saved.total)
        st.rerun()


# ------------------------------------------------------------------------------ Paidy panel
def _row(label: str, render) -> None:
    c = st.columns([1, 3], vertical_alignment="center")
    c[0].markdown(f"**{_ui.md_escape(label)}**")
    with c[1]:
        render()


def _red(text: str) -> None:
    st.markdown(f":red[{_ui.md_escape(text)}]")


def _run(ctx: _ui.PageContext, action: str, order_no: int, version: int, **kw):
    """Call core for one action with the busy flag set; remember the result for this order."""
    st.session_state[BUSY] = action
    try:
        if action == "refresh":
            result = payments.refresh(ctx.ops, ctx.actor, order_no)
        elif action == "update":
            result = payments.update(ctx.ops, ctx.actor, order_no, expected_version=version)
        elif action == "capture":
            result = payments.capture(
                ctx.ops,
                ctx.actor,
                order_no,
                expected_version=version,
                confirm_mismatch=bool(kw.get("confirm_mismatch")),
            )
        elif action == "close":
            result = payments.close(ctx.ops, ctx.actor, order_no, expected_version=version)
        else:
            result = payments.refund(
                ctx.ops, ctx.actor, order_no, kw.get("amount"), expected_version=version
            )
    finally:
        st.session_state.pop(BUSY, None)
    st.session_state.setdefault(RESULTS, {})[order_no] = result
    return result


def confirm_dialog(pending: dict) -> None:
    """The confirmation before money moves (opened from a session-state flag)."""
    st.dialog(t("paidy.confirm_title"), width="medium")(_confirm_body)(pending)


def _confirm_body(pending: dict) -> None:
    ctx = _ui.page()
    action, order_no = pending["action"], pending["order_no"]
    if action == "capture":
        st.write(t("paidy.confirm_capture", order_no=str(order_no), amount=pending["amount"]))
    elif action == "refund":
        st.write(t("paidy.confirm_refund", order_no=str(order_no), amount=pending["amount"]))
    else:
        st.write(t("paidy.confirm_close", order_no=str(order_no)))
    ok_to_run = True
    if pending.get("mismatch"):
        _red(
            t(
                "paidy.confirm_mismatch",
                order_total=pending["order_total"],
                paidy_amount=pending["amount"],
            )
        )
        ok_to_run = st.checkbox(t("paidy.confirm_mismatch_check"), key="confirm_mismatch_check")
    c = st.columns(2)
    run = c[0].button(
        t("paidy.confirm_run"),
        type="primary",
        key="confirm_run",
        disabled=not ok_to_run or bool(st.session_state.get(BUSY)),
    )
    cancel = c[1].button(t("common.cancel"), key="confirm_cancel")
    if cancel:
        st.session_state.pop(PENDING, None)
        st.rerun()
    if run:
        st.session_state.pop(PENDING, None)
        amount = pending.get("refund_arg")
        _run(
            ctx,
            action,
            order_no,
            pending["version"],
            amount=amount,
            confirm_mismatch=bool(pending.get("mismatch")),
        )
        st.rerun()


def _rerun_panel() -> None:
    """Rerun only the panel when this is a fragment rerun (a click in the browser), else the
    page (AppTest and full runs cannot rerun a fragment alone)."""
    st.rerun(scope="fragment" if _ui._fragment_rerun() else "app")


def _ask(pending: dict) -> None:
    st.session_state[PENDING] = pending
    st.session_state.pop("confirm_mismatch_check", None)


@st.fragment
def paidy_panel(order_no: int) -> None:
    ctx = _ui.page()
    order = get_order(ctx.db, order_no)
    pay = order.payment
    st.subheader(t("paidy.title"))
    if pay is None:
        no_payment(ctx, order_no)
        return
    now = ctx.ops.now()
    captured, refunded = int(pay.captured_amount or 0), int(pay.refunded_amount or 0)
    state = derive_state(pay.status, captured, refunded, as_utc(pay.expires_at), now)
    gap = discrepancy(int(order.total), int(pay.amount), captured, refunded, pay.status)

    def status_cell() -> None:
        text = f"{_ui.state_label(state.value)} {t('paidy.raw_status', status=pay.status)}"
        if pay.test:
            text += "  " + t("paidy.test_badge")
        st.text(text)

    def amount_cell() -> None:
        st.text(_ui.yen(pay.amount))
        if gap is Discrepancy.BEFORE_CAPTURE:
            _red(t("paidy.warn_before"))

    def billed_cell() -> None:
        key = "paidy.billed_value_refund" if refunded else "paidy.billed_value"
        st.text(t(key, billed=captured - refunded, captured=captured, refunded=refunded))
        if gap is Discrepancy.AFTER_CAPTURE:
            _red(t("paidy.warn_after"))

    def expires_cell() -> None:
        text = _ui.jst(pay.expires_at)
        if state.value in ("open", "expired"):
            text += f"  ({_ui.days_text(as_utc(pay.expires_at), now)})"
        st.text(text)

    _row(t("paidy.status"), status_cell)
    _row(t("paidy.payment_id"), lambda: st.text(pay.payment_id))
    _row(t("paidy.amount"), amount_cell)
    if captured > 0:
        _row(t("paidy.billed"), billed_cell)
    _row(t("paidy.expires"), expires_cell)
    _row(t("paidy.actions"), lambda: actions(ctx, order, pay, state, captured, refunded))
    _row(t("paidy.last_result"), lambda: last_result(order_no, pay))
    pending = st.session_state.get(PENDING)
    if pending and pending.get("order_no") == order_no:
        confirm_dialog(pending)
    timeline(ctx, order_no)


def actions(ctx, order, pay, state, captured: int, refunded: int) -> None:
    if not ctx.can(Permission.ACT):
        st.caption(t("app.readonly_note"))
        return
    allowed = allowed_actions(state)
    offered = panel_actions(state, order.status)
    busy = bool(st.session_state.get(BUSY))
    order_no, version = order.order_no, int(pay.version or 0)
    key = f"{order_no}_{version}"
    shown = 0

    def button(action: Action, **kw) -> bool:
        c = st.columns([1, 3], vertical_alignment="center")
        pressed = c[0].button(
            t(f"paidy.btn.{action.value}"),
            key=f"btn_{action.value}_{key}",
            disabled=busy,
            use_container_width=True,
            **kw,
        )
        c[1].caption(t(f"paidy.desc.{action.value}"))
        return pressed

    if Action.UPDATE in allowed:
        shown += 1
        if button(Action.UPDATE):
            _run(ctx, "update", order_no, version)
            _rerun_panel()
    if Action.CAPTURE in allowed:
        shown += 1
        if button(Action.CAPTURE, type="primary"):
            _ask(
                {
                    "action": "capture",
                    "order_no": order_no,
                    "version": version,
                    "amount": int(pay.amount),
                    "mismatch": int(order.total) != int(pay.amount),
                    "order_total": int(order.total),
                }
            )
            _rerun_panel()
    if Action.CLOSE in allowed:
        if Action.CLOSE in offered:
            shown += 1
            if button(Action.CLOSE):
                _ask({"action": "close", "order_no": order_no, "version": version, "amount": None})
                _rerun_panel()
        else:
            st.caption(t("paidy.close_hint"))
    if Action.REFUND in allowed:
        shown += 1
        refund_controls(ctx, order_no, version, captured, refunded, busy)
    if shown == 0:
        st.text(t("paidy.no_actions"))
    if button(Action.REFRESH):
        _run(ctx, "refresh", order_no, version)
        _rerun_panel()


def refund_controls(
    ctx, order_no: int, version: int, captured: int, refunded: int, busy: bool
) -> None:
    left = refundable(captured, refunded)
    full_key, amount_key = f"refund_full_{order_no}", f"refund_amount_{order_no}"
    c = st.columns([2, 1, 2, 3], vertical_alignment="bottom")
    full = c[1].checkbox(t("paidy.refund_full"), value=True, key=full_key)
    text = c[0].text_input(
        t("paidy.refund_amount"), key=amount_key, disabled=full, placeholder=f"{left:,}"
    )
    problem, amount = None, left
    if not full:
        try:
            amount = validate_refund(parse_yen(text), captured, refunded)
        except RuleViolation as exc:
            problem = exc.message(_ui.lang())
    pressed = c[2].button(
        t("paidy.btn.refund"),
        key=f"btn_refund_{order_no}_{version}",
        disabled=busy or problem is not None,
        type="primary",
    )
    c[3].caption(t("paidy.desc.refund"))
    st.caption(t("paidy.refundable", amount=left))
    if problem and (text or "").strip():
        st.error(_ui.md_escape(problem), icon=":material/block:")
    elif problem:
        st.caption(_ui.md_escape(problem))
    if pressed and problem is None:
        _ask(
            {
                "action": "refund",
                "order_no": order_no,
                "version": version,
                "amount": amount,
                "refund_arg": None if full else text,
            }
        )
        _rerun_panel()


def last_result(order_no: int, pay) -> None:
    result = st.session_state.get(RESULTS, {}).get(order_no)
    if result is not None:
        _ui.show_result(result)
    elif pay.last_result:
        st.text(f"{pay.last_result}  ({_ui.jst(pay.last_result_at)})")
    else:
        st.text("-")


def no_payment(ctx, order_no: int) -> None:
    st.info(t("paidy.no_payment"))
    if not ctx.can(Permission.ACT):
        return
    from core.operations.link import link_payment

    c = st.columns([3, 1], vertical_alignment="bottom")
    pid = c[0].text_input(t("paidy.link"), key=f"link_pid_{order_no}", placeholder="pay_...")
    if c[1].button(t("paidy.link_button"), key=f"link_go_{order_no}") and pid.strip():
        try:
            res = link_payment(ctx.ops, ctx.actor, pid.strip(), order_no)
        except Exception as exc:  # RuleViolation / PaidyError: both have message()
            if hasattr(exc, "message"):
                _ui.show_refusal(exc)
                return
            raise
        st.session_state["order_flash"] = t(
            "paidy.linked", payment_id=res.payment_id, order_no=str(res.order_no)
        )
        st.rerun()


def timeline(ctx, order_no: int) -> None:
    st.subheader(t("paidy.timeline"))
    frame = dq.order_timeline(ctx.db, order_no)
    if frame.empty:
        st.caption(t("common.no_rows"))
        return

    def kind_label(kind: str) -> str:
        if kind.startswith("audit:"):
            return t(f"action.{kind[6:]}")
        return t(f"kind.{kind}")

    view = pd.DataFrame(
        {
            "at": _ui.jst_frame_col(frame["at"]),
            "kind": frame["kind"].map(kind_label),
            "amount": frame["amount"],
            "outcome": frame["outcome"].map(lambda o: t(f"outcome.{o}") if o else ""),
            "detail": frame["detail"],
            "actor": frame["actor"],
            "request_id": frame["request_id"],
        }
    )
    st.dataframe(
        view,
        hide_index=True,
        key=f"timeline_{order_no}",
        column_config={
            "at": st.column_config.TextColumn(t("col.at")),
            "kind": st.column_config.TextColumn(t("col.kind")),
            "amount": st.column_config.NumberColumn(t("col.amount"), format="localized"),
            "outcome": st.column_config.TextColumn(t("col.outcome")),
            "detail": st.column_config.TextColumn(t("col.detail")),
            "actor": st.column_config.TextColumn(t("col.actor")),
            "request_id": st.column_config.TextColumn(t("col.request_id")),
        },
    )


def slip_download(ctx: _ui.PageContext, order) -> None:
    """「帳票の作成」: this order's 納品書 as a PDF (made from the order as saved)."""
    from core.reports.slips import Shop, slips_filename, slips_to_bytes

    stamp = int(as_utc(order.updated_at).timestamp() * 1000) if order.updated_at else 0
    sig = (int(order.order_no), stamp)
    c = st.columns([1, 3])
    if c[0].button(
        t("slips.build"), key=f"slip_build_{order.order_no}", icon=":material/receipt_long:"
    ):
        data, _ = slips_to_bytes(
            ctx.db,
            [int(order.order_no)],
            shop=Shop.from_settings(_ui.settings()),
            now=ctx.ops.now(),
        )
        st.session_state[SLIP_KEY] = {"sig": sig, "data": data}
    built = st.session_state.get(SLIP_KEY)
    if built and built["sig"] == sig:
        c[1].download_button(
            t("slips.download"),
            built["data"],
            file_name=slips_filename(ctx.ops.now(), [int(order.order_no)]),
            mime="application/pdf",
            key=f"slip_download_{order.order_no}",
            icon=":material/download:",
            on_click="ignore",
        )


def main() -> None:
    order_no = order_no_param()
    if order_no is None:
        picker()
        return
    ctx = _ui.page()
    if order_no < 0:
        st.error(t("audit.bad_order_no"))
        picker()
        return
    try:
        order = get_order(ctx.db, order_no)
    except OrderNotFound:
        st.error(t("order.not_found", order_no=str(order_no)))
        picker()
        return
    st.page_link("pages/orders.py", label=t("order.back"))
    st.title(t("order.title", order_no=str(order_no)))
    flash = st.session_state.pop("order_flash", None)
    if flash:
        st.success(flash)
    slip_download(ctx, order)
    info_tables(order)
    edit_section(order_no)
    st.divider()
    paidy_panel(order_no)


with _ui.guard():
    main()
