"""ISO 2859-1 single sampling plans, normal inspection."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quality.sampling import AQLS, LEVELS, SamplingError, accepts, code_letter, sampling_plan


@pytest.mark.parametrize(
    ("lot_size", "level", "letter"),
    [
        (8, "II", "A"),
        (9, "II", "B"),
        (50, "II", "D"),
        (51, "II", "E"),
        (1000, "II", "J"),
        (1200, "II", "J"),
        (1201, "II", "K"),
        (10_000, "I", "J"),
        (10_000, "III", "M"),
        (600_000, "II", "Q"),
        (600_000, "III", "R"),
        (3000, "S-3", "E"),
        (100, "S-1", "B"),
    ],
)
def test_lot_size_and_inspection_level_give_the_code_letter_of_table_1(lot_size, level, letter):
    assert code_letter(lot_size, level) == letter


@pytest.mark.parametrize(
    ("lot_size", "level", "aql", "n", "accept", "reject"),
    [
        (1000, "II", "2.5", 80, 5, 6),
        (1000, "II", "1.0", 80, 2, 3),
        (1000, "II", "4.0", 80, 7, 8),
        (500, "II", "1.0", 50, 1, 2),
        (3000, "II", "2.5", 125, 7, 8),
        (3000, "II", "0.65", 125, 2, 3),
        (10_000, "II", "0.65", 200, 3, 4),
        (10_000, "II", "1.0", 200, 5, 6),
        (150, "II", "1.5", 32, 1, 2),
    ],
)
def test_known_plans_of_table_2a_come_out_exactly(lot_size, level, aql, n, accept, reject):
    plan = sampling_plan(lot_size, level, aql)
    assert (plan.sample_size, plan.accept, plan.reject) == (n, accept, reject)
    assert plan.aql == Decimal(aql)


def test_an_arrow_down_sends_the_plan_to_the_first_plan_below_it():
    plan = sampling_plan(500, "II", "0.10")
    assert plan.code_letter == "H"
    assert (plan.plan_letter, plan.sample_size, plan.accept, plan.reject) == ("K", 125, 0, 1)


def test_the_cell_after_accept_zero_points_up_to_the_zero_acceptance_plan():
    plan = sampling_plan(500, "II", "0.40")
    assert plan.code_letter == "H"
    assert (plan.plan_letter, plan.sample_size, plan.accept, plan.reject) == ("G", 32, 0, 1)


def test_the_arrow_down_after_it_skips_to_the_first_plan_accepting_one():
    plan = sampling_plan(1000, "II", "0.40")
    assert plan.code_letter == "J"
    assert (plan.plan_letter, plan.sample_size, plan.accept, plan.reject) == ("K", 125, 1, 2)


def test_a_plan_larger_than_the_lot_means_inspecting_every_unit():
    plan = sampling_plan(20, "II", "0.10")
    assert plan.inspect_all is True
    assert plan.sample_size == 20 and plan.accept == 0


def test_the_lot_is_accepted_up_to_the_acceptance_number_and_rejected_from_the_rejection_number():
    plan = sampling_plan(1000, "II", "2.5")
    assert accepts(plan, 5) is True
    assert accepts(plan, 6) is False


@pytest.mark.parametrize(
    ("lot_size", "level", "aql"),
    [
        (1, "II", "2.5"),
        (100, "IV", "2.5"),
        (100, "II", "3"),
        (100, "II", "15"),
    ],
)
def test_impossible_plans_are_refused(lot_size, level, aql):
    with pytest.raises(SamplingError):
        sampling_plan(lot_size, level, aql)


@settings(max_examples=200, deadline=None)
@given(
    lot_size=st.integers(2, 2_000_000),
    growth=st.integers(0, 2_000_000),
    level=st.sampled_from(LEVELS),
    aql=st.sampled_from(AQLS),
)
def test_every_plan_is_well_formed_and_a_larger_lot_never_gets_a_smaller_sample(lot_size, growth, level, aql):
    plan = sampling_plan(lot_size, level, aql)
    assert plan.reject == plan.accept + 1
    assert 0 <= plan.accept < plan.sample_size <= lot_size or plan.inspect_all
    larger = sampling_plan(lot_size + growth, level, aql)
    assert larger.sample_size >= plan.sample_size
