"""Shared UI helpers of the pages: runtime, actor, language, formatting, result messages.

Pages stay thin: they read widgets, call core, and render with these helpers. Nothing here
holds business rules; core decides and refuses.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import streamlit as st

from core import i18n
from core.domain.orders import label
from core.domain.states import PaymentState
from core.errors import OperatorError
from core.logsetup import log_exception
from core.roles import Actor, Permission, Role
from core.runtime import Runtime, build_runtime
from core.settings import AuthMode, ConfigurationError, Mode, Settings, get_settings
from core.timeutil import fmt_jst, time_left, utcnow

log = logging.getLogger(__name__)

LANG_KEY = "ui_lang"
LANG_PARAM = "lang"  # ?lang=en: the language of a deep link, kept in the URL on every run
ACTOR_KEY = "auth_actor"
OPEN_ACTOR = Actor("demo-operator", Role.ADMIN)

#: session-state keys used across pages
BATCH_PRESELECT = "batch_preselect"  # list[int] of order numbers sent to the batch page
BATCH_ACTION = "batch_preselect_action"  # a BatchAction value to preselect


# ------------------------------------------------------------------------------ language
_last_lang = i18n.DEFAULT_LANG  # for format functions called outside a script run (AppTest)


def lang() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is None:
        return _last_lang
    value = st.session_state.get(LANG_KEY, i18n.DEFAULT_LANG)
    return value if value in i18n.LANGS else i18n.DEFAULT_LANG


def t(key: str, **params: object) -> str:
    return i18n.t(key, lang(), **params)


def lang_params(lang_: str | None = None) -> dict[str, str]:
    """The query parameter that carries the language ({} for the default, Japanese)."""
    lang_ = lang_ or lang()
    return {} if lang_ == i18n.DEFAULT_LANG else {LANG_PARAM: lang_}


def url(page: str, **params: object) -> str:
    """A link the app makes (LinkColumn, anything opened in a new tab): ``/order?order=61``
    plus ``&lang=en`` when the screen is in English, so the link opens in the same language."""
    from urllib.parse import urlencode

    query = {k: str(v) for k, v in params.items() if v is not None} | lang_params()
    return f"/{page.strip('/')}" + (f"?{urlencode(query)}" if query else "")


def switch_page(page: str, **params: object) -> None:
    """st.switch_page keeping the language in the URL."""
    query = {k: str(v) for k, v in params.items() if v is not None} | lang_params()
    st.switch_page(page, query_params=query or None)


def lbl(value, lang_: str | None = None) -> str:
    """Label of an enum member (対応状況, Paidy状態 ...) in the UI language."""
    return label(value, lang_ or lang())


def state_label(state: str | None) -> str:
    if not state:
        return ""
    try:
        return label(PaymentState(state), lang())
    except ValueError:
        return str(state)


def role_label(role: Role | str) -> str:
    return i18n.label("role", Role(role), lang())


# ------------------------------------------------------------------------------ runtime
@st.cache_resource(show_spinner=False, on_release=lambda rt: rt.stop())
def _build_runtime(database_url: str, api_base: str, mode: str) -> Runtime:
    """One runtime (database, Paidy client, batch workers) per server process and config."""
    return build_runtime(get_settings(), start_workers=True)


def settings() -> Settings:
    return get_settings()


def runtime() -> Runtime:
    s = get_settings()
    return _build_runtime(s.database_url, s.paidy_api_base or "", s.mode.value)


# ------------------------------------------------------------------------------ the actor
def actor() -> Actor:
    """The logged-in actor; the open dashboard's default when AUTH_MODE is none."""
    return st.session_state.get(ACTOR_KEY) or OPEN_ACTOR


def can(permission: Permission) -> bool:
    return actor().can(permission)


@dataclass(frozen=True)
class PageContext:
    rt: Runtime
    actor: Actor
    lang: str

    @property
    def db(self):
        return self.rt.db

    @property
    def ops(self):
        return self.rt.ops

    def can(self, permission: Permission) -> bool:
        return self.actor.can(permission)


