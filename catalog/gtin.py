"""GTIN arithmetic (GS1 General Specifications §7.9): the mod-10 check digit."""

from __future__ import annotations

GTIN_LENGTHS = (8, 12, 13, 14)


def check_digit(body: str) -> int:
    """The check digit for the digits before it: weights 3,1,3,1… from the right."""
    from_right = body[::-1]
    total = 3 * sum(map(int, from_right[0::2])) + sum(map(int, from_right[1::2]))
    return (10 - total % 10) % 10


def is_valid(gtin: str) -> bool:
    return (
        gtin.isascii()
        and gtin.isdigit()
        and len(gtin) in GTIN_LENGTHS
        and check_digit(gtin[:-1]) == int(gtin[-1])
    )


def to_gtin14(gtin: str) -> str:
    """Left-pad a GTIN-8, -12 or -13 to the 14 digits that GS1 Digital Link uses."""
    return gtin.zfill(14)
