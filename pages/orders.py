"""受注管理: the guide's search form, the paged result grid with row selection, 対応状況管理,
sending the selection to the batch page, and the CSV export of all matching rows."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pandas as pd
import streamlit as st

from core import export
from core.domain.errors import RuleViolation
from core.domain.orders import (
    Gender,
    OrderStatus,
    PaymentMethod,
    label_of,
    labels,
    parse_order_no,
)
from core.domain.states import PaymentState
from core.operations.orders import change_status
from core.roles import Permission
from core.search import InvalidQuery, OrderQuery, search_orders
from pages import _delete, _selection, _ui
from pages._ui import t

SAVED = "orders_query_values"  # the last submitted form values (survive page switches)
PAGE_KEY = "orders_page"
GRID_KEY = "orders_grid"
TICKED = "orders_ticked"  # the chosen order numbers in list order, for PDF and 帳票
CSV_KEY = "orders_csv"
PDF_KEY = "orders_pdf"  # the built list PDF {"sig", "data", "report"}
SLIPS_KEY = "orders_slips"  # the built 帳票 PDF {"sig", "data", "report"}
PAGE_SIZES = (25, 50, 100, 200)
TEXT_FIELDS = (
    "order_no",
    "order_from",
    "order_to",
    "name",
    "email",
    "amount_min",
    "amount_max",
    "expires_within_days",
)
DATE_FIELDS = ("birth_from", "birth_to", "ordered_from", "ordered_to", "updated_from", "updated_to")
LIST_FIELDS = ("gender", "payment_method", "status", "paidy_state")
DEFAULTS: dict[str, object] = {
    **{f: "" for f in TEXT_FIELDS},
    **{f: None for f in DATE_FIELDS},
    **{f: [] for f in LIST_FIELDS},
    "discrepancy_only": False,
    "test": "all",
}
SORTS = ("ordered_at", "order_no", "updated_at", "total", "customer_kana", "expires_at")


def _wkey(field: str) -> str:
    return f"of_{field}"


def restore_form() -> dict:
    """Seed the form widgets from the saved values (widget state is dropped on page switch)."""
    saved = st.session_state.setdefault(SAVED, dict(DEFAULTS))
    for field, default in DEFAULTS.items():
        if _wkey(field) not in st.session_state:
            st.session_state[_wkey(field)] = saved.get(field, default)
    return saved


SEARCH_OPEN = "orders_search_open"  # the search form's expander (closed after a search)


SHOW_RESULTS = "orders_show_results"  # set by a search: bring the results into view once


def _close_search() -> None:
    st.session_state[SEARCH_OPEN] = False  # the results move up (a 1366x768 screen)
    st.session_state[SHOW_RESULTS] = True


def search_form() -> None:
    lang = _ui.lang()
    searched = st.session_state.get(SAVED, DEFAULTS) != DEFAULTS
    with (
        st.expander(
            t("orders.search"),
            expanded=not searched,
            icon=":material/search:",
            key=SEARCH_OPEN,
            on_change="rerun",
        ),
        st.form("orders_search"),
    ):
        c = st.columns(3)
        c[0].text_input(t("orders.order_no"), key=_wkey("order_no"), placeholder="61")
        c[1].text_input(t("orders.order_from"), key=_wkey("order_from"))
        c[2].text_input(t("orders.order_to"), key=_wkey("order_to"))
        c = st.columns(3)
        c[0].text_input(t("orders.name"), key=_wkey("name"))
        c[1].text_input(t("orders.email"), key=_wkey("email"))
        c[2].multiselect(
            t("orders.gender"),
            list(labels(Gender, lang)),
            placeholder=t("common.choose"),
            select_all=False,  # its "Select all" is English on both screens
            key=_wkey("gender"),
            format_func=lambda v: label_of(Gender, v, lang),
        )
        c = st.columns(4)
        old = date(1900, 1, 1)
        c[0].date_input(
            t("orders.birth_from"), key=_wkey("birth_from"), min_value=old, format="YYYY/MM/DD"
        )
        c[1].date_input(
            t("orders.birth_to"), key=_wkey("birth_to"), min_value=old, format="YYYY/MM/DD"
        )
        c[2].date_input(
            t("orders.ordered_from"), key=_wkey("ordered_from"), min_value=old, format="YYYY/MM/DD"
        )
        c[3].date_input(
            t("orders.ordered_to"), key=_wkey("ordered_to"), min_value=old, format="YYYY/MM/DD"
        )
        c = st.columns(4)
        c[0].date_input(
            t("orders.updated_from"), key=_wkey("updated_from"), min_value=old, format="YYYY/MM/DD"
        )
        c[1].date_input(
            t("orders.updated_to"), key=_wkey("updated_to"), min_value=old, format="YYYY/MM/DD"
        )
        c[2].text_input(t("orders.amount_min"), key=_wkey("amount_min"))
        c[3].text_input(t("orders.amount_max"), key=_wkey("amount_max"))
        c = st.columns(3)
        c[0].multiselect(
            t("orders.payment_method"),
            list(labels(PaymentMethod, lang)),
            placeholder=t("common.choose"),
            select_all=False,  # its "Select all" is English on both screens
            key=_wkey("payment_method"),
            format_func=lambda v: label_of(PaymentMethod, v, lang),
        )
        c[1].multiselect(
            t("orders.status"),
            list(labels(OrderStatus, lang)),
            placeholder=t("common.choose"),
            select_all=False,  # its "Select all" is English on both screens
            key=_wkey("status"),
            format_func=lambda v: label_of(OrderStatus, v, lang),
        )
        c[2].multiselect(
            t("orders.paidy_state"),
            list(labels(PaymentState, lang)),
            placeholder=t("common.choose"),
            select_all=False,  # its "Select all" is English on both screens
            key=_wkey("paidy_state"),
            format_func=lambda v: label_of(PaymentState, v, lang),
        )
        c = st.columns(3)
        c[0].text_input(t("orders.expires_within"), key=_wkey("expires_within_days"))
        c[1].radio(
            t("orders.test"),
            ["all", "test", "live"],
            key=_wkey("test"),
            horizontal=True,
            format_func=lambda v: t(
                {"all": "orders.test_all", "test": "orders.test_only", "live": "orders.live_only"}[
                    v
                ]
            ),
        )
        c[2].checkbox(t("orders.discrepancy"), key=_wkey("discrepancy_only"))
        b = st.columns([2, 1, 3])
        submitted = b[0].form_submit_button(
            t("orders.submit"), type="primary", icon=":material/search:", on_click=_close_search
        )
        cleared = b[1].form_submit_button(t("orders.reset"))
    if submitted:
        st.session_state[SAVED] = {
            f: st.session_state.get(_wkey(f), d) for f, d in DEFAULTS.items()
        }
        st.session_state[PAGE_KEY] = 1
    if cleared:
        st.session_state[SAVED] = dict(DEFAULTS)
        for f in DEFAULTS:
            st.session_state.pop(_wkey(f), None)
        st.session_state[PAGE_KEY] = 1
        st.rerun()


def build_query(values: dict) -> OrderQuery:
    data = {k: v for k, v in values.items() if k != "test" and v not in ("", None, [], False)}
    test = values.get("test", "all")
    if test != "all":
        data["test"] = test == "test"
    return OrderQuery(**data)


def _signature(values: dict, *extra: object) -> str:
    raw = json.dumps([values, *extra], default=str, sort_keys=True)
    return hashlib.sha1(raw.encode()).hexdigest()[:12]


def grid_view(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    lang = _ui.lang()
    shipped = t("col.shipped")
    view = pd.DataFrame(
        {
            "edit": [_ui.url("order", order=int(n)) for n in frame["order_no"]],
            "mail": [_ui.url("order", order=int(n), mail=1) for n in frame["order_no"]],
            "order_no": frame["order_no"],
            "ordered": _ui.jst_frame_col(frame["ordered_at"]),
            "customer": frame["customer_name"],
            "method": frame["payment_method"].map(lambda v: label_of(PaymentMethod, v, lang)),
            "total": frame["total"],
            "shipped": frame["shipped_at"].map(
                lambda v: (
                    _ui.jst(v.to_pydatetime(), False)
                    if v is not None and v == v
                    else t("common.not_shipped")
                )
            ),
            "status": frame["status"].map(lambda v: label_of(OrderStatus, v, lang)),
            "paidy_state": frame["paidy_state"].map(
                lambda v: _ui.state_label(v) if isinstance(v, str) else ""
            ),
            "paidy_amount": frame["paidy_amount"],
            "billed": frame["billed_amount"],
            "expires": _ui.jst_frame_col(frame["expires_at"]),
            "mismatch": frame["discrepancy"].map(lambda v: "⚠" if v else ""),
            "test": frame["test"].map(lambda v: t("common.test") if v is True else ""),
        }
    )
    del shipped
    config = {
        "edit": st.column_config.LinkColumn(
            t("col.open"), display_text=r"/order\?order=(\d+)", width="small"
        ),
        "mail": st.column_config.LinkColumn(
            t("orders.mail_col"), display_text=t("orders.mail_link"), width="small"
        ),
        "order_no": st.column_config.NumberColumn(t("col.order_no"), format="%d", width="small"),
        "ordered": st.column_config.TextColumn(t("col.ordered_at")),
        "customer": st.column_config.TextColumn(t("col.customer_name")),
        "method": st.column_config.TextColumn(t("col.payment_method")),
        "total": st.column_config.NumberColumn(t("col.total"), format="localized"),
        "shipped": st.column_config.TextColumn(t("col.shipped_at")),
        "status": st.column_config.TextColumn(t("col.status")),
        "paidy_state": st.column_config.TextColumn(t("col.paidy_state")),
        "paidy_amount": st.column_config.NumberColumn(t("col.paidy_amount"), format="localized"),
        "billed": st.column_config.NumberColumn(t("col.billed_amount"), format="localized"),
        "expires": st.column_config.TextColumn(t("col.expires_at")),
        "mismatch": st.column_config.TextColumn(t("col.discrepancy"), width="small"),
        "test": st.column_config.TextColumn(t("col.test"), width="small"),
    }
    return view, config


def results(ctx: _ui.PageContext, values: dict) -> None:
    query = build_query(values)
    top = st.container(key="orders_results")  # what a search scrolls to
    c = top.columns([2, 1, 1, 1])
    sort = c[0].selectbox(
        t("orders.sort"),
        SORTS,
        key="orders_sort",
        format_func=lambda s: t(f"col.{s}") if s != "customer_kana" else t("col.customer_kana"),
    )
    descending = c[1].toggle(t("orders.descending"), value=True, key="orders_desc")
    size = c[2].selectbox(t("common.page_size"), PAGE_SIZES, index=1, key="orders_page_size")
    page_no = int(st.session_state.get(PAGE_KEY, 1) or 1)
    result = search_orders(
        ctx.db,
        query,
        now=ctx.ops.now(),
        sort=sort,
        descending=descending,
        page=page_no,
        page_size=size,
    )
    st.session_state[PAGE_KEY] = result.page
    c[3].number_input(t("common.page"), min_value=1, max_value=result.pages, step=1, key=PAGE_KEY)
    top.markdown(
        f"**{_ui.md_escape(t('orders.found', count=result.total))}** "
        f"{_ui.md_escape(t('common.page_of', page=result.page, pages=result.pages))}"
    )
    if st.session_state.pop(SHOW_RESULTS, False):
        # The search button sits at the foot of the form, so the page was scrolled down
        # to press it; with the form folded the results start above the view: show them.
        _ui.scroll_to("orders_results")
    frame = result.frame
    view, config = grid_view(frame)
    selected = st.session_state[TICKED] = _selection.selection_grid(
        GRID_KEY,
        view,
        [int(n) for n in frame["order_no"]],
        context=(_signature(values), sort, descending, size, result.page),
        column_config=config,
    )
    st.caption(t("orders.select_hint"))
    selection_actions(ctx, selected)
    _delete.button(
        ctx, selected, key="orders_delete", clear=[GRID_KEY], label=t("delete.button_selected")
    )
    _delete.dialog()
    csv_export(ctx, query, values, sort=sort, descending=descending, matches=result.total)
    slips_action(ctx, selected)


def selection_actions(ctx: _ui.PageContext, selected: list[int]) -> None:
    lang = _ui.lang()
    c = st.columns([1, 1, 2])
    if c[0].button(
        t("orders.open_selected"),
        disabled=not selected,
        key="orders_open_selected",
        icon=":material/edit:",
    ):
        _ui.switch_page("pages/order.py", order=selected[0])
    if ctx.can(Permission.ACT) and c[1].button(
        t("orders.to_batch"),
        disabled=not selected,
        key="orders_to_batch",
        icon=":material/checklist:",
    ):
        st.session_state[_ui.BATCH_PRESELECT] = selected
        st.session_state.pop(_ui.BATCH_ACTION, None)
        _ui.switch_page("pages/batch.py")
    with c[2].popover(t("orders.open_number"), icon=":material/open_in_new:"):
        number = st.text_input(t("orders.order_no"), key="orders_open_no")
        if st.button(t("orders.open"), key="orders_open_go"):
            try:
                picked = parse_order_no(number)
            except RuleViolation as exc:
                _ui.show_refusal(exc)
            else:
                _ui.switch_page("pages/order.py", order=picked)
    if ctx.can(Permission.EDIT_ORDERS):
        with st.expander(t("orders.status_mgmt"), icon=":material/swap_horiz:"):
            new = st.selectbox(
                t("orders.status_new"),
                list(labels(OrderStatus, lang)),
                key="orders_new_status",
                format_func=lambda v: label_of(OrderStatus, v, lang),
            )
            if st.button(t("orders.status_apply"), key="orders_status_apply"):
                if not selected:
                    st.warning(t("orders.need_selection"))
                else:
                    changed = change_status(ctx.ops, ctx.actor, selected, new)
                    _selection.clear(GRID_KEY)  # done: the next action starts from nothing
                    st.session_state["orders_flash"] = t(
                        "orders.status_done", count=changed, status=label_of(OrderStatus, new, lang)
                    )
                    st.rerun()


# ------------------------------------------------------------------------------ CSV export
def column_choices(lang: str) -> dict[str, str]:
    """CSV column key -> its header in ``lang``, in the registry's order."""
    return {key: col.label(lang) for key, col in export.EXPORT_COLUMNS.items()}