def page() -> PageContext:
    """What a page needs. A page file run without the entry script (Streamlit's "pages/
    folder" mode, which a fresh server uses for its first session, and AppTest on page
    switches) leaves that mode and reruns, so streamlit_app.py (login gate, navigation)
    always runs first."""
    if not _entry_on_stack() and not _fragment_rerun():
        _leave_pages_folder_mode()
    rt = runtime()
    if _fragment_rerun():  # the entry script's gate did not run: re-read the actor here
        _recheck_actor(rt)
    return PageContext(rt, actor(), lang())


def _leave_pages_folder_mode() -> None:
    from streamlit.runtime.pages_manager import PagesManager

    # What st.navigation does in the entry script; the flag is process-wide.
    PagesManager.uses_pages_directory = False
    st.rerun()


def _entry_on_stack() -> bool:
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.endswith("streamlit_app.py"):
            return True
        frame = frame.f_back
    return False


def _fragment_rerun() -> bool:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.fragment_ids_this_run)


# ------------------------------------------------------------------------------ formatting
def yen(amount: int | None) -> str:
    if amount is None:
        return t("common.none")
    return t("common.yen", amount=int(amount))


def jst(dt: datetime | None, with_time: bool = True) -> str:
    return fmt_jst(dt, with_time) if dt is not None else ""


def days_text(expires_at: datetime | None, now: datetime | None = None) -> str:
    """「本日まで」「あと1日」「あと3日」 / "today", "1 day left", "3 days left" (JST calendar
    days); with less than a day left the hours too; once expired, how long ago."""
    left = time_left(expires_at, now or utcnow())
    if left is None:
        return ""
    if left.expired:
        if left.days == 0:
            return t("common.expired_today")
        return t("common.expired_day" if left.days == 1 else "common.expired_days", days=left.days)
    if left.days == 0:
        text = t("common.expires_today")
    else:
        text = t("common.day_left" if left.days == 1 else "common.days_left", days=left.days)
    if left.hours is not None:
        key = "common.hours_left_one" if left.hours <= 1 else "common.hours_left"
        text += t(key, hours=max(left.hours, 1))
    return text


def scroll_to(key: str) -> None:
    """Scroll the page so the container ``st.container(key=key)`` starts the view (once, in
    the browser; our own fixed script, no user text)."""
    import json

    selector = json.dumps(f".st-key-{key}")
    st.html(
        "<script>requestAnimationFrame(() => document.querySelector("
        f"{selector})?.scrollIntoView({{block: 'start'}}));</script>",
        unsafe_allow_javascript=True,
    )


_MD_SPECIAL = set("\\`*_[]#|<>~$")


def md_escape(text: object) -> str:
    """Our own text for a markdown-rendering element, with markdown characters escaped. It
    does not stop Streamlit from autolinking a bare https://... (nor one inside escaped
    brackets): anything that may carry Paidy's or a person's words goes through plain()."""
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in str(text))


def jst_frame_col(series):
    """A UTC datetime column as JST text (for tables)."""
    return series.map(lambda v: fmt_jst(v.to_pydatetime()) if v is not None and v == v else "")


# ------------------------------------------------------------------------------ plain text
# Streamlit renders the body of st.markdown / st.write / st.caption / st.success / st.error /
# st.warning / st.info / st.toast as GitHub markdown, and that turns a bare
# https://... into a live link even when every markdown character is escaped (md_escape). So
# anything that is or may carry Paidy's words (error descriptions, statuses, result messages)
# or a person's text goes through plain() (st.text: no markdown, no HTML, no links), and the
# coloured boxes hold only our own catalogue text (notice()).
def plain(text: object, *, container=None) -> None:
    """Show ``text`` exactly as it is: no markdown, no HTML, no links."""
    (container or st).text(str(text))


_ICONS = {
    "success": ":material/check_circle:",
    "error": ":material/error:",
    "warning": ":material/help:",
    "info": ":material/info:",
}


def notice(tone: str, headline: str, detail: object = None, *, icon=None, container=None) -> None:
    """A coloured box (success / error / warning / info) with ``headline`` (our own
    catalogue text), and ``detail`` beneath it as plain text (:func:`plain`)."""
    box = container or st
    getattr(box, tone)(md_escape(headline), icon=icon or _ICONS[tone])
    if detail is not None and str(detail).strip() and str(detail) != headline:
        plain(detail, container=box)


