"""What catalog tells the domains above it: quality's brand gate and the trace chain.

Each is sent inside the transaction that changed the lot, with `send_required`: when quality or
traceability is not there to answer, the change is refused rather than made without its rule.
"""

from __future__ import annotations

from blinker import Namespace

signals = Namespace()

lot_going_on_sale = signals.signal(
    "lot-going-on-sale",
    doc="A lot is about to go on sale: `(session, *, lot)`; a receiver raises to refuse it.",
)
lots_may_be_unsaleable = signals.signal(
    "lots-may-be-unsaleable",
    doc="A brand's licence or a product's brand changed: `(session, *, lots)`, a Select of the "
    "lots whose brand gate must run again; those that fail it are withdrawn from sale.",
)
lot_commissioned = signals.signal(
    "lot-commissioned",
    doc="A lot was registered: `(session, *, lot, actor_organisation_id)`, for the trace chain.",
)
lot_status_changed = signals.signal(
    "lot-status-changed",
    doc="A lot moved along its lifecycle: `(session, *, lot, status, reason)`, for the trace chain.",
)