def saved_sets(db) -> dict[str, list[str]]:
    """Saved CSV出力項目設定: name -> column keys."""
    return {s.name: list(s.columns) for s in export.list_column_sets(db)}


def csv_export(
    ctx: _ui.PageContext,
    query: OrderQuery,
    values: dict,
    *,
    sort: str = "ordered_at",
    descending: bool = True,
    matches: int = 0,
) -> None:
    with st.expander(t("orders.csv"), icon=":material/download:"):
        choices = column_choices(_ui.lang())
        sets = saved_sets(ctx.db)
        c = st.columns([2, 1])
        set_name = c[0].selectbox(
            t("orders.csv_set"),
            ["", *sets],
            key="orders_csv_set",
            format_func=lambda v: v or t("orders.csv_set_default"),
        )
        encoding = c[1].radio(
            t("orders.csv_encoding"),
            ["utf-8-sig", "cp932"],
            key="orders_csv_enc",
            format_func=lambda v: t("orders.csv_utf8" if v == "utf-8-sig" else "orders.csv_sjis"),
        )
        default_cols = list(sets.get(set_name) or export.DEFAULT_COLUMNS)
        columns = st.multiselect(
            t("orders.csv_columns"),
            list(choices),
            default=default_cols,
            format_func=lambda k: choices.get(k, k),
            placeholder=t("common.choose"),
            select_all=False,
            key=f"orders_csv_cols_{set_name}",
        )
        sig = _signature(values, columns, encoding, _ui.lang())
        last = st.session_state.setdefault(CSV_KEY, {})  # what the last download reported
        if last.get("sig") == sig and last.get("replaced"):
            st.warning(t("orders.csv_replaced", count=int(last["replaced"])))
        if not columns:
            st.warning(t("orders.csv_none"))
        else:
            st.caption(t("orders.csv_rows", count=matches))
            # One click: Streamlit calls ``data`` when the button is pressed (on a thread of
            # its own), so the CSV is made from exactly these filters, columns and language.
            st.download_button(
                t("common.download_csv"),
                csv_maker(ctx, query, columns, encoding, last, sig),
                file_name=export.export_filename(ctx.ops.now()),
                mime="text/csv",
                key="orders_csv_download",
                icon=":material/download:",
                on_click="ignore",
            )
        pdf_export(ctx, query, values, columns, sort, descending, matches)


