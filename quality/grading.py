"""The grading engine: a pure function of (standard definition, inspection sample).

A definition is plain data (see quality/standards/*.json). Every number is handled as a Decimal
so that the same input always gives the same grade and the same explanation, byte for byte.
Criteria are monotone by construction (validate_definition enforces it): a bound on a
"lower is better" measurement is a maximum, tolerances count the worst categories only, so
improving any measurement can never lower a grade.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

HUNDRED = Decimal(100)

# unit -> (dimension, factor to the dimension's base unit)
UNITS: dict[str, tuple[str, Decimal]] = {
    "mm": ("length", Decimal(1)),
    "cm": ("length", Decimal(10)),
    "m": ("length", Decimal(1000)),
    "mg": ("mass", Decimal("0.001")),
    "g": ("mass", Decimal(1)),
    "kg": ("mass", Decimal(1000)),
    "jin": ("mass", Decimal(500)),
    "t": ("mass", Decimal(1_000_000)),
    "%": ("fraction", Decimal(1)),
    "g/100g": ("fraction", Decimal(1)),
    "‰": ("fraction", Decimal("0.1")),
    "mg/100g": ("content", Decimal(1)),
    "mg/kg": ("content", Decimal("0.1")),
    "day": ("time", Decimal(1)),
    "week": ("time", Decimal(7)),
    "score": ("score", Decimal(1)),
    "°Brix": ("brix", Decimal(1)),
}
CRITERION_KINDS = ("measure", "tolerance", "lab", "sensory")
LAB_RULES = ("enzyme_inhibition", "pass_fail")


class DefinitionError(ValueError):
    """A standard that cannot be graded with: carries field path -> messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{path}: {', '.join(msgs)}" for path, msgs in errors.items()))
        self.errors = errors


class UnitMismatch(ValueError):
    pass


