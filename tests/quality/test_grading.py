"""The grading engine on its own: no database, no HTTP."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quality.grading import DefinitionError, grade, validate_definition
from quality.standards import shipped_standards

STANDARDS = {standard["code"]: standard for standard in shipped_standards()}
EXAMPLES = [
    (code, example["name"]) for code, standard in STANDARDS.items() for example in standard["examples"]
]


def example(code: str, name: str) -> dict:
    return copy.deepcopy(next(e for e in STANDARDS[code]["examples"] if e["name"] == name))


def criterion(verdict, grade_code: str, label_part: str) -> dict:
    check = next(c for c in verdict.explanation() if c["grade"] == grade_code)
    return next(c for c in check["criteria"] if label_part in c["label"])


def test_the_region_ships_tea_celery_fruit_and_poultry_standards_that_cite_their_sources():
    assert {s["category"] for s in STANDARDS.values()} == {"tea", "vegetables", "fruit", "poultry"}
    for standard in STANDARDS.values():
        validate_definition(standard)
        assert standard["source"] and standard["notes"]
        assert any(
            "not confirmed" in note.lower() or "confirmed" in note.lower() for note in standard["notes"]
        )


def test_west_lake_longjing_has_the_six_grades_of_gb_t_18650_and_caps_moisture_at_6_5_percent():
    longjing = STANDARDS["GB/T 18650"]
    assert [g["code"] for g in longjing["grades"]] == ["特级", "一级", "二级", "三级", "四级", "五级"]
    assert {"kind": "measure", "measurement": "moisture", "max": "6.5", "unit": "%"} in longjing[
        "requirements"
    ]


@pytest.mark.parametrize(("code", "name"), EXAMPLES)
def test_each_shipped_standard_grades_its_own_worked_examples_as_written(code, name):
    worked = example(code, name)
    assert grade(STANDARDS[code], worked["sample"]).grade == worked["expected_grade"]


def test_a_grade_explains_every_better_grade_criterion_by_criterion():
    verdict = grade(STANDARDS["GB/T 18650"], example("GB/T 18650", "雨前 everyday tea")["sample"])
    assert verdict.grade == "二级" and verdict.rank == 3
    assert [check["grade"] for check in verdict.explanation()] == ["特级", "一级", "二级"]
    total = criterion(verdict, "特级", "sensory total")
    assert total == {
        "kind": "sensory",
        "label": "感官总分 weighted sensory total",
        "holds": False,
        "required": "weighted total ≥ 92",
        "observed": "84.75",
        "shortfall": "7.25 points under",
    }
    assert criterion(verdict, "一级", "sensory total")["shortfall"] == "3.25 points under"
    assert criterion(verdict, "特级", "moisture")["holds"] is True
    assert all(c["holds"] for c in verdict.explanation()[-1]["criteria"])


def test_a_rejection_says_by_how_much_each_grade_failed():
    verdict = grade(
        STANDARDS["GB/T 18650"], example("GB/T 18650", "good leaf stored damp: moisture 7.1 %")["sample"]
    )
    assert verdict.rejected and len(verdict.explanation()) == 6
    moisture = criterion(verdict, "五级", "moisture")
    assert moisture["observed"] == "mean 7.1 % of 1" and moisture["shortfall"] == "0.6 % over"
    assert "水分 moisture (0.6 % over)" in verdict.summary()


def test_nested_tolerances_are_explained_at_both_levels():
    verdict = grade(
        STANDARDS["UNECE FFV-29"], example("UNECE FFV-29", "Class II: 3 decayed in 100")["sample"]
    )
    class_ii = criterion(verdict, "II", "Class II")
    assert class_ii["observed"] == "10 % of 100 by count" and class_ii["holds"] is False
    assert class_ii["shortfall"] == "a nested tolerance is exceeded"
    assert class_ii["within"][0]["observed"] == "3 % of 100 by count"
    assert class_ii["within"][0]["shortfall"] == "1 percentage points over"


def test_poultry_tolerances_count_carcasses_not_weight():
    sample = example("SH/QC 003", "进化飞鸡, 180 days in the hills")["sample"]
    sample["unit_classes"]["basis"] = "weight"
    verdict = grade(STANDARDS["SH/QC 003"], sample)
    assert verdict.rejected
    assert criterion(verdict, "一级", "一级")["shortfall"] == "needs a classification by count"


def test_measurements_in_other_units_of_the_same_dimension_are_converted():
    plum = STANDARDS["UNECE FFV-29"]
    sample = example("UNECE FFV-29", "hand-picked Shoumei, June")["sample"]
    sample["measurements"]["diameter"] = {"unit": "cm", "values": ["3.1", "2.95"]}
    assert grade(plum, sample).grade == "Extra"
    sample["measurements"]["diameter"] = {"unit": "cm", "values": ["2.7"]}
    verdict = grade(plum, sample)
    assert verdict.grade == "I"
    assert criterion(verdict, "Extra", "diameter")["shortfall"] == "1 mm under"


def test_a_measurement_in_a_unit_of_another_dimension_never_passes():
    sample = example("UNECE FFV-29", "hand-picked Shoumei, June")["sample"]
    sample["measurements"]["diameter"] = {"unit": "kg", "values": ["30"]}
    verdict = grade(STANDARDS["UNECE FFV-29"], sample)
    assert verdict.rejected
    diameter = criterion(verdict, "Extra", "diameter")
    assert (
        diameter["shortfall"] == "unit mismatch" and "kg cannot be compared with mm" in diameter["observed"]
    )


def test_weeks_of_free_range_count_as_seven_days_each():
    verdict = grade(STANDARDS["SH/QC 003"], example("SH/QC 003", "raised 18 weeks")["sample"])
    assert verdict.grade == "二级"
    assert criterion(verdict, "一级", "free_range_days")["observed"] == "value 126 day"


@pytest.mark.parametrize(
    ("inhibition", "retests", "outcome"),
    [
        ("49.9", [], "negative"),
        ("50", [], "unconfirmed"),
        ("72", ["66"], "unconfirmed"),
        ("72", ["66", "58"], "positive"),
        ("72", ["66", "31"], "negative"),
        ("72", ["12"], "negative"),
    ],
)
def test_a_rapid_residue_positive_counts_only_when_two_retests_confirm_it(inhibition, retests, outcome):
    sample = example("NY/T 1729", "益农 autumn celery, well trimmed")["sample"]
    sample["lab_results"]["pesticide_residue_enzyme"] = {"inhibition_percent": inhibition, "retests": retests}
    verdict = grade(STANDARDS["NY/T 1729"], sample)
    assert verdict.residue == outcome
    assert verdict.rejected is (outcome == "positive")


def test_a_grade_without_a_negative_residue_result_stands_but_says_it_cannot_be_sold_yet():
    sample = example("GB/T 18650", "明前狮峰 pre-Qingming, hand-roasted")["sample"]
    del sample["lab_results"]["pesticide_residue_enzyme"]
    verdict = grade(STANDARDS["GB/T 18650"], sample)
    assert (verdict.grade, verdict.residue) == ("特级", "missing")
    assert criterion(verdict, "特级", "pesticide")["observed"] == "no result"
    assert verdict.summary() == (
        "graded 特级; residue test missing: not to be sold or certified until it is negative"
    )


def test_a_standard_may_demand_a_negative_lab_result_for_a_grade():
    definition = copy.deepcopy(STANDARDS["GB/T 18650"])
    definition["grades"][0]["criteria"].append({"kind": "lab", "test": "pesticide_residue_enzyme"})
    sample = example("GB/T 18650", "明前狮峰 pre-Qingming, hand-roasted")["sample"]
    sample["lab_results"]["pesticide_residue_enzyme"] = {"inhibition_percent": "55", "retests": []}
    verdict = grade(definition, sample)
    assert verdict.grade == "一级"
    residue_criteria = [c for c in verdict.explanation()[0]["criteria"] if "pesticide" in c["label"]]
    assert [c["holds"] for c in residue_criteria] == [True, False]
    assert residue_criteria[1]["shortfall"] == "retests needed"


def test_an_optional_measurement_is_checked_only_when_measured():
    sample = example("GB/T 18650", "明前狮峰 pre-Qingming, hand-roasted")["sample"]
    del sample["measurements"]["total_ash"]
    verdict = grade(STANDARDS["GB/T 18650"], sample)
    assert verdict.grade == "特级"
    assert criterion(verdict, "特级", "total_ash")["observed"] == "not measured"
    sample["measurements"]["total_ash"] = {"unit": "%", "values": ["6.8"]}
    assert grade(STANDARDS["GB/T 18650"], sample).rejected


def test_a_lab_result_of_the_wrong_kind_counts_as_missing():
    poultry = example("SH/QC 003", "进化飞鸡, 180 days in the hills")["sample"]
    poultry["lab_results"]["veterinary_drug_rapid"] = {"inhibition_percent": "10"}
    assert grade(STANDARDS["SH/QC 003"], poultry).residue == "missing"
    celery = example("NY/T 1729", "益农 autumn celery, well trimmed")["sample"]
    celery["lab_results"]["pesticide_residue_enzyme"] = {"passed": True}
    assert grade(STANDARDS["NY/T 1729"], celery).residue == "missing"


def test_units_classed_in_categories_the_standard_does_not_know_fail_the_tolerance():
    sample = example("UNECE FFV-29", "hand-picked Shoumei, June")["sample"]
    sample["unit_classes"]["counts"]["perfect"] = 1000
    verdict = grade(STANDARDS["UNECE FFV-29"], sample)
    assert verdict.rejected
    assert criterion(verdict, "Extra", "Extra")["observed"] == "unknown unit categories perfect"


def test_a_missing_sensory_score_fails_its_criterion():
    sample = example("GB/T 18650", "明前狮峰 pre-Qingming, hand-roasted")["sample"]
    del sample["sensory"]["aroma"]
    verdict = grade(STANDARDS["GB/T 18650"], sample)
    assert verdict.rejected
    assert criterion(verdict, "五级", "sensory total")["observed"] == "missing aroma"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            lambda d: d["grades"][0]["criteria"].append(
                {"kind": "measure", "measurement": "moisture", "min": "3"}
            ),
            "grades.0.criteria.4",
        ),
        (lambda d: d["measurements"]["moisture"].update(unit="furlong"), "measurements.moisture.unit"),
        (lambda d: d["sensory"]["factors"]["aroma"].update(weight="30"), "sensory.factors"),
        (lambda d: d["requirements"].append({"kind": "lab", "test": "nothing"}), "requirements.3"),
        (lambda d: d["grades"].append({"code": "特级", "criteria": []}), "grades"),
    ],
)
def test_a_standard_that_could_not_be_graded_monotonically_is_refused(change, path):
    definition = copy.deepcopy(STANDARDS["GB/T 18650"])
    change(definition)
    with pytest.raises(DefinitionError) as refused:
        validate_definition(definition)
    assert path in refused.value.errors


def test_a_tolerance_must_count_the_worst_unit_categories():
    definition = copy.deepcopy(STANDARDS["UNECE FFV-29"])
    definition["grades"][1]["criteria"][1]["of"] = ["class_ii"]
    with pytest.raises(DefinitionError) as refused:
        validate_definition(definition)
    assert "grades.1.criteria.1" in refused.value.errors


# Property tests -----------------------------------------------------------------------------


def decimal_text(low: int, high: int) -> st.SearchStrategy[str]:
    return st.decimals(min_value=low, max_value=high, places=1, allow_nan=False, allow_infinity=False).map(
        lambda d: str(d)
    )


def bounds(definition: dict, key: str) -> list[Decimal]:
    criteria = [*definition["requirements"], *(c for g in definition["grades"] for c in g["criteria"])]
    return [Decimal(c.get("max", c.get("min"))) for c in criteria if c.get("measurement") == key]


@st.composite
def samples(draw, definition: dict) -> dict:
    """Samples near the standard's thresholds, so that every grade is reached and missed."""
    sample: dict = {"measurements": {}, "lab_results": {}, "sensory": {}}
    for key, spec in definition.get("measurements", {}).items():
        near = st.builds(
            lambda bound, offset: str(max(Decimal(0), bound + Decimal(offset))),
            st.sampled_from(bounds(definition, key)),
            decimal_text(-3, 3),
        )
        sample["measurements"][key] = {
            "unit": spec["unit"],
            "values": draw(st.lists(near, min_size=1, max_size=3)),
        }
    for key, test in definition.get("lab_tests", {}).items():
        if test["rule"] == "pass_fail":
            sample["lab_results"][key] = {"passed": draw(st.booleans())}
        else:
            sample["lab_results"][key] = {
                "inhibition_percent": draw(st.one_of(decimal_text(0, 49), decimal_text(50, 100))),
                "retests": draw(st.lists(decimal_text(30, 70), max_size=2)),
            }
    factors = definition.get("sensory", {}).get("factors", {})
    if factors:
        level = draw(
            st.sampled_from(
                sorted(
                    {
                        Decimal(c["min"])
                        for g in definition["grades"]
                        for c in g["criteria"]
                        if c["kind"] == "sensory"
                    }
                )
            )
        )
        for factor in factors:
            sample["sensory"][factor] = str(min(Decimal(100), level + Decimal(draw(decimal_text(-4, 6)))))
    categories = definition.get("unit_categories") or []
    if categories:
        counts = {categories[0]: draw(st.integers(1, 100))}
        counts.update({name: draw(st.integers(0, 8)) for name in categories[1:]})
        sample["unit_classes"] = {"basis": definition.get("tolerance_basis", ["count"])[0], "counts": counts}
    return sample


