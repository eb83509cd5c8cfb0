"""受注編集 (``/order?order=61``): the order and customer (as text), the items editor, shipping,
tax, 対応状況 and 「この内容で登録する」; and the ▼Paidy 決済情報 panel with only the buttons the
rule table allows, a confirmation before money moves, the last result and the timeline."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import views as dq
from core.domain import order_edit
from core.domain.cancellation import panel_actions
from core.domain.capture import capture_mismatch
from core.domain.errors import OrderNotFound, RuleViolation
from core.domain.money import (
    Discrepancy,
    discrepancy,
    parse_yen,
    refundable,
    validate_refund,
)
from core.domain.orders import (
    Gender,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    label_of,
    labels,
    parse_order_no,
)
from core.domain.states import Action, allowed_actions, derive_state
from core.errors import OperatorError
from core.messages import shown
from core.operations import payments
from core.operations.orders import CUSTOMER_LIMITS, OrderChanged, form_values, save_order
from core.roles import Permission
from core.search import get_order
from core.timeutil import JST, as_utc
from pages import _delete, _mail, _ui
from pages._ui import t

PENDING = "paidy_pending"  # {"action", "order_no", "version", "amount"} awaiting confirmation
BUSY = "paidy_busy"  # the action running now (buttons disabled)
RESULTS = "paidy_results"  # order_no -> last ActionResult of this session
SLIP_KEY = "order_slip"  # the built 納品書 {"sig": (order_no, updated stamp), "data"}


def order_no_param() -> int | RuleViolation | None:
    """The ``?order=`` of the URL: its number, the refusal of what is there (not digits, or
    out of range: a 20-digit number never reaches SQL), or None without one."""
    raw = st.query_params.get("order")
    if raw is None:
        return None
    try:
        return parse_order_no(raw)
    except RuleViolation as exc:
        return exc


def picker() -> None:
    st.title(t("nav.order"))
    st.info(t("order.pick"))
    number = st.text_input(t("orders.order_no"), key="order_pick_no")
    if st.button(t("orders.open"), key="order_pick_go"):
        try:
            picked = parse_order_no(number)
        except RuleViolation as exc:
            _ui.show_refusal(exc)
            return
        st.query_params["order"] = str(picked)
        st.rerun()


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
                _ui.jst(order.shipped_at) or t("common.not_shipped"),
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
        placeholder="",
        hide_index=True,
        key=key,
        column_config={
            "field": st.column_config.TextColumn(t("order.field"), width="small"),
            "value": st.column_config.TextColumn(t("order.value"), width="large"),
        },
    )


# ------------------------------------------------------------------------------ edit form
# The form remembers the version of the order it was loaded from (session state), and its
# widget keys carry a counter, not the order's timestamp: when someone else saves, this
# operator's unsaved values stay where they are (they are not reset to the other person's),
# the save is refused by core with who saved first, and 「自分の変更を再適用」 puts exactly
# this operator's changes on top of the fresh order.
FORM = "order_form"  # order_no -> {"base", "version", "seed", "nonce", "note"}

#: customer fields of the form: (field, label key, text_area?)
CUSTOMER_INPUTS = (
    ("customer_name", "col.customer_name", False),
    ("customer_kana", "order.kana", False),
    ("email", "col.email", False),
    ("phone", "order.phone", False),
    ("zip", "edit.zip", False),
    ("prefecture", "edit.prefecture", False),
    ("address1", "edit.address1", False),
    ("address2", "edit.address2", False),
    ("note", "order.note", True),
)
FIELD_LABELS = {
    **{f: key for f, key, _ in CUSTOMER_INPUTS},
    "items": "edit.items",
    "shipping_fee": "order.shipping_fee",
    "tax": "order.tax",
    "status": "col.status",
}


def _form_state(order_no: int, fresh: dict, version: int) -> dict:
    forms = st.session_state.setdefault(FORM, {})
    form = forms.get(order_no)
    if form is None:
        form = forms[order_no] = {"base": fresh, "version": version, "seed": fresh, "nonce": 0}
    return form


def _reload_form(order_no: int, base: dict, version: int, seed: dict, note: str = "") -> None:
    """Start the form again from ``seed`` (new widget keys, so the widgets take it)."""
    forms = st.session_state.setdefault(FORM, {})
    nonce = forms.get(order_no, {}).get("nonce", 0) + 1
    forms[order_no] = {"base": base, "version": version, "seed": seed, "nonce": nonce}
    if note:
        forms[order_no]["note"] = note


def _items_frame(items) -> pd.DataFrame:
    frame = pd.DataFrame(
        [(code, name, price, qty) for code, name, price, qty in items],
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


def _customer_inputs(seed: dict, suffix: str, editable: bool) -> dict:
    values = {}
    with st.expander(t("edit.customer"), icon=":material/person:"):
        cols = st.columns(2)
        for n, (field, label, area) in enumerate(CUSTOMER_INPUTS):
            widget = st.text_area if area else cols[n % 2].text_input
            values[field] = widget(
                t(label),
                value=seed[field],
                max_chars=CUSTOMER_LIMITS[field][2],
                key=f"{field}_{suffix}",
                disabled=not editable,
            )
    return values


@st.fragment
def edit_section(order_no: int) -> None:
    ctx = _ui.page()
    lang = ctx.lang
    order = get_order(ctx.db, order_no)
    fresh, fresh_version = form_values(order), int(order.version or 0)
    form = _form_state(order_no, fresh, fresh_version)
    seed, suffix = form["seed"], f"{order_no}_{form['nonce']}"
    editable = ctx.can(Permission.EDIT_ORDERS)
    customer = _customer_inputs(seed, suffix, editable)
    st.subheader(t("order.items"))
    edited = st.data_editor(
        _items_frame(seed["items"]),
        placeholder="",
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
        value=int(seed["shipping_fee"] or 0),
        key=f"shipping_{suffix}",
        disabled=not editable,
    )
    tax = c[1].number_input(
        t("order.tax"),
        min_value=0,
        max_value=9_999_999,
        step=1,
        value=int(seed["tax"] or 0),
        key=f"tax_{suffix}",
        disabled=not editable,
    )
    statuses = list(labels(OrderStatus, lang))
    status = c[2].selectbox(
        t("col.status"),
        statuses,
        index=statuses.index(seed["status"]) if seed["status"] in statuses else 0,
        format_func=lambda v: label_of(OrderStatus, v, lang),
        key=f"status_{suffix}",
        disabled=not editable,
    )
    records = _records(edited)
    c[3].metric(t("order.total"), _ui.yen(_edited_total(records, shipping, tax)))
    if not editable:
        st.caption(t("order.no_edit"))
        return
    mine = {**customer, "items": records, "shipping_fee": shipping, "tax": tax, "status": status}
    mine_changes = order_edit.changes(form["base"], mine, fresh)
    if fresh_version != form["version"] and not mine_changes and PENDING not in st.session_state:
        # nothing of mine: just refresh (not while a Paidy confirmation is open: a rerun now
        # would swallow its button's click; the confirmation reruns the page when it is done)
        _reload_form(order_no, fresh, fresh_version, fresh)
        _rerun_form()
    if form.pop("note", ""):
        _ui.notice("info", t("edit.reapplied"))
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
                customer=customer,
                expected_version=form["version"],
            )
        except OrderChanged:
            _ui.notice("error", t("edit.refused_head"), t("edit.refused_hint"))
        except RuleViolation as exc:
            _ui.show_refusal(exc)
        else:
            saved_form = form_values(get_order(ctx.db, order_no))
            _reload_form(order_no, saved_form, saved.version, saved_form)
            st.session_state["order_flash"] = t("order.saved", amount=saved.total)
            st.rerun()
    if fresh_version != form["version"]:
        stale_panel(order_no, order, form, mine, fresh, fresh_version, mine_changes)


def _rerun_form() -> None:
    st.rerun(scope="fragment" if _ui._fragment_rerun() else "app")


def stale_panel(order_no, order, form, mine, fresh, fresh_version, mine_changes) -> None:
    """Who saved since this form was opened, what this operator changed (against the loaded
    order and the latest one), and the two ways on: re-apply mine, or load the latest."""
    by = (order.updated_by or "").strip()
    by = t("edit.who", name=by) if by else t("edit.someone")
    _ui.notice(
        "warning",
        t("edit.stale_head"),
        t("edit.stale_by", who=by, saved_at=_ui.jst(order.updated_at) + _seconds(order)),
    )
    st.markdown(f"**{_ui.md_escape(t('edit.my_changes'))}**")
    st.dataframe(
        pd.DataFrame(
            [
                (
                    t(FIELD_LABELS[c.field]),
                    _shown(c.field, c.base),
                    _shown(c.field, c.mine),
                    _shown(c.field, c.fresh),
                    "⚠" if c.conflict else "",
                )
                for c in mine_changes
            ],
            columns=["field", "base", "mine", "fresh", "conflict"],
        ),
        placeholder="",
        hide_index=True,
        key=f"stale_diff_{order_no}_{form['nonce']}",
        column_config={
            "field": st.column_config.TextColumn(t("edit.col_field")),
            "base": st.column_config.TextColumn(t("edit.col_base")),
            "mine": st.column_config.TextColumn(t("edit.col_mine")),
            "fresh": st.column_config.TextColumn(t("edit.col_fresh")),
            "conflict": st.column_config.TextColumn(t("edit.col_conflict")),
        },
    )
    c = st.columns(2)
    if c[0].button(
        t("edit.reapply"), key=f"reapply_{order_no}_{form['nonce']}", icon=":material/redo:"
    ):
        merged = order_edit.reapply(form["base"], mine, fresh)
        _reload_form(order_no, fresh, fresh_version, merged, note="reapplied")
        _rerun_form()
    if c[1].button(
        t("edit.discard"), key=f"discard_{order_no}_{form['nonce']}", icon=":material/refresh:"
    ):
        _reload_form(order_no, fresh, fresh_version, fresh)
        _rerun_form()


def _seconds(order) -> str:
    """The seconds of the save time (jst() shows minutes), so two saves are told apart."""
    return as_utc(order.updated_at).astimezone(JST).strftime(":%S") if order.updated_at else ""


def _shown(field: str, value) -> str:
    if field == "items":
        return " / ".join(f"{name} {_ui.yen(price)}×{qty}" if isinstance(price, int) and isinstance(qty, int)
                          else f"{name} {price}×{qty}" for _, name, price, qty in value)  # fmt: skip
    if field == "status":
        return label_of(OrderStatus, value, _ui.lang())
    if field in ("shipping_fee", "tax"):
        return _ui.yen(value) if isinstance(value, int) else str(value)
    return str(value)


# ------------------------------------------------------------------------------ Paidy panel
def _row(label: str, render) -> None:
    c = st.columns([1, 3], vertical_alignment="center")
    c[0].markdown(f"**{_ui.md_escape(label)}**")
    with c[1]:
        render()


def _red(text: str) -> None:
    st.markdown(f":red[{_ui.md_escape(text)}]")


def _run(ctx: _ui.PageContext, action: Action | str, order_no: int, version: int, **kw):
    """Call core for one action with the busy flag set; remember the result for this order.
    Anything but a payment action is a programming error and raises."""
    action = Action(action)
    st.session_state[BUSY] = action.value
    try:
        match action:
            case Action.REFRESH:
                result = payments.refresh(ctx.ops, ctx.actor, order_no)
            case Action.UPDATE:
                result = payments.update(ctx.ops, ctx.actor, order_no, expected_version=version)
            case Action.CAPTURE:
                result = payments.capture(
                    ctx.ops,
                    ctx.actor,
                    order_no,
                    expected_version=version,
                    confirm_mismatch=bool(kw.get("confirm_mismatch")),
                )
            case Action.CLOSE:
                result = payments.close(ctx.ops, ctx.actor, order_no, expected_version=version)
            case Action.REFUND:
                result = payments.refund(
                    ctx.ops,
                    ctx.actor,
                    order_no,
                    kw.get("amount"),
                    kw.get("reason"),
                    expected_version=version,
                )
                if result.ok:  # the fields empty, so no stale amount is checked by the success
                    st.session_state.setdefault(REFUND_CLEAR, set()).add(order_no)
            case _:
                raise ValueError(f"the order page has no action {action!r}")
    finally:
        st.session_state.pop(BUSY, None)
    st.session_state.setdefault(RESULTS, {})[order_no] = result
    return result


def confirm_dialog(pending: dict) -> None:
    """The confirmation before money moves (opened from a session-state flag)."""
    st.dialog(t("paidy.confirm_title"), width="medium")(_confirm_body)(pending)


def _confirm_body(pending: dict) -> None:
    ctx = _ui.page()
    action, order_no = Action(pending["action"]), pending["order_no"]
    if action is Action.CAPTURE:
        st.write(t("paidy.confirm_capture", order_no=str(order_no), amount=pending["amount"]))
    elif action is Action.REFUND:
        st.write(t("paidy.confirm_refund", order_no=str(order_no), amount=pending["amount"]))
        if pending.get("reason"):
            _ui.plain(t("paidy.refund_reason_shown", reason=pending["reason"]))
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
            reason=pending.get("reason"),
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
            _run(ctx, Action.UPDATE, order_no, version)
            _rerun_panel()
    if Action.CAPTURE in allowed and Action.CAPTURE not in offered:  # the cancel rule
        st.caption(t("paidy.capture_cancelled_hint"))
    if Action.CAPTURE in offered:
        shown += 1
        if button(Action.CAPTURE, type="primary"):
            _ask(
                {
                    "action": Action.CAPTURE,
                    "order_no": order_no,
                    "version": version,
                    "amount": int(pay.amount),
                    "mismatch": capture_mismatch(order.total, pay.amount) is not None,
                    "order_total": int(order.total),
                }
            )
            _rerun_panel()
    if Action.CLOSE in allowed:
        if Action.CLOSE in offered:
            shown += 1
            if button(Action.CLOSE):
                _ask(
                    {
                        "action": Action.CLOSE,
                        "order_no": order_no,
                        "version": version,
                        "amount": None,
                    }
                )
                _rerun_panel()
        else:
            st.caption(t("paidy.close_hint"))
    if Action.REFUND in allowed:
        shown += 1
        refund_controls(ctx, order_no, version, captured, refunded, busy)
    if shown == 0:
        st.text(t("paidy.no_actions"))
    if button(Action.REFRESH):
        _run(ctx, Action.REFRESH, order_no, version)
        _rerun_panel()


def refund_keys(order_no: int) -> tuple[str, str, str]:
    """Widget keys of the refund controls: 全額, amount, reason."""
    return f"refund_full_{order_no}", f"refund_amount_{order_no}", f"refund_reason_{order_no}"


REFUND_CLEAR = "refund_clear"  # order numbers whose refund went through: empty the fields


def refund_controls(
    ctx, order_no: int, version: int, captured: int, refunded: int, busy: bool
) -> None:
    """全額 (a checkbox: it enables the amount at once), then a form with the amount, the
    optional 払い戻し理由 (sent to Paidy) and the button. The button is enabled while
    nothing runs: what was typed is sent with the click itself and checked then, so one
    click after typing an amount refunds (no second click after the field loses focus)."""
    left = refundable(captured, refunded)
    full_key, amount_key, reason_key = refund_keys(order_no)
    if order_no in st.session_state.get(REFUND_CLEAR, set()):  # after a refund went through
        st.session_state[REFUND_CLEAR].discard(order_no)
        st.session_state[amount_key] = ""
        st.session_state[reason_key] = ""
    full = st.checkbox(t("paidy.refund_full"), value=True, key=full_key)
    with st.form(f"refund_form_{order_no}", border=False, enter_to_submit=False):
        c = st.columns([2, 3], vertical_alignment="bottom")
        text = c[0].text_input(
            t("paidy.refund_amount"), key=amount_key, disabled=full, placeholder=f"{left:,}"
        )
        reason = c[1].text_input(
            t("paidy.refund_reason"),
            key=reason_key,
            max_chars=200,
            placeholder=t("paidy.refund_reason_hint"),
        )
        c = st.columns([2, 3], vertical_alignment="center")
        pressed = c[0].form_submit_button(
            t("paidy.btn.refund"),
            key=f"btn_refund_{order_no}_{version}",
            disabled=busy,
            type="primary",
            width="stretch",
        )
        c[1].caption(t("paidy.desc.refund"))
    st.caption(t("paidy.refundable", amount=left))
    if not pressed:
        return
    amount = left
    if not full:
        try:
            amount = validate_refund(parse_yen(text), captured, refunded)
        except RuleViolation as exc:
            st.error(_ui.md_escape(exc.message(_ui.lang())), icon=":material/block:")
            return
    _ask(
        {
            "action": Action.REFUND,
            "order_no": order_no,
            "version": version,
            "amount": amount,
            "refund_arg": None if full else text,
            "reason": (reason or "").strip()[:200] or None,
        }
    )
    _rerun_panel()


def last_result(order_no: int, pay) -> None:
    result = st.session_state.get(RESULTS, {}).get(order_no)
    if result is not None:
        _ui.show_result(result)
    elif pay.last_result or pay.last_result_msg:
        text = shown(pay.last_result_msg, _ui.lang(), ja=pay.last_result)
        st.text(f"{text}  ({_ui.jst(pay.last_result_at)})")
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
        except OperatorError as exc:  # a refusal or Paidy's failure
            _ui.show_refusal(exc)
            return
        st.session_state["order_flash"] = t(
            "paidy.linked", payment_id=res.payment_id, order_no=str(res.order_no)
        )
        st.rerun()


def timeline(ctx, order_no: int) -> None:
    st.subheader(t("paidy.timeline"))
    frame = dq.order_timeline(ctx.db, order_no, lang=ctx.lang)
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
        placeholder="",
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
    if isinstance(order_no, RuleViolation):
        _ui.show_refusal(order_no)
        picker()
        return
    try:
        order = get_order(ctx.db, order_no)
    except OrderNotFound:
        st.error(t("order.not_found", order_no=str(order_no)))
        picker()
        return
    st.page_link("pages/orders.py", label=t("order.back"), query_params=_ui.lang_params() or None)
    st.title(t("order.title", order_no=str(order_no)))
    flash = st.session_state.pop("order_flash", None)
    if flash:
        st.success(flash)
    _delete.results()
    if order.deleted_at is not None:  # 削除済み: say so (admin: 復元), show it read-only
        _delete.deleted_notice(ctx, order)
        info_tables(order)
        return
    slip_download(ctx, order)
    mail_first = str(st.query_params.get("mail", "")) == "1"  # the list row's メール link
    if mail_first:
        _mail.mail_section(order_no, expanded=True)
    # The Paidy panel first: on a 1366x768 screen its header is in the first view, not
    # below the order and customer tables and the items editor.
    paidy_panel(order_no)
    st.divider()
    info_tables(order)
    edit_section(order_no)
    st.divider()
    _delete.button(ctx, [order_no], key=f"order_delete_{order_no}")
    _delete.dialog()
    if not mail_first:
        _mail.mail_section(order_no)


with _ui.guard():
    main()
