"""AppTest: the language is kept in the URL and in every link the app makes; days left read
as 本日まで / あと1日 / "1 day left"; range errors say smaller for numbers and earlier for
dates; a 20-digit order number is out of range (never an overflow); the search form folds
after a search; 設定's column sets show a new set at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, assert_clean, grid, joined, tick

HUGE = "12345678901234567890"


def fresh(query: dict | None = None) -> AppTest:
    """A new session (a reload or a deep link): the URL's query is there from the start."""
    at = AppTest.from_file(APP, default_timeout=30)
    for k, v in (query or {}).items():
        at.query_params[k] = str(v)
    return at.run()


# ------------------------------------------------------------------------------ language
def test_a_deep_link_in_english_stays_english(app_env):
    no = app_env.order_in_state("captured")
    at = fresh({"lang": "en"})
    assert at.title[0].value == "Dashboard"
    at.query_params["order"] = str(no)
    at.switch_page("pages/order.py").run()
    assert_clean(at)
    assert at.title[0].value == f"Edit order {no}"
    assert at.query_params["lang"] == ["en"] or at.query_params["lang"] == "en"
    back = at.get("page_link")[0].proto
    assert back.query_string == "lang=en"  # ← the list, in English
    at.switch_page("pages/orders.py").run()
    assert at.title[0].value == "Orders" and dict(at.query_params).get("lang") in ("en", ["en"])


def test_links_the_app_makes_carry_the_language(app_env):
    at = app_env.app("pages/orders.py", lang="en")
    view = grid(at, "orders_grid").value
    assert all(u.startswith("/order?order=") and u.endswith("&lang=en") for u in view["edit"])
    assert all("&mail=1&lang=en" in u for u in view["mail"])
    tick(at, "orders_grid", [0])
    at.button(key="orders_open_selected").click().run()  # 「選択した受注を編集」
    assert_clean(at)
    assert at.title[0].value.startswith("Edit order")
    assert dict(at.query_params).get("lang") in ("en", ["en"])
    ja = app_env.app("pages/orders.py")  # Japanese: plain links, no lang in the URL
    assert all("lang=" not in u for u in grid(ja, "orders_grid").value["edit"])
    assert "lang" not in dict(ja.query_params)


def test_switching_back_to_japanese_drops_it_and_nonsense_is_japanese(app_env):
    at = fresh({"lang": "en"})
    at.sidebar.radio(key="ui_lang").set_value("ja").run()
    assert at.title[0].value == "ダッシュボード" and "lang" not in dict(at.query_params)
    at = fresh({"lang": "fr"})
    assert at.title[0].value == "ダッシュボード" and "lang" not in dict(at.query_params)


# ------------------------------------------------------------------------------ days left
NOW = datetime(2026, 1, 1, 14, 0, tzinfo=UTC)  # 23:00 JST


@pytest.mark.parametrize(
    ("hours", "ja", "en"),
    [
        (0.5, "本日まで(残り約1時間)", "today (1 hour left)"),
        (2, "あと1日(残り約2時間)", "1 day left (2 hours left)"),
        (24.5, "あと1日", "1 day left"),
        (50, "あと3日", "3 days left"),
        (-1, "期限切れ(本日)", "expired today"),
        (-26, "期限切れ(1日経過)", "expired 1 day ago"),
        (-72, "期限切れ(3日経過)", "expired 3 days ago"),
    ],
)
def test_days_left_read_as_people_say_them(hours, ja, en):
    from pages import _ui

    for lang, want in (("ja", ja), ("en", en)):
        _ui._last_lang = lang
        assert _ui.days_text(NOW + timedelta(hours=hours), NOW) == want
        assert "1 days" not in _ui.days_text(NOW + timedelta(hours=hours), NOW)
    _ui._last_lang = "ja"


# ------------------------------------------------------------------------------ numbers
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_20_digit_order_number_in_the_url_is_out_of_range(app_env, lang):
    at = app_env.app("pages/order.py", lang=lang, query={"order": HUGE})
    assert_clean(at)
    errors = [e.value for e in at.error]
    assert any(("範囲外" if lang == "ja" else "out of range") in e for e in errors), errors
    at.text_input(key="order_pick_no").input("９" * 20)
    at.button(key="order_pick_go").click().run()
    assert_clean(at)
    assert any(("範囲外" if lang == "ja" else "out of range") in e.value for e in at.error)


def test_search_ranges_say_smaller_for_numbers_and_earlier_for_dates(app_env):
    at = app_env.app("pages/orders.py")
    at.text_input(key="of_amount_min").input("5000")
    at.text_input(key="of_amount_max").input("1000")
    next(b for b in at.button if b.label == "この条件で検索する").click().run()
    assert_clean(at)
    assert any("購入金額(上限)が購入金額(下限)より小さくなっています" in e.value for e in at.error)
    at.text_input(key="of_amount_max").input("")
    at.text_input(key="of_order_no").input(HUGE)
    next(b for b in at.button if b.label == "この条件で検索する").click().run()
    assert_clean(at)
    assert any("注文番号が範囲外です" in e.value for e in at.error), [e.value for e in at.error]


def test_the_audit_filter_refuses_a_20_digit_order_number(app_env):
    at = app_env.app("pages/audit.py", lang="en")
    at.text_input(key="audit_order_no").input(HUGE).run()
    assert_clean(at)
    assert any("out of range" in e.value for e in at.error)


# ------------------------------------------------------------------------------ layout
def test_the_search_form_folds_after_a_search(app_env):
    at = app_env.app("pages/orders.py")
    form = next(e for e in at.expander if e.label == "検索条件設定")
    assert form.proto.expanded
    at.text_input(key="of_order_no").input("7")
    next(b for b in at.button if b.label == "この条件で検索する").click().run()
    assert_clean(at)
    assert "1件が該当しました。" in joined(at)
    assert at.session_state["orders_search_open"] is False
    assert any("scrollIntoView" in h.proto.body for h in at.get("html"))  # results in view
    at.run()  # the next run does not scroll again
    assert not any("scrollIntoView" in h.proto.body for h in at.get("html"))


def test_the_paidy_panel_comes_before_the_order_tables(app_env):
    no = app_env.order_in_state("captured")
    at = app_env.app("pages/order.py", query={"order": no})
    heads = [h.value for h in at.subheader]
    assert heads.index("▼Paidy 決済情報") < heads.index("▼受注情報") < heads.index("▼顧客情報")


def test_a_saved_column_set_is_listed_at_once(app_env):
    at = app_env.app("pages/settings.py")
    at.text_input(key="settings_set_name").input("経理用")
    at.multiselect(key="settings_set_cols").set_value(["order_no", "total"])
    next(b for b in at.button if b.label == "保存").click().run()
    assert_clean(at)
    sets = next(df.value for df in at.dataframe if "columns" in df.value.columns)
    assert "経理用" in list(sets["name"])
    assert "出力項目設定「経理用」を保存しました。" in [s.value for s in at.success]
    assert "経理用" in at.selectbox(key="settings_set_delete_pick").options
