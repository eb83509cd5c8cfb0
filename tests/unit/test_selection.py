"""core.selection: ticks are order numbers of the list they were made on; any other list, a
run, 全て選択 and 全て解除 start a new grid generation (so the browser's stale ticks die)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.selection import Selection, list_signature

LIST = [199, 196, 116, 111, 105, 101, 61]


def test_positions_become_order_numbers_and_back():
    sel, _ = Selection().for_list(list_signature(LIST))
    sel = sel.with_positions([0, 2, 99, -1], LIST)  # out-of-range positions are ignored
    assert sel.chosen == {199, 116}
    assert sel.positions(LIST) == [0, 2]
    assert sel.ordered(LIST) == [199, 116]


def test_a_shrunk_list_is_a_new_list_with_nothing_chosen():
    """The reported bug: after a run the list shrinks and the old positions must not tick
    the rows that moved under them."""
    before, _ = Selection().for_list(list_signature(LIST))
    before = before.with_positions(range(5), LIST)
    after_run = [105, 101, 61]
    sel, dropped = before.for_list(list_signature(after_run))
    assert dropped and sel.chosen == frozenset()
    assert sel.widget_key("g") != before.widget_key("g")  # a fresh grid in the browser
    assert sel.ordered(after_run) == []


def test_the_same_list_keeps_its_selection_and_its_grid():
    sel, _ = Selection().for_list(list_signature(LIST, "open", 1))
    sel = sel.with_positions([1], LIST)
    same, dropped = sel.for_list(list_signature(LIST, "open", 1))
    assert same is sel and not dropped


def test_filters_sort_and_page_name_the_list():
    assert list_signature(LIST, "open", 1) != list_signature(LIST, "open", 2)
    assert list_signature(LIST, "open") != list_signature(LIST, "captured")
    assert list_signature(LIST) != list_signature(list(reversed(LIST)))


def test_initial_choice_for_a_new_list():
    sel, dropped = Selection().for_list(list_signature(LIST), initial=[196, 61])
    assert not dropped and sel.ordered(LIST) == [196, 61]


def test_select_all_and_clear_are_new_grids():
    sel, _ = Selection().for_list(list_signature(LIST))
    everything = sel.select_all(LIST)
    assert everything.ordered(LIST) == LIST
    assert everything.generation == sel.generation + 1
    none = everything.cleared()
    assert none.chosen == frozenset() and none.generation == everything.generation + 1
    assert none.signature == sel.signature  # same list, nothing chosen


lists = st.lists(st.integers(1, 10_000), unique=True, max_size=30)


@given(lists, lists, st.lists(st.integers(-5, 40), max_size=40))
def test_nothing_outside_the_shown_list_is_ever_chosen(first, second, ticks):
    sel, _ = Selection().for_list(list_signature(first))
    sel = sel.with_positions(ticks, first)
    assert sel.chosen <= set(first)
    moved, _ = sel.for_list(list_signature(second))
    if first != second:
        assert moved.chosen == frozenset()
    assert set(moved.ordered(second)) <= set(second)
    assert [second[i] for i in moved.positions(second)] == moved.ordered(second)
