"""Tests for exercise 12. They reach the functions only through `impl` (see exercises/conftest.py)."""
import itertools
import random

import pytest

from exercises.checks import assert_close
from exercises.framework import load

REFERENCE = load("12_pass_at_k").reference


def brute_force(n: int, c: int, k: int) -> float:
    """The share of the C(n, k) ways to pick k of the n samples that include a correct one."""
    samples = [True] * c + [False] * (n - c)
    picks = list(itertools.combinations(samples, k))
    return sum(any(p) for p in picks) / len(picks)


@pytest.mark.parametrize("n", [4, 8])
def test_pass_at_k_matches_enumeration(impl, n):
    for c in range(1, n):
        for k in range(1, n + 1):
            assert_close(impl.pass_at_k(n, c, k), brute_force(n, c, k), f"pass@{k} with n={n}, c={c}", atol=1e-9,
                         min_scale=1, mistakes={"1 − (1 − c/n)^k: that is sampling with replacement, biased":
                                                1 - (1 - c / n) ** k})


def test_pass_at_k_edges(impl):
    assert impl.pass_at_k(8, 0, 4) == 0.0, "no correct sample: pass@k is 0"
    assert impl.pass_at_k(8, 8, 4) == 1.0
    assert impl.pass_at_k(8, 5, 4) == 1.0, "n − c < k: every pick of k holds a correct sample"
    assert impl.pass_at_k(8, 3, 1) == pytest.approx(3 / 8), "pass@1 is c / n"
    assert impl.pass_at_k(100, 1, 100) == 1.0
    assert REFERENCE.pass_at_k(200, 13, 10) == pytest.approx(impl.pass_at_k(200, 13, 10), abs=1e-12)


def test_majority_vote(impl):
    assert impl.majority_answer(["12", "13", "12", None, "12"]) == "12"
    assert impl.majority_answer(["12", " 12\n", "13", "13\r\n", "13"]) == "13", \
        "normalise answers as the verifier does (tasks.normalize_answer) before counting"
    assert impl.majority_answer(["7", "7", "8"]) == "7"


def test_majority_vote_tie_and_missing_answers(impl):
    assert impl.majority_answer(["7", "7", "8"]) == "7"
    assert impl.majority_answer(["7", "8", "8", "7"]) is None, "a tie at the top is no majority: None"
    assert impl.majority_answer([None, None, None, "9"]) == "9", "None is no answer, not a vote"
    assert impl.majority_answer([None, None, "", "  "]) is None, "no answer at all: None"
    assert impl.majority_answer(["5", "6", "6", "5", "5"]) == "5"


def test_majority_matches_reference(impl):
    rng = random.Random(0)
    for _ in range(200):
        answers = [rng.choice(["1", "2", " 2", "3\n", None, ""]) for _ in range(rng.randint(1, 8))]
        assert impl.majority_answer(answers) == REFERENCE.majority_answer(answers), answers
