"""Ticked rows as a set of order numbers, never as row positions (pure; no Streamlit).

Why: a grid widget (``st.dataframe`` with ``on_select``) reports ticks as *positions* in the
frame it was given, and both the browser and the server keep those positions when the frame
under them changes (a filter, a sort, another page, a finished batch job that shrinks the
list). Left alone, the ticks then cover orders nobody chose, and a second 実行 runs them.

The rule kept here, for every grid with ticks:

* the selection is a set of order numbers, read from the positions of *the list the operator
  saw* and mapped back to positions only for that same list;
* the list is named by a **signature** (its order numbers, in order, plus whatever else
  defines it: filters, sort, page); a different signature is a different list, and its
  selection starts empty (or with an explicit ``initial`` choice, e.g. orders sent from
  another screen);
* every fresh selection gets a new **generation**; the page keys its grid widget with it
  (:meth:`Selection.widget_key`), so the browser builds a new grid with no stale ticks, and a
  tick still in flight from the old grid lands on a widget that no longer exists (ignored)
  instead of on whatever row now sits at that position;
* after a run (or any action over the selection) the page calls :meth:`Selection.cleared`.

``pages/_selection.py`` is the one page helper that applies this to ``st.dataframe``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace


def list_signature(order_nos: Sequence[int], *context: object) -> str:
    """A short fingerprint of a shown list: its order numbers in order, plus ``context``
    (filters, sort, page ...). Equal signatures mean the same rows at the same positions."""
    raw = json.dumps([[int(n) for n in order_nos], list(context)], default=str, sort_keys=True)
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Selection:
    """The chosen order numbers of one grid, for the list named by ``signature``."""

    signature: str = ""
    generation: int = 0
    chosen: frozenset[int] = field(default_factory=frozenset)

    # -- the list under the selection ------------------------------------------------------
    def for_list(self, signature: str, initial: Iterable[int] = ()) -> tuple[Selection, bool]:
        """This selection if ``signature`` is its list; else a fresh one (``initial`` chosen)
        under a new generation. The flag says whether chosen numbers were dropped."""
        if signature == self.signature:
            return self, False
        fresh = Selection(signature, self.generation + 1, frozenset(int(n) for n in initial))
        return fresh, bool(self.chosen)

    def widget_key(self, base: str) -> str:
        """The grid widget's key: a new generation is a new widget (no stale ticks)."""
        return f"{base}__g{self.generation}"

    # -- positions <-> order numbers (of the same list) -----------------------------------
    def with_positions(self, positions: Iterable[int], order_nos: Sequence[int]) -> Selection:
        """The chosen numbers are those at ``positions`` of the list (out-of-range ignored)."""
        n = len(order_nos)
        chosen = frozenset(int(order_nos[i]) for i in positions if 0 <= int(i) < n)
        return replace(self, chosen=chosen)

    def positions(self, order_nos: Sequence[int]) -> list[int]:
        """Where the chosen numbers sit in the list (for the grid's default ticks)."""
        return [i for i, no in enumerate(order_nos) if int(no) in self.chosen]

    def ordered(self, order_nos: Sequence[int]) -> list[int]:
        """The chosen numbers in the list's order (numbers not in the list are left out)."""
        return [int(no) for no in order_nos if int(no) in self.chosen]

    # -- explicit changes: each one is a new grid -----------------------------------------
    def select_all(self, order_nos: Sequence[int]) -> Selection:
        """全て選択: every row of the list."""
        return replace(
            self, generation=self.generation + 1, chosen=frozenset(int(n) for n in order_nos)
        )

    def cleared(self) -> Selection:
        """全て解除, and after every run: nothing chosen."""
        return replace(self, generation=self.generation + 1, chosen=frozenset())
