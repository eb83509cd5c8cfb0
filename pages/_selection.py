"""The one place where a grid's ticks become a set of order numbers (受注管理, Paidy決済状況管理).

The Streamlit quirk: ``st.dataframe(on_select=...)`` reports *positions* in the frame it was
given, and the browser keeps those positions ticked when the frame changes under the same
key; popping the key from session state does not untick them either (the browser sends its
own state back with the next click). :func:`selection_grid` works around it with
:class:`core.selection.Selection` (documented and tested there): the list shown is named by a
signature; a different list, 全て選択, 全て解除 and :func:`clear` (after every run) start a new
generation, and the grid is keyed by that generation, so the browser draws a fresh grid and a
tick still in flight from the old one is dropped instead of landing on another order.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from core.selection import Selection, list_signature
from pages._ui import t


def state_key(base: str) -> str:
    """Where the :class:`Selection` of the grid ``base`` lives in session state."""
    return f"{base}_selection"


def current(base: str) -> Selection:
    return st.session_state.get(state_key(base)) or Selection()


def clear(base: str) -> None:
    """Nothing chosen, and a fresh grid: call after every run over the selection."""
    st.session_state[state_key(base)] = current(base).cleared()


def _select_all(base: str, signature: str, order_nos: list[int]) -> None:
    sel = current(base)
    if sel.signature == signature:  # only the list the button was shown with
        st.session_state[state_key(base)] = sel.select_all(order_nos)


def _clear_if(base: str, signature: str) -> None:
    if current(base).signature == signature:
        clear(base)


def selection_grid(
    base: str,
    view: pd.DataFrame,
    order_nos: Sequence[int],
    *,
    context: Sequence[object] = (),
    initial: Sequence[int] = (),
    column_config: dict | None = None,
) -> list[int]:
    """Show ``view`` (one row per order of ``order_nos``) with ticks, 全て選択 and 全て解除;
    return the chosen order numbers in list order. ``context`` names the list besides its
    numbers (filters, sort, page); ``initial`` is chosen when a new list appears (orders sent
    from another screen)."""
    numbers = [int(n) for n in order_nos]
    signature = list_signature(numbers, *context)
    sel, dropped = current(base).for_list(signature, initial)
    if dropped:
        st.info(t("select.list_changed"), icon=":material/deselect:")
    c = st.columns([1, 1, 4], vertical_alignment="center")
    c[0].button(
        t("select.all"),
        key=f"{base}_select_all",
        on_click=_select_all,
        args=(base, signature, numbers),
        disabled=not numbers or len(sel.chosen) == len(numbers),
        icon=":material/select_all:",
        use_container_width=True,
    )
    c[1].button(
        t("select.none"),
        key=f"{base}_select_none",
        on_click=_clear_if,
        args=(base, signature),
        disabled=not sel.chosen,
        icon=":material/deselect:",
        use_container_width=True,
    )
    default = sel.positions(numbers)
    event = st.dataframe(
        view,
        placeholder="",
        hide_index=True,
        column_config=column_config,
        key=sel.widget_key(base),
        on_select="rerun",
        selection_mode="multi-row",
        selection_default={"selection": {"rows": default, "columns": []}} if default else None,
    )
    sel = sel.with_positions(event.selection.rows, numbers)
    st.session_state[state_key(base)] = sel
    chosen = sel.ordered(numbers)
    c[2].caption(t("select.count", chosen=len(chosen), shown=len(numbers)))
    return chosen
