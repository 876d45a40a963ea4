"""Units of quantity, and conversion between those that measure the same thing."""

from __future__ import annotations

from decimal import Decimal

# 斤 (jin) is 500 g by the 1959 State Council unit reform.
MASS_IN_GRAMS = {"g": Decimal(1), "kg": Decimal(1000), "jin": Decimal(500), "t": Decimal(1_000_000)}
VOLUME_IN_MILLILITRES = {"ml": Decimal(1), "l": Decimal(1000)}
COUNTS = {"each", "box"}


def convert(quantity: Decimal, from_unit: str, to_unit: str) -> Decimal | None:
    """The quantity in `to_unit`, or None when the two units measure different things."""
    if from_unit == to_unit:
        return quantity
    for table in (MASS_IN_GRAMS, VOLUME_IN_MILLILITRES):
        if from_unit in table and to_unit in table:
            return quantity * table[from_unit] / table[to_unit]
    return None