def improve(draw, definition: dict, sample: dict) -> dict:
    """One change that is better or equal in every respect: never worse in any."""
    better = copy.deepcopy(sample)
    options = []
    for key in sample["measurements"]:
        options.append(("measure", key))
    for key in sample["lab_results"]:
        options.append(("lab", key))
    for key in sample["sensory"]:
        options.append(("sensory", key))
    if "unit_classes" in sample:
        options.append(("units", None))
    kind, key = draw(st.sampled_from(options))
    if kind == "measure":
        values = better["measurements"][key]["values"]
        index = draw(st.integers(0, len(values) - 1))
        step = Decimal(draw(decimal_text(0, 5)))
        direction = -1 if definition["measurements"][key]["better"] == "lower" else 1
        values[index] = str(Decimal(values[index]) + direction * step)
    elif kind == "lab":
        result = better["lab_results"][key]
        if "passed" in result:
            result["passed"] = True
        elif result["retests"] and draw(st.booleans()):
            index = draw(st.integers(0, len(result["retests"]) - 1))
            result["retests"][index] = str(
                max(Decimal(0), Decimal(result["retests"][index]) - Decimal(draw(decimal_text(0, 100))))
            )
        else:
            result["inhibition_percent"] = str(
                max(Decimal(0), Decimal(result["inhibition_percent"]) - Decimal(draw(decimal_text(0, 100))))
            )
    elif kind == "sensory":
        better["sensory"][key] = str(
            min(Decimal(100), Decimal(better["sensory"][key]) + Decimal(draw(decimal_text(0, 10))))
        )
    else:
        categories = definition["unit_categories"]
        counts = better["unit_classes"]["counts"]
        worse = draw(st.integers(1, len(categories) - 1))
        target = draw(st.integers(0, worse - 1))
        moved = draw(st.integers(0, counts[categories[worse]]))
        counts[categories[worse]] -= moved
        counts[categories[target]] += moved
    return better


def position(verdict) -> int:
    return verdict.rank if verdict.rank is not None else 10**6


@pytest.mark.parametrize("code", sorted(STANDARDS))
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_improving_any_measurement_never_lowers_a_grade(code, data):
    definition = STANDARDS[code]
    sample = data.draw(samples(definition))
    better = improve(data.draw, definition, sample)
    assert position(grade(definition, better)) <= position(grade(definition, sample))


@pytest.mark.parametrize("code", sorted(STANDARDS))
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_the_same_input_always_gives_the_same_grade_and_explanation(code, data):
    definition = STANDARDS[code]
    sample = data.draw(samples(definition))
    first = grade(copy.deepcopy(definition), copy.deepcopy(sample))
    second = grade(copy.deepcopy(definition), json.loads(json.dumps(sample)))
    assert first == second
    assert json.dumps(first.explanation(), ensure_ascii=False) == json.dumps(
        second.explanation(), ensure_ascii=False
    )
