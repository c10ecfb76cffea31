"""Tests for exercise 05. They reach the functions only through `impl` (see exercises/conftest.py)."""
import math

import pytest
import torch

from exercises.checks import assert_close
from exercises.framework import load

REFERENCE = load("05_top_p").reference
P = torch.tensor([0.5, 0.3, 0.15, 0.05])


@pytest.mark.parametrize("top_p, want", [
    (0.45, [1.0, 0.0, 0.0, 0.0]),                  # the top token alone reaches 0.45: never an empty nucleus
    (0.79, [0.625, 0.375, 0.0, 0.0]),              # 0.5 + 0.3 reaches 0.79
    (0.81, [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0.0]),
    (1.0, [0.5, 0.3, 0.15, 0.05]),
])
def test_nucleus_by_hand(impl, top_p, want):
    """Probabilities 0.5, 0.3, 0.15, 0.05 (in shuffled order): the nucleus is the smallest set of most
    likely tokens whose probability reaches top_p, renormalised."""
    order = torch.tensor([2, 0, 3, 1])
    got = impl.sampling_distribution(P.log()[order][None], 1.0, top_p)
    assert torch.isfinite(got).all(), "NaN: the nucleus came out empty (it always holds the most likely token)"
    assert_close(got[0], torch.tensor(want)[order], f"distribution at top_p={top_p}", mistakes={
        "no renormalisation: divide the kept probabilities by their sum": (torch.tensor(want) * min(1.0, sum(
            p for p, w in zip(P.tolist(), want) if w > 0)))[order]})


def test_distribution_matches_the_reference(impl):
    logits = 3 * torch.randn(6, 50)
    for temperature, top_p in [(0.7, 0.9), (1.0, 1.0), (1.5, 0.5), (0.3, 0.95)]:
        got = impl.sampling_distribution(logits, temperature, top_p)
        assert_close(got, REFERENCE.sampling_distribution(logits, temperature, top_p),
                     f"distribution at T={temperature}, top_p={top_p}", atol=1e-6, mistakes={
                         "the temperature ignored: softmax(logits / T)": REFERENCE.sampling_distribution(logits, 1.0, top_p)})
        assert_close(got.sum(-1), torch.ones(6), "row sums", atol=1e-5)


def test_nucleus_is_the_smallest_that_reaches_top_p(impl):
    logits = 2 * torch.randn(20, 30)
    for top_p in (0.3, 0.6, 0.9):
        got = impl.sampling_distribution(logits, 1.0, top_p)
        full = torch.softmax(logits, -1)
        for row, probs in zip(got, full):
            kept = row > 0
            mass = float(probs[kept].sum())
            assert mass >= top_p - 1e-6, f"the nucleus holds {mass:.3f} < top_p {top_p}"
            assert float(probs[kept].min()) >= max(probs[~kept].tolist(), default=0.0), "the nucleus is the MOST likely tokens"
            assert mass - float(probs[kept].min()) < top_p, "the nucleus must be the smallest set that reaches top_p"


def chi_square_p_value(counts, probs):
    """P-value of Pearson's χ² test (Wilson–Hilferty approximation), over the tokens of nonzero probability."""
    n, keep = counts.sum(), probs > 0
    expected = n * probs[keep]
    chi2 = float(((counts[keep] - expected) ** 2 / expected).sum())
    df = int(keep.sum()) - 1
    z = ((chi2 / df) ** (1 / 3) - (1 - 2 / (9 * df))) / math.sqrt(2 / (9 * df))
    return 0.5 * math.erfc(z / math.sqrt(2))


@pytest.mark.parametrize("total", [1.0, 3.0])
def test_draws_follow_the_distribution(impl, total):
    """20,000 draws from rows [0.4, 0, 0.3, 0.2, 0, 0.1] (scaled to sum to `total`: draw must scale its
    uniform number to the row's mass): a zero-probability token never comes, χ² p-value > 1e-4."""
    probs = torch.tensor([0.4, 0.0, 0.3, 0.2, 0.0, 0.1]) * total
    tokens = impl.draw(probs.expand(20_000, -1).contiguous(), torch.Generator().manual_seed(1))
    assert tokens.shape == (20_000,) and tokens.dtype == torch.long, (tokens.shape, tokens.dtype)
    counts = torch.bincount(tokens, minlength=6).float()
    assert counts[1] == 0 and counts[4] == 0, f"tokens of probability 0 were drawn: {counts.tolist()}"
    p = chi_square_p_value(counts, probs / probs.sum())
    assert p > 1e-4, f"draw counts {counts.tolist()} do not follow {(probs / total).tolist()} (χ² p = {p:.2g})"


def test_draw_uses_the_generator(impl):
    probs = torch.softmax(torch.randn(500, 10), -1)
    a = impl.draw(probs, torch.Generator().manual_seed(3))
    b = impl.draw(probs, torch.Generator().manual_seed(3))
    assert torch.equal(a, b), "the same generator seed must give the same draws (pass generator= to torch.rand)"
    assert len(set(a.tolist())) > 5, "500 draws from spread-out rows must not all be the same token"