def csv_maker(ctx: _ui.PageContext, query, columns, encoding, last: dict, sig: str):
    """The download's data: the CSV of every matching order, made on the click. What it
    reports (cells whose characters Shift_JIS cannot hold) is kept in ``last`` and shown on
    the next run."""
    db, lang, now = ctx.db, _ui.lang(), ctx.ops.now()

    def make() -> bytes:
        data, report = export.export_to_bytes(
            db, query, columns=list(columns), encoding=encoding, lang=lang, now=now
        )
        last.update(sig=sig, rows=report.rows, replaced=report.replaced_cells)
        return data

    return make


# ------------------------------------------------------------------- List PDF and 帳票
def ticked_orders() -> list[int]:
    """The order numbers ticked on the list, in list order (what PDF and 帳票 act on)."""
    return list(st.session_state.get(TICKED, []))


def pdf_export(
    ctx: _ui.PageContext,
    query: OrderQuery,
    values: dict,
    columns: list[str],
    sort: str,
    descending: bool,
    matches: int,
) -> None:
    """「PDF」: the same columns as the CSV, all matching orders or the ticked ones."""
    from core.reports.list_pdf import ListPdfError, export_pdf_to_bytes, pdf_filename

    ticked = ticked_orders()
    scope = "all"
    if ticked:
        scope = st.radio(
            t("pdf.scope"),
            ["all", "ticked"],
            horizontal=True,
            key="orders_pdf_scope",
            format_func=lambda v: t(
                "pdf.scope_all" if v == "all" else "pdf.scope_ticked",
                count=matches if v == "all" else len(ticked),
            ),
        )
    chosen = ticked if scope == "ticked" else None
    sig = _signature(values, columns, sort, descending, _ui.lang(), chosen)
    if st.button(t("pdf.build"), key="orders_pdf_build", icon=":material/picture_as_pdf:"):
        if not columns:
            st.warning(t("orders.csv_none"))
        else:
            try:
                data, report = export_pdf_to_bytes(
                    ctx.db,
                    query,
                    columns=columns,
                    lang=_ui.lang(),
                    now=ctx.ops.now(),
                    sort=sort,
                    descending=descending,
                    order_nos=chosen,
                )
            except ListPdfError as exc:
                _ui.show_refusal(exc)
                return
            st.session_state[PDF_KEY] = {"sig": sig, "data": data, "report": report}
    built = st.session_state.get(PDF_KEY)
    if built and built["sig"] == sig:
        report = built["report"]
        st.success(t("pdf.ready", count=report.rows, pages=report.pages))
        st.download_button(
            t("pdf.download"),
            built["data"],
            file_name=pdf_filename(ctx.ops.now()),
            mime="application/pdf",
            key="orders_pdf_download",
            icon=":material/download:",
            on_click="ignore",
        )


