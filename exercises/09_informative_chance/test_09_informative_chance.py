"""Tests for exercise 09. They reach the function only through `impl` (see exercises/conftest.py)."""
import itertools

import pytest
import torch

from exercises.checks import assert_close
from exercises.framework import load

REFERENCE = load("09_informative_chance").reference.informative_chance


def brute_force(p: float, G: int) -> float:
    """Sum the probability of every one of the 2^G right/wrong patterns that mixes the two."""
    total = 0.0
    for pattern in itertools.product([0, 1], repeat=G):
        if 0 < sum(pattern) < G:
            total += p ** sum(pattern) * (1 - p) ** (G - sum(pattern))
    return total


@pytest.mark.parametrize("G", [2, 3, 8])
def test_matches_brute_force_enumeration(impl, G):
    for p in (0.05, 0.3, 0.5, 0.9):
        got = impl.informative_chance(p, G)
        assert_close(got, brute_force(p, G), f"chance at p={p}, G={G}", atol=1e-9, mistakes={
            "the chance that the group is all-equal: the answer is its complement": 1 - brute_force(p, G),
            "only the all-wrong case subtracted: an all-right group has no signal either": 1 - (1 - p) ** G})
        assert_close(got, REFERENCE(p, G), "chance vs the reference", atol=1e-9)


def test_matches_simulated_groups(impl):
    """200,000 simulated groups of 8 at p = 0.2: the informative share is within 5 standard errors."""
    g = torch.Generator().manual_seed(0)
    right = torch.rand(200_000, 8, generator=g) < 0.2
    share = float((right.any(1) & ~right.all(1)).float().mean())
    want = impl.informative_chance(0.2, 8)
    assert abs(want - share) < 5 * (share * (1 - share) / 200_000) ** 0.5, (want, share)


def test_edges(impl):
    """Never or always right, or a group of one: no group can mix; p = 1/2 is the best case."""
    assert impl.informative_chance(0.5, 2) == pytest.approx(0.5)
    assert impl.informative_chance(0.5, 8) == pytest.approx(1 - 2 ** -7)
    for p in (0.0, 1.0):
        assert impl.informative_chance(p, 8) == pytest.approx(0.0), f"p = {p}: every answer scores the same"
    assert impl.informative_chance(0.4, 1) == pytest.approx(0.0), "a group of one answer has no spread"


def test_symmetric_and_largest_at_one_half(impl):
    values = [impl.informative_chance(p / 20, 6) for p in range(21)]
    assert max(values) == pytest.approx(impl.informative_chance(0.5, 6)) and max(values) > 0.9
    for p in (0.1, 0.25, 0.4):
        assert impl.informative_chance(p, 6) == pytest.approx(impl.informative_chance(1 - p, 6)), "swap right and wrong"