# ------------------------------------------------------------------------------ results
def result_headline(result) -> str:
    """Our words for an ActionResult's outcome (the guide's success sentences); the result's
    own message, which may quote Paidy, is shown beneath as plain text."""
    from core.operations.results import SUCCESS

    action, outcome = (
        getattr(result, "action", None),
        getattr(result.outcome, "value", result.outcome),
    )
    if action not in SUCCESS:  # not a payment action (a mail, ...): its message is our own
        return result.message(lang())
    pick = 0 if lang() == "ja" else 1
    if outcome == "ok":
        return SUCCESS[action][pick]
    return t(f"result.{outcome}", action=t(f"action.{action.value}"))


def show_result(result, *, container=None) -> None:
    """An ActionResult: a success / warning / error box with our headline, then its message,
    Paidy's code, reference and the request id as plain text; never a traceback."""
    box = container or st
    outcome = getattr(result, "outcome", None)
    outcome = getattr(outcome, "value", outcome)
    tone = {"ok": "success", "failed": "error"}.get(outcome, "warning")
    detail = result.message(lang())
    if outcome == "unknown":
        detail += "\n" + t("common.unknown_hint")
    icon = ":material/info:" if outcome == "skipped" else None
    notice(tone, result_headline(result), detail, icon=icon, container=box)
    extras = []
    if getattr(result, "paidy_code", None):
        extras.append(t("common.paidy_code", value=result.paidy_code))
    if getattr(result, "paidy_reference", None):
        extras.append(t("common.paidy_reference", value=result.paidy_reference))
    if getattr(result, "request_id", None):
        extras.append(t("common.request_id", value=result.request_id))
    if extras:
        box.text(" / ".join(extras))


def show_refusal(exc: OperatorError) -> None:
    """A refusal, an invalid query, a user error ...: its ``message(lang)``. A Paidy error
    quotes Paidy, so its message is plain text under our own headline."""
    from core.paidy.errors import PaidyError

    if isinstance(exc, PaidyError):
        notice("error", t("paidy.error_head"), exc.message(lang()))
        return
    st.error(md_escape(exc.message(lang())), icon=":material/block:")


@contextmanager
def guard() -> Iterator[None]:
    """Run a page body: an operator-facing error is shown as its message, anything else as
    one short line quoting a reference (logged with its traceback on the server)."""
    try:
        yield
    except OperatorError as exc:
        show_refusal(exc)
    except Exception as exc:  # the screen must never show a traceback
        st.error(t("app.internal_error", kind=failure_ref(exc)), icon=":material/error:")


def failure_ref(exc: Exception, what: str = "page error") -> str:
    """Log the exception being handled with a reference: ``KeyError, ref E-3f9a1c2b``."""
    return f"{type(exc).__name__}, ref {log_exception(log, what)}"


# ------------------------------------------------------------------------------ session
def touch_session() -> None:
    st.session_state["auth_last_seen"] = time.time()


def now() -> datetime:
    return runtime().ops.now()


# ------------------------------------------------------------------------------ boot
def boot() -> str:
    """Startup check and login gate (which stops the script until the visitor is logged
    in); returns the language. The entry script then calls ``st.navigation`` and
    :func:`sidebar_controls`."""
    lang_ = _init_lang()
    cfg, rt = startup(lang_)
    login_gate(cfg, rt, lang_)
    return lang_


def sidebar_controls() -> None:
    """Language switch, mode badge, user and logout: rendered *after* ``st.navigation``.
    Before it, a widget's identity depends on the page the browser asked for (none on a
    fresh load, the default page from then on), so the first click after loading "/" on
    a widget drawn earlier is lost (a logout that needed two clicks)."""
    lang_ = language_switch()
    sidebar(get_settings(), actor(), lang_)