def number(value) -> Decimal:
    """A Decimal from JSON (str, int or float); floats go through str so 6.5 stays 6.5."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    try:
        result = Decimal(str(value))
    except (InvalidOperation, TypeError) as error:
        raise ValueError(f"{value!r} is not a number") from error
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return result


def convert(value: Decimal, from_unit: str, to_unit: str) -> Decimal:
    if from_unit == to_unit:
        return value
    try:
        from_dimension, from_factor = UNITS[from_unit]
        to_dimension, to_factor = UNITS[to_unit]
    except KeyError as error:
        raise UnitMismatch(f"unknown unit {error.args[0]!r}") from None
    if from_dimension != to_dimension:
        raise UnitMismatch(f"{from_unit} cannot be compared with {to_unit}")
    return value * from_factor / to_factor


def fmt(value: Decimal) -> str:
    """A stable text form: at most 3 decimals, no exponent, no trailing zeros."""
    quantised = value.quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN).normalize()
    text = format(quantised, "f")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class CriterionResult:
    kind: str
    label: str
    holds: bool
    required: str
    observed: str
    shortfall: str | None = None
    within: tuple[CriterionResult, ...] = ()

    def as_dict(self) -> dict:
        out = {
            "kind": self.kind,
            "label": self.label,
            "holds": self.holds,
            "required": self.required,
            "observed": self.observed,
            "shortfall": self.shortfall,
        }
        if self.within:
            out["within"] = [item.as_dict() for item in self.within]
        return out


@dataclass(frozen=True)
class GradeCheck:
    code: str
    rank: int
    holds: bool
    criteria: tuple[CriterionResult, ...]

    def as_dict(self) -> dict:
        return {
            "grade": self.code,
            "rank": self.rank,
            "holds": self.holds,
            "criteria": [criterion.as_dict() for criterion in self.criteria],
        }


@dataclass(frozen=True)
class Verdict:
    """The grade (None when rejected) and why: every grade from the best down to it."""

    grade: str | None
    rank: int | None
    checks: tuple[GradeCheck, ...] = field(default_factory=tuple)
    residue: str = "not_required"

    @property
    def rejected(self) -> bool:
        return self.grade is None

    def explanation(self) -> list[dict]:
        return [check.as_dict() for check in self.checks]

    def summary(self) -> str:
        if self.grade is None:
            failed = (
                [f"{c.label} ({c.shortfall or c.observed})" for c in self.checks[-1].criteria if not c.holds]
                if self.checks
                else []
            )
            return "rejected: the lowest grade fails on " + "; ".join(failed)
        if self.residue not in ("negative", "not_required"):
            return (
                f"graded {self.grade}; residue test {self.residue}: not to be sold or certified "
                "until it is negative"
            )
        return f"graded {self.grade}"


def grade(definition: dict, sample: dict) -> Verdict:
    """The best grade whose criteria all hold, or a rejection, explained criterion by criterion."""
    checks = []
    for rank, grade_definition in enumerate(definition["grades"], start=1):
        criteria = [*definition.get("requirements", []), *grade_definition["criteria"]]
        results = tuple(_evaluate(definition, criterion, sample) for criterion in criteria)
        check = GradeCheck(
            code=grade_definition["code"],
            rank=rank,
            holds=all(result.holds for result in results),
            criteria=results,
        )
        checks.append(check)
        if check.holds:
            return Verdict(
                grade=check.code, rank=rank, checks=tuple(checks), residue=residue_status(definition, sample)
            )
    return Verdict(grade=None, rank=None, checks=tuple(checks), residue=residue_status(definition, sample))


def residue_status(definition: dict, sample: dict) -> str:
    """negative, positive, unconfirmed (a positive awaiting its retests), missing or not_required."""
    test = definition.get("residue_test")
    if not test:
        return "not_required"
    return _lab_outcome(definition["lab_tests"][test], (sample.get("lab_results") or {}).get(test))[0]


def _evaluate(definition: dict, criterion: dict, sample: dict) -> CriterionResult:
    kind = criterion["kind"]
    if kind == "measure":
        return _measure(definition, criterion, sample)
    if kind == "tolerance":
        return _tolerance(definition, criterion, sample)
    if kind == "lab":
        return _lab(definition, criterion, sample)
    return _sensory(definition, criterion, sample)


def _measure(definition: dict, criterion: dict, sample: dict) -> CriterionResult:
    key = criterion["measurement"]
    spec = definition["measurements"][key]
    unit = criterion.get("unit", spec["unit"])
    aggregate = criterion.get("aggregate", "mean")
    bound_name = "max" if "max" in criterion else "min"
    bound = number(criterion[bound_name])
    sign = "≤" if bound_name == "max" else "≥"
    label = f"{spec.get('label_zh', key)} {key}"
    required = f"{'every unit' if aggregate == 'each' else 'mean'} {sign} {fmt(bound)} {unit}"
    observed_data = (sample.get("measurements") or {}).get(key)
    if not observed_data or not observed_data.get("values"):
        if criterion.get("optional"):
            return CriterionResult("measure", label, True, required + ", when measured", "not measured")
        return CriterionResult("measure", label, False, required, "not measured", "not measured")
    try:
        values = [convert(number(v), observed_data.get("unit", unit), unit) for v in observed_data["values"]]
    except (UnitMismatch, ValueError) as error:
        return CriterionResult("measure", label, False, required, str(error), "unit mismatch")
    if aggregate == "each":
        value = max(values) if bound_name == "max" else min(values)
        observed = f"{'worst unit' if len(values) > 1 else 'value'} {fmt(value)} {unit}"
    else:
        value = sum(values, Decimal(0)) / len(values)
        observed = f"mean {fmt(value)} {unit} of {len(values)}"
    gap = value - bound if bound_name == "max" else bound - value
    holds = gap <= 0
    shortfall = None if holds else f"{fmt(gap)} {unit} {'over' if bound_name == 'max' else 'under'}"
    return CriterionResult("measure", label, holds, required, observed, shortfall)


def _tolerance(definition: dict, criterion: dict, sample: dict) -> CriterionResult:
    classes = sample.get("unit_classes") or {}
    counts = classes.get("counts") or {}
    basis = classes.get("basis", "count")
    allowed_bases = criterion.get("basis", definition.get("tolerance_basis", ["count", "weight"]))
    label = criterion.get("label", "tolerance")
    limit = number(criterion["max_percent"])
    required = f"≤ {fmt(limit)} % by {' or '.join(allowed_bases)} in {'/'.join(criterion['of'])}"
    within = tuple(
        _tolerance(definition, {**inner, "basis": allowed_bases}, sample)
        for inner in criterion.get("within", [])
    )
    unknown = sorted(set(counts) - set(definition.get("unit_categories") or []))
    if unknown:
        return CriterionResult(
            "tolerance",
            label,
            False,
            required,
            f"unknown unit categories {', '.join(unknown)}",
            f"classify units as {', '.join(definition['unit_categories'])}",
            within,
        )
    total = sum((number(v) for v in counts.values()), Decimal(0))
    if total <= 0:
        return CriterionResult(
            "tolerance", label, False, required, "no units classified", "not inspected", within
        )
    if basis not in allowed_bases:
        return CriterionResult(
            "tolerance",
            label,
            False,
            required,
            f"classified by {basis}",
            f"needs a classification by {' or '.join(allowed_bases)}",
            within,
        )
    share = sum((number(counts.get(name, 0)) for name in criterion["of"]), Decimal(0)) / total * HUNDRED
    holds = share <= limit and all(inner.holds for inner in within)
    shortfall = None
    if share > limit:
        shortfall = f"{fmt(share - limit)} percentage points over"
    elif not holds:
        shortfall = "a nested tolerance is exceeded"
    return CriterionResult(
        "tolerance", label, holds, required, f"{fmt(share)} % of {fmt(total)} by {basis}", shortfall, within
    )


def _lab_outcome(test: dict, result: dict | None) -> tuple[str, str]:
    if not result:
        return "missing", "no result"
    if test["rule"] == "pass_fail":
        if not isinstance(result.get("passed"), bool):
            return "missing", "no pass or fail recorded"
        passed = result["passed"]
        return ("negative" if passed else "positive"), ("passed" if passed else "failed")
    if result.get("inhibition_percent") is None:
        return "missing", "no inhibition rate recorded"
    threshold = number(test.get("threshold_percent", 50))
    confirmations = int(test.get("confirmations", 2))
    first = number(result["inhibition_percent"])
    if first < threshold:
        return "negative", f"inhibition {fmt(first)} % < {fmt(threshold)} %"
    retests = [number(value) for value in result.get("retests", [])]
    confirming = sum(1 for value in retests if value >= threshold)
    if confirming >= confirmations:
        return "positive", (
            f"inhibition {fmt(first)} %, confirmed by {confirming} retests "
            f"({', '.join(fmt(v) for v in retests)} %)"
        )
    if len(retests) >= confirmations or len(retests) - confirming > 0:
        return "negative", (
            f"inhibition {fmt(first)} % not confirmed by retests ({', '.join(fmt(v) for v in retests)} %)"
        )
    return "unconfirmed", (
        f"inhibition {fmt(first)} % ≥ {fmt(threshold)} %, "
        f"{len(retests)} of {confirmations} confirming retests done"
    )


def _lab(definition: dict, criterion: dict, sample: dict) -> CriterionResult:
    name = criterion["test"]
    test = definition["lab_tests"][name]
    outcome, observed = _lab_outcome(test, (sample.get("lab_results") or {}).get(name))
    must_be = criterion.get("must_be", "negative")
    if test["rule"] == "enzyme_inhibition":
        required = (
            f"{must_be.replace('_', ' ')}: inhibition < "
            f"{fmt(number(test.get('threshold_percent', 50)))} %, a positive counts when "
            f"{test.get('confirmations', 2)} retests confirm it"
        )
    else:
        required = "pass" if must_be == "negative" else "not failed"
    # not_positive: only a confirmed positive fails the grade; a missing or unconfirmed result
    # leaves the grade standing and is reported as the residue status, which gates sale.
    holds = outcome == "negative" or (must_be == "not_positive" and outcome != "positive")
    shortfall = (
        None
        if holds
        else {"missing": "not tested", "positive": "positive", "unconfirmed": "retests needed"}[outcome]
    )
    return CriterionResult(
        "lab", test.get("label_zh", name) + f" {name}", holds, required, observed, shortfall
    )


def _sensory(definition: dict, criterion: dict, sample: dict) -> CriterionResult:
    weights = definition["sensory"]["factors"]
    scores = sample.get("sensory") or {}
    factor = criterion.get("factor")
    bound = number(criterion["min"])
    if factor:
        label = f"{weights[factor].get('label_zh', factor)} {factor}"
        required = f"score ≥ {fmt(bound)}"
        if factor not in scores:
            return CriterionResult("sensory", label, False, required, "not scored", "not scored")
        value = number(scores[factor])
    else:
        label = "感官总分 weighted sensory total"
        required = f"weighted total ≥ {fmt(bound)}"
        missing = sorted(set(weights) - set(scores))
        if missing:
            return CriterionResult(
                "sensory", label, False, required, f"missing {', '.join(missing)}", "not scored"
            )
        value = sum(
            (number(scores[name]) * number(spec["weight"]) / HUNDRED for name, spec in weights.items()),
            Decimal(0),
        )
    gap = bound - value
    return CriterionResult(
        "sensory", label, gap <= 0, required, fmt(value), None if gap <= 0 else f"{fmt(gap)} points under"
    )


def validate_definition(definition: dict) -> None:
    """Refuse a standard the engine could not grade with, or one that is not monotone."""
    errors: dict[str, list[str]] = {}

    def error(path: str, message: str) -> None:
        errors.setdefault(path, []).append(message)

    measurements = definition.get("measurements") or {}
    lab_tests = definition.get("lab_tests") or {}
    categories = definition.get("unit_categories") or []
    factors = (definition.get("sensory") or {}).get("factors") or {}
    for key, spec in measurements.items():
        if spec.get("unit") not in UNITS:
            error(f"measurements.{key}.unit", f"unknown unit; use one of {', '.join(UNITS)}")
        if spec.get("better") not in ("lower", "higher"):
            error(f"measurements.{key}.better", "say whether lower or higher is better")
    for key, test in lab_tests.items():
        if test.get("rule") not in LAB_RULES:
            error(f"lab_tests.{key}.rule", f"one of {', '.join(LAB_RULES)}")
    if factors and sum(number(spec.get("weight", 0)) for spec in factors.values()) != HUNDRED:
        error("sensory.factors", "weights must add up to 100")
    residue = definition.get("residue_test")
    if residue is not None and residue not in lab_tests:
        error("residue_test", "names no lab test of this standard")
    grades = definition.get("grades") or []
    if not grades:
        error("grades", "a standard needs at least one grade")
    codes = [g.get("code") for g in grades]
    if len(set(codes)) != len(codes) or not all(isinstance(c, str) and c for c in codes):
        error("grades", "grade codes must be distinct, non-empty strings")

    def check(path: str, criterion: dict) -> None:
        kind = criterion.get("kind")
        if kind not in CRITERION_KINDS:
            error(path, f"kind must be one of {', '.join(CRITERION_KINDS)}")
            return
        try:
            if kind == "measure":
                spec = measurements.get(criterion.get("measurement"))
                if spec is None:
                    error(path, "measures nothing this standard declares")
                    return
                if ("max" in criterion) == ("min" in criterion):
                    error(path, "give exactly one of max or min")
                    return
                expected = "max" if spec.get("better") == "lower" else "min"
                if expected not in criterion:
                    error(
                        path,
                        f"{criterion['measurement']} is better {spec.get('better')}: "
                        f"bound it with {expected}",
                    )
                number(criterion[expected])
                convert(Decimal(1), criterion.get("unit", spec["unit"]), spec["unit"])
                if criterion.get("aggregate", "mean") not in ("mean", "each"):
                    error(path, "aggregate is mean or each")
            elif kind == "tolerance":
                of = criterion.get("of") or []
                if not categories or of != categories[len(categories) - len(of) :] or not of:
                    error(path, "`of` must be the worst unit categories, a tail of unit_categories")
                number(criterion["max_percent"])
                for index, inner in enumerate(criterion.get("within", [])):
                    if not set(inner.get("of") or []) <= set(of):
                        error(f"{path}.within.{index}", "a nested tolerance counts a subset")
                    check(f"{path}.within.{index}", {"kind": "tolerance", **inner})
            elif kind == "lab":
                if criterion.get("test") not in lab_tests:
                    error(path, "names no lab test of this standard")
                if criterion.get("must_be", "negative") not in ("negative", "not_positive"):
                    error(path, "must_be is negative or not_positive")
            elif kind == "sensory":
                if not factors or (criterion.get("factor") and criterion["factor"] not in factors):
                    error(path, "names no sensory factor of this standard")
                number(criterion["min"])
        except (KeyError, ValueError, UnitMismatch) as problem:
            error(path, f"invalid: {problem}")

    for index, criterion in enumerate(definition.get("requirements") or []):
        check(f"requirements.{index}", criterion)
    for g_index, grade_definition in enumerate(grades):
        for index, criterion in enumerate(grade_definition.get("criteria") or []):
            check(f"grades.{g_index}.criteria.{index}", criterion)
    if errors:
        raise DefinitionError(errors)
