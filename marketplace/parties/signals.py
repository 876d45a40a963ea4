"""What parties tells the domains above it."""

from __future__ import annotations

from blinker import Namespace

signals = Namespace()

village_left = signals.signal(
    "village-left",
    doc="A grower no longer works in a village: `(session, *, organisation_id, village_id)`; its "
    "lots from there may no longer carry their brand, and the brand gate must run on them again.",
)
