"""ISO 2859-1 single sampling plans for normal inspection (Tables 1 and 2-A).

Table 2-A runs along diagonals: moving one sample-size code letter down or one AQL step right
moves one cell along the same sequence of acceptance numbers, with the table's two arrows after
the Ac = 0 cell. The diagonal is anchored at code letter A with AQL 6.5 % (Ac 0, Re 1). Only the
percent-nonconforming AQLs (0.010 to 10) are offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

LEVELS = ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")
AQLS = tuple(
    Decimal(v)
    for v in (
        "0.010",
        "0.015",
        "0.025",
        "0.040",
        "0.065",
        "0.10",
        "0.15",
        "0.25",
        "0.40",
        "0.65",
        "1.0",
        "1.5",
        "2.5",
        "4.0",
        "6.5",
        "10",
    )
)
CODE_LETTERS = "ABCDEFGHJKLMNPQR"
SAMPLE_SIZES = (2, 3, 5, 8, 13, 20, 32, 50, 80, 125, 200, 315, 500, 800, 1250, 2000)

# Table 1: upper bound of lot size -> code letters for S-1, S-2, S-3, S-4, I, II, III.
LOT_SIZE_LETTERS = (
    (8, "AAAAAAB"),
    (15, "AAAAABC"),
    (25, "AABBBCD"),
    (50, "ABBCCDE"),
    (90, "BBCCCEF"),
    (150, "BBCDDFG"),
    (280, "BCDEEGH"),
    (500, "BCDEFHJ"),
    (1200, "CCEFGJK"),
    (3200, "CDEGHKL"),
    (10000, "CDFGJLM"),
    (35000, "CDFHKMN"),
    (150000, "DEGJLNP"),
    (500000, "DEGJMPQ"),
    (None, "DEHKNQR"),
)
# Along a diagonal: (Ac, Re), "up" (use the plan above) or "down" (use the plan below).
DIAGONAL = ((0, 1), "up", "down", (1, 2), (2, 3), (3, 4), (5, 6), (7, 8), (10, 11), (14, 15), (21, 22))
ANCHOR = CODE_LETTERS.index("A") + AQLS.index(Decimal("6.5"))


class SamplingError(ValueError):
    pass


@dataclass(frozen=True)
class SamplingPlan:
    lot_size: int
    level: str
    aql: Decimal
    code_letter: str
    plan_letter: str
    sample_size: int
    accept: int
    reject: int
    inspect_all: bool

    def as_dict(self) -> dict:
        return {
            "lot_size": self.lot_size,
            "inspection_level": self.level,
            "aql": str(self.aql),
            "code_letter": self.code_letter,
            "plan_code_letter": self.plan_letter,
            "sample_size": self.sample_size,
            "accept": self.accept,
            "reject": self.reject,
            "inspect_all": self.inspect_all,
        }


def code_letter(lot_size: int, level: str = "II") -> str:
    if lot_size < 2:
        raise SamplingError("a lot to sample has at least 2 units")
    if level not in LEVELS:
        raise SamplingError(f"inspection level is one of {', '.join(LEVELS)}")
    for upper, letters in LOT_SIZE_LETTERS:
        if upper is None or lot_size <= upper:
            return letters[LEVELS.index(level)]
    raise AssertionError("unreachable")


def sampling_plan(lot_size: int, level: str = "II", aql: Decimal | str = "2.5") -> SamplingPlan:
    """Sample size and accept/reject numbers for a lot, an inspection level and an AQL (%)."""
    aql = Decimal(str(aql))
    matching = [value for value in AQLS if value == aql]
    if not matching:
        raise SamplingError(f"AQL is one of {', '.join(str(v) for v in AQLS)} (percent nonconforming)")
    letter = code_letter(lot_size, level)
    column = AQLS.index(matching[0])
    row = CODE_LETTERS.index(letter)
    cell = _cell(row, column)
    while not isinstance(cell, tuple):
        if cell == "down" and row == len(SAMPLE_SIZES) - 1:
            # Below the last code letter there is no plan: take the next one on its diagonal.
            cell = DIAGONAL[3]
            break
        row += -1 if cell == "up" and row > 0 else 1
        cell = _cell(row, column)
    accept, reject = cell
    sample_size = SAMPLE_SIZES[row]
    inspect_all = sample_size >= lot_size
    return SamplingPlan(
        lot_size=lot_size,
        level=level,
        aql=matching[0],
        code_letter=letter,
        plan_letter=CODE_LETTERS[row],
        sample_size=min(sample_size, lot_size),
        accept=accept,
        reject=reject,
        inspect_all=inspect_all,
    )


def _cell(row: int, column: int) -> tuple[int, int] | str:
    position = row + column - ANCHOR
    if position < 0:
        return "down"
    if position >= len(DIAGONAL):
        return "up"
    return DIAGONAL[position]


def accepts(plan: SamplingPlan, nonconforming: int) -> bool:
    return nonconforming <= plan.accept