def _init_lang() -> str:
    """A new session (a deep link, a reload, a link opened in a new tab) starts in the
    URL's ``?lang=``."""
    if st.session_state.get(LANG_KEY) not in i18n.LANGS:
        wanted = st.query_params.get(LANG_PARAM)
        st.session_state[LANG_KEY] = wanted if wanted in i18n.LANGS else i18n.DEFAULT_LANG
    global _last_lang
    _last_lang = lang()
    return _last_lang


def language_switch() -> str:
    """The sidebar's 日本語 / English switch (the language a session starts in: _init_lang);
    every run writes the session's language back into the URL, so page switches,
    「選択した受注を編集」 and reloads keep it."""
    _init_lang()
    st.sidebar.radio(
        i18n.t("app.lang"),
        options=list(i18n.LANGS),
        format_func=lambda v: "日本語" if v == "ja" else "English",
        key=LANG_KEY,
        horizontal=True,
    )
    global _last_lang
    _last_lang = lang()
    keep_lang_in_url(_last_lang)
    return _last_lang


def keep_lang_in_url(lang_: str) -> None:
    wanted = lang_params(lang_).get(LANG_PARAM)
    if st.query_params.get(LANG_PARAM) == wanted:
        return
    if wanted is None:
        del st.query_params[LANG_PARAM]
    else:
        st.query_params[LANG_PARAM] = wanted


def startup(lang_: str) -> tuple[Settings, Runtime]:
    try:
        cfg = get_settings()  # a bad or unsafe variable: one line, logged by core.settings
        rt = runtime()
    except ConfigurationError as exc:
        st.error(md_escape(i18n.t("app.startup_failed", lang_, message=exc.message(lang_))))
        st.stop()
    except OperatorError as exc:  # the database or the sandbox cannot start, and says why
        log.exception("startup failed")
        st.error(i18n.t("app.startup_failed", lang_, message=exc.message(lang_)))
        st.stop()
    except Exception as exc:
        st.error(i18n.t("app.startup_failed", lang_, message=failure_ref(exc, "startup failed")))
        st.stop()
    return cfg, rt


def login_gate(cfg: Settings, rt: Runtime, lang_: str) -> Actor:
    mode = cfg.effective_auth_mode
    if mode is AuthMode.NONE:
        st.session_state.pop(ACTOR_KEY, None)
        return OPEN_ACTOR
    if mode is AuthMode.OIDC:
        return _oidc_gate(cfg, rt, lang_)
    return _password_gate(cfg, rt, lang_)


def _recheck_actor(rt: Runtime) -> Actor | None:
    """The session's actor as the database has it now (a demotion shows at once); a
    disabled user's session ends here, with an audit entry, before anything else runs."""
    from core.auth.current import current_actor
    from core.roles import UserDisabled

    who = st.session_state.get(ACTOR_KEY)
    if who is None:
        return None
    try:
        fresh = current_actor(rt.db, who)
    except UserDisabled as exc:
        _end_session(rt, who, exc)
        if _fragment_rerun():
            st.rerun(scope="app")
        return None
    if fresh != who:
        st.session_state[ACTOR_KEY] = fresh
    return fresh


def _end_session(rt: Runtime, who: Actor, exc) -> None:
    from core.operations import audit

    st.session_state.pop(ACTOR_KEY, None)
    st.session_state["auth_revoked"] = True
    audit.record_event(
        rt.db,
        who.name,
        "session_end",
        exc.message("ja"),
        rt.ops.now(),
        outcome="skipped",
        detail={"code": exc.code, "message_en": exc.message("en")},
    )
    log.info("session of %s ended: %s", who.name, exc.code)


