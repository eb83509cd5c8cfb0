"""Entry point: page setup, then ``_ui.boot()`` (startup check, login gate), the navigation
over the six pages, and ``_ui.sidebar_controls()`` (language switch, mode badge, logout).

Run with ``streamlit run streamlit_app.py`` (demo mode by default: an embedded Paidy sandbox
with demo orders). Every page lives in ``pages/`` and gets the runtime, the actor and the
language through ``pages/_ui.py``.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Paidy 決済管理", page_icon=":material/payments:", layout="wide")

from core.i18n import t as _t  # noqa: E402
from pages import _ui  # noqa: E402


def main() -> None:
    lang = _ui.boot()
    pages = [
        st.Page(
            "pages/dashboard.py",
            title=_t("nav.dashboard", lang),
            icon=":material/dashboard:",
            url_path="dashboard",
            default=True,
        ),
        st.Page(
            "pages/orders.py",
            title=_t("nav.orders", lang),
            icon=":material/list_alt:",
            url_path="orders",
        ),
        st.Page(
            "pages/order.py",
            title=_t("nav.order", lang),
            icon=":material/edit_note:",
            url_path="order",
        ),
        st.Page(
            "pages/batch.py",
            title=_t("nav.batch", lang),
            icon=":material/checklist:",
            url_path="batch",
        ),
        st.Page(
            "pages/audit.py",
            title=_t("nav.audit", lang),
            icon=":material/history:",
            url_path="audit",
        ),
        st.Page(
            "pages/settings.py",
            title=_t("nav.settings", lang),
            icon=":material/settings:",
            url_path="settings",
        ),
    ]
    nav = st.navigation(pages)
    _ui.sidebar_controls()  # after st.navigation: stable widget identities (see _ui)
    nav.run()


main()
