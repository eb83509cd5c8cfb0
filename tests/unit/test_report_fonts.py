"""The text rules of the PDFs (core/reports/fonts.py): what is drawn, how it is cut."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.reports.fonts import ELLIPSIS, GOTHIC, LATIN, MISSING, clean, fit, runs, width, wrap


def test_clean_keeps_markup_and_replaces_controls_and_astral_characters():
    assert clean("<b>山田</b> & <i>x</i>") == "<b>山田</b> & <i>x</i>"
    assert clean("𠮷田\t花子\x07🌸") == f"{MISSING}田 花子 {MISSING}"
    assert clean(None) == "" and clean(1380) == "1380"


def test_only_the_characters_the_cmaps_misread_go_to_helvetica():
    assert runs("注文番号 61 ￥1,380") == [(GOTHIC, "注文番号 61 ￥1,380")]
    assert runs("pay_abc|x~~", GOTHIC) == [
        (GOTHIC, "pay"), (LATIN, "_"), (GOTHIC, "abc"), (LATIN, "|"), (GOTHIC, "x"),
        (LATIN, "~~"),
    ]  # fmt: skip


def test_fit_cuts_with_an_ellipsis_only_when_needed():
    assert fit("山田 花子", GOTHIC, 8, 100) == "山田 花子"
    cut = fit("とても長い商品名のオーガニックコットン今治タオル", GOTHIC, 8, 60)
    assert cut.endswith(ELLIPSIS) and width(cut, GOTHIC, 8) <= 60


@given(st.text(alphabet=st.sampled_from("山田abc_ 1,2ー〒￥"), max_size=60))
def test_fit_never_exceeds_its_room_and_wrap_loses_nothing(text):
    assert width(fit(text, GOTHIC, 9, 50), GOTHIC, 9) <= 50
    lines = wrap(text, GOTHIC, 9, 50)
    assert all(width(line, GOTHIC, 9) <= 50 or len(line) == 1 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_wrap_with_a_line_limit_cuts_the_last_line():
    lines = wrap("あ" * 100, GOTHIC, 10, 50, max_lines=2)
    assert len(lines) == 2 and lines[1].endswith(ELLIPSIS)