def login_client() -> str | None:
    """Who is knocking, for the login throttle: the IP address, else this browser session."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    try:
        ip = st.context.ip_address
    except Exception:  # no request context (AppTest)
        ip = None
    if ip:
        return f"ip:{ip}"
    ctx = get_script_run_ctx()
    return f"session:{ctx.session_id}" if ctx is not None else None


def _password_gate(cfg: Settings, rt: Runtime, lang_: str) -> Actor:
    from core.auth.users import login
    from pages import _session

    _session.redirect_if_asked()  # through the route that sets / clears the login cookie
    if st.session_state.get(ACTOR_KEY) is None and (back := _session.restore(rt.db)):
        st.session_state[ACTOR_KEY] = back  # a reload or a deep link: still logged in
        touch_session()
    who = st.session_state.get(ACTOR_KEY)
    last = st.session_state.get("auth_last_seen", 0.0)
    if who is not None and time.time() - last > cfg.session_timeout_min * 60:
        st.session_state.pop(ACTOR_KEY, None)
        st.session_state["auth_expired"] = True
        who = None
    if who is not None:
        who = _recheck_actor(rt)
    if who is not None:
        touch_session()
        return who
    language_switch()
    st.title(i18n.t("app.title", lang_))
    if st.session_state.pop("auth_expired", False):
        st.warning(i18n.t("login.expired", lang_))
    if st.session_state.pop("auth_revoked", False):
        st.error(i18n.t("login.revoked", lang_))
    with st.form("login_form"):
        st.subheader(i18n.t("login.title", lang_))
        name = st.text_input(i18n.t("login.name", lang_), key="login_name")
        password = st.text_input(
            i18n.t("login.password", lang_), type="password", key="login_password"
        )
        submitted = st.form_submit_button(i18n.t("login.submit", lang_), type="primary")
    if submitted:
        result = login(rt.db, name, password, client=login_client())
        if result.actor is not None:
            st.session_state[ACTOR_KEY] = result.actor
            touch_session()
            _session.remember(rt.db, result.actor)  # the cookie, so a reload stays logged in
            st.rerun()
        ja, en = result.message or ("", "")
        st.error(ja if lang_ == "ja" else en)
    st.stop()


def _oidc_gate(cfg: Settings, rt: Runtime, lang_: str) -> Actor:
    from core.auth.users import actor_for_email

    email = st.user.get("email")  # never st.user.is_logged_in: it raises without [auth]
    if not email:
        language_switch()
        st.title(i18n.t("app.title", lang_))
        if st.button(i18n.t("login.oidc_button", lang_), type="primary"):
            try:
                st.login()
            except Exception:  # [auth] missing in secrets.toml
                st.error(i18n.t("login.oidc_not_configured", lang_))
        st.stop()
    who = actor_for_email(rt.db, cfg, email)  # every run: a disabled or demoted user at once
    if who is None:
        held = st.session_state.get(ACTOR_KEY)
        if held is not None and held.account:
            from core.roles import UserDisabled

            _end_session(rt, held, UserDisabled(name=held.name))
        st.error(md_escape(i18n.t("login.oidc_denied", lang_, email=email)))
        if st.button(i18n.t("app.logout", lang_), key="oidc_denied_logout"):
            st.logout()
        st.stop()
    st.session_state[ACTOR_KEY] = who
    return who


def sidebar(cfg: Settings, who: Actor, lang_: str) -> None:
    mode_key = {Mode.DEMO: "app.mode.demo", Mode.TEST: "app.mode.test", Mode.LIVE: "app.mode.live"}[
        cfg.mode
    ]
    badge = i18n.t("app.mode_badge", lang_, mode=i18n.t(mode_key, lang_))
    if cfg.mode is Mode.LIVE:
        st.sidebar.error(badge, icon=":material/bolt:")
    elif cfg.mode is Mode.TEST:
        st.sidebar.warning(badge, icon=":material/science:")
    else:
        st.sidebar.info(badge, icon=":material/toys:")
    st.sidebar.text(i18n.t("app.user", lang_, name=who.name, role=role_label(who.role)))
    if cfg.effective_auth_mode is AuthMode.NONE:
        st.warning(i18n.t("app.open_banner", lang_), icon=":material/lock_open:")
    elif st.sidebar.button(i18n.t("app.logout", lang_), key="logout"):
        st.session_state.pop(ACTOR_KEY, None)
        if cfg.effective_auth_mode is AuthMode.OIDC:
            st.logout()  # the browser is sent to the provider's logout; no rerun here
            st.stop()
        if cfg.effective_auth_mode is AuthMode.PASSWORD:
            from pages import _session

            _session.forget()  # the login cookie is cleared too
        st.rerun()
