"""What the order package tells contracts, which builds call-offs on orders."""

from __future__ import annotations

from blinker import Namespace

signals = Namespace()

order_cancelled = signals.signal(
    "order-cancelled",
    doc="An unpaid order was cancelled: `(session, *, order)`; a call-off gives its quantity "
    "back to the contract it drew down.",
)
sales_contract = signals.signal(
    "sales-contract",
    doc="An order is being paid: `(session, *, order)`, answered with the id of the contract "
    "whose sharing rule splits its sales (a call-off's), or None.",
)
