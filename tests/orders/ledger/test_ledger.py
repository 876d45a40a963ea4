"""Splitting money: the parts always add up to the whole, to the fen."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders.ledger.models import Party
from orders.ledger.service import largest_remainder, split

PARTIES = list(Party)


@st.composite
def rules(draw):
    count = draw(st.integers(min_value=1, max_value=len(PARTIES)))
    parties = draw(st.permutations(PARTIES))[:count]
    cuts = sorted(
        draw(
            st.lists(
                st.integers(min_value=1, max_value=9_999), min_size=count - 1, max_size=count - 1, unique=True
            )
        )
    )
    points = [b - a for a, b in zip([0, *cuts], [*cuts, 10_000], strict=True)]
    return list(zip(parties, points, strict=True))


@given(
    amount=st.integers(min_value=0, max_value=10**13),
    shares=rules(),
    guarantee=st.integers(min_value=0, max_value=10**9),
)
def test_for_any_amount_and_rule_the_parts_sum_exactly_to_the_whole(amount, shares, guarantee):
    parts = split(
        amount, shares, guaranteed_party=Party.FARMERS if guarantee else None, guaranteed_fen=guarantee
    )
    assert sum(parts.values()) == amount
    assert all(part >= 0 for part in parts.values())


@given(
    amount=st.integers(min_value=0, max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(
        lambda w: sum(w) > 0
    ),
)
def test_largest_remainder_never_strays_a_whole_fen_from_the_exact_share(amount, weights):
    parts = largest_remainder(amount, weights)
    total = sum(weights)
    assert sum(parts) == amount
    for part, weight in zip(parts, weights, strict=True):
        assert abs(part * total - amount * weight) < total


def test_seed_001s_split_of_a_sale():
    # Seed 001: village collective 10 %, village group 10 %, enterprise 41 %, villagers 39 %.
    shares = [
        (Party.VILLAGE_COLLECTIVE, 1000),
        (Party.VILLAGE_GROUP, 1000),
        (Party.ENTERPRISE, 4100),
        (Party.FARMERS, 3900),
    ]
    assert split(1_000_001, shares) == {
        Party.VILLAGE_COLLECTIVE: 100_000,
        Party.VILLAGE_GROUP: 100_000,
        Party.ENTERPRISE: 410_001,
        Party.FARMERS: 390_000,
    }


def test_a_guarantee_is_paid_first_and_the_shares_split_the_rest():
    parts = split(
        10_000,
        [(Party.COOPERATIVE, 5000), (Party.VILLAGE_COLLECTIVE, 5000)],
        guaranteed_party=Party.FARMERS,
        guaranteed_fen=4_000,
    )
    assert parts == {Party.FARMERS: 4_000, Party.COOPERATIVE: 3_000, Party.VILLAGE_COLLECTIVE: 3_000}
    small = split(1_000, [(Party.COOPERATIVE, 10_000)], guaranteed_party=Party.FARMERS, guaranteed_fen=4_000)
    assert small == {Party.FARMERS: 1_000, Party.COOPERATIVE: 0}


def test_weights_that_cannot_split_anything_are_refused():
    with pytest.raises(ValueError):
        largest_remainder(100, [0, 0])