def slips_action(ctx: _ui.PageContext, order_nos: list[int]) -> None:
    """「帳票の作成」: one 納品書 per ticked order, in one PDF."""
    from core.reports.slips import Shop, SlipsError, slips_filename, slips_to_bytes

    sig = _signature(order_nos)
    c = st.columns([1, 3])
    if c[0].button(
        t("slips.build"),
        key="orders_slips_build",
        icon=":material/receipt_long:",
        disabled=not order_nos,
        help=None if order_nos else t("slips.need_selection"),
    ):
        try:
            data, report = slips_to_bytes(
                ctx.db, order_nos, shop=Shop.from_settings(_ui.settings()), now=ctx.ops.now()
            )
        except SlipsError as exc:
            _ui.show_refusal(exc)
            return
        st.session_state[SLIPS_KEY] = {"sig": sig, "data": data, "report": report}
    built = st.session_state.get(SLIPS_KEY)
    if built and built["sig"] == sig and order_nos:
        report = built["report"]
        with c[1]:
            st.success(t("slips.ready", count=len(report.done), pages=report.pages))
            if report.missing:
                st.warning(t("slips.missing", numbers=", ".join(map(str, report.missing))))
            st.download_button(
                t("slips.download"),
                built["data"],
                file_name=slips_filename(ctx.ops.now(), report.done),
                mime="application/pdf",
                key="orders_slips_download",
                icon=":material/download:",
                on_click="ignore",
            )


def main() -> None:
    ctx = _ui.page()
    st.title(t("orders.title"))
    flash = st.session_state.pop("orders_flash", None)
    if flash:
        st.success(flash)
    _delete.results()
    values = restore_form()
    search_form()
    try:
        results(ctx, st.session_state.get(SAVED, values))
    except InvalidQuery as exc:
        _ui.show_refusal(exc)


with _ui.guard():
    main()
