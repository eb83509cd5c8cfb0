"""Demo data: realistic Japanese orders, their Paidy payments in the sandbox, and our snapshots.

:func:`generate_orders` is pure and deterministic for (n, seed, now): orders spread evenly
over the 60 days before ``now`` (order numbers rise with time), 4 in 5 paid with Paidy. The
Paidy state of each payment follows its age and a fixed pattern per age band, so every row
of the rule table shows up even in 200 orders: open (some expiring within 3 and within 7
days), expired, captured, partially refunded, fully refunded, closed without capture, and a
few rejected. A few orders differ from their Paidy amount so both of the guide's warnings
appear (edited before capture; changed after capture; a refund not yet reflected in the
order). A handful of customer strings are hostile but realistic (emoji, 𠮷, a leading ``=``,
a phone starting with ``+``, a note with markup).

:func:`seed_demo` inserts in chunks (Core executemany), creates the payments in the sandbox
through ``POST /_sandbox/payments/bulk`` with ids we choose, and writes the matching
``paidy_payments`` rows without reading anything back. :func:`seed_demo_if_empty` does it
once, under a cross-process lock, only when there are no orders yet.

Modules: :mod:`.catalogue` (names, places, products, state patterns), :mod:`.customers`
(customers, baskets, shipping), :mod:`.payments` and :mod:`.orders` (generation),
:mod:`.rows` (the one builder of payment rows: the sandbox's spec and ours, used by the
demo and bench/), :mod:`.sandbox_control` (the sandbox's bulk endpoint), :mod:`.seed`
(seeding entry points).
"""

from core.storage.demo.catalogue import REMOTE
from core.storage.demo.customers import shipping_fee
from core.storage.demo.orders import DemoOrder, generate_orders
from core.storage.demo.payments import DemoPayment, payment_id
from core.storage.demo.rows import item_rows, payment_rows, payment_spec, snapshot_row
from core.storage.demo.sandbox_control import DemoError, SandboxControl
from core.storage.demo.seed import DemoReport, seed_demo, seed_demo_if_empty

__all__ = [
    "REMOTE",
    "DemoError",
    "DemoOrder",
    "DemoPayment",
    "DemoReport",
    "SandboxControl",
    "generate_orders",
    "item_rows",
    "payment_id",
    "payment_rows",
    "payment_spec",
    "seed_demo",
    "seed_demo_if_empty",
    "shipping_fee",
    "snapshot_row",
]
