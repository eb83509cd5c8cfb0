"""Entry point: page setup, then ``_ui.boot()`` (startup check, login gate), the navigation
over the six pages, and ``_ui.sidebar_controls()`` (language switch, mode badge, logout).

Run with ``streamlit run streamlit_app.py`` (demo mode by default: an embedded Paidy sandbox
with demo orders). Every page lives in ``pages/`` and gets the runtime, the actor and the
language through ``pages/_ui.py``.

The same server also answers ``GET /healthz`` and, with ``WEBHOOK_TOKEN`` set,
``POST /webhooks/paidy/<token>`` (``core/web.py``): ``streamlit run`` finds ``app`` below
and serves it. This file is then both imported once by the server (no script run: define
``app``) and run as the script of every session (draw the screens).
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.i18n import t as _t
from core.roles import Permission
from pages import _ui


def main() -> None:
    st.set_page_config(page_title="Paidy 決済管理", page_icon=":material/payments:", layout="wide")
    lang = _ui.boot()
    dashboard = st.Page(
        "pages/dashboard.py",
        title=_t("nav.dashboard", lang),
        icon=":material/dashboard:",
        url_path="dashboard",
    )

    def home() -> None:
        """The app root opens the dashboard at ``/dashboard``: Streamlit serves a default
        page only at ``/`` (its own path says "Page not found"), so the dashboard is not
        the default page and ``/`` forwards to it, keeping the query (``?lang=en``)."""
        st.switch_page(dashboard, query_params=st.query_params.to_dict() or None)

    pages = [
        st.Page(
            home,
            title=_t("nav.dashboard", lang),
            url_path="home",
            default=True,
            visibility="hidden",
        ),
        dashboard,
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
    if _ui.can(Permission.ADMIN):  # restoring deleted orders is an admin's (core checks too)
        pages.append(
            st.Page(
                "pages/deleted.py",
                title=_t("nav.deleted", lang),
                icon=":material/delete:",
                url_path="deleted",
            )
        )
    nav = st.navigation(pages)
    _ui.sidebar_controls()  # after st.navigation: stable widget identities (see _ui)
    nav.run()


if get_script_run_ctx(suppress_warning=True) is not None:  # a session's script run
    main()
else:  # imported by `streamlit run` (or uvicorn): the server with the extra routes
    from core import web
    from core.settings import get_settings

    app = st.App("streamlit_app.py", routes=web.routes(_ui.runtime, get_settings()))
