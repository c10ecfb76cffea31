"""Tests for exercise 06. They reach the functions only through `impl` (see exercises/conftest.py)."""
import random

import torch

from exercises.checks import assert_close
from exercises.framework import load

REFERENCE = load("06_token_logprobs").reference
PAD = 0


def logits_and_targets(seed=0, B=3, T=5, V=13, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(B, T, V, generator=g), torch.randint(0, V, (B, T), generator=g)


def test_token_logprobs_match_the_reference(impl):
    logits, targets = logits_and_targets()
    got = impl.token_logprobs(logits, targets)
    assert got.shape == targets.shape and got.dtype == torch.float32, (got.shape, got.dtype)
    assert_close(got, REFERENCE.token_logprobs(logits, targets), "log π(target)", mistakes={
        "the raw logit: subtract logsumexp over the vocabulary": logits.gather(-1, targets[..., None])[..., 0]})
    probs = got.exp()
    assert torch.all(probs <= 1.0 + 1e-6), "log-probabilities are <= 0"


def test_token_logprobs_stay_finite_for_huge_logits(impl):
    """logits × 1000: log(softmax(x)) underflows to log(0) = −inf; gather − logsumexp does not."""
    logits, targets = logits_and_targets(1)
    got = impl.token_logprobs(1000 * logits, targets)
    assert torch.isfinite(got).all(), "−inf or NaN for large logits: compute log-softmax stably (logsumexp)"
    assert_close(got, REFERENCE.token_logprobs(1000 * logits, targets), "log π(target) for logits × 1000", rtol=1e-5)


def test_completion_batch_by_hand(impl):
    inputs, targets, mask = impl.completion_batch([[5, 6, 7], [3]], [[8, 9], [4, 2, 2, 1]], PAD, "cpu")
    assert inputs.tolist() == [[5, 6, 7, 8], [3, 4, 2, 2]]
    assert mask.tolist() == [[0, 0, 1, 1], [1, 1, 1, 1]], \
        "mask: 1 at the positions that PREDICT a completion token, from len(prompt) − 1 on (not len(prompt))"
    assert targets.tolist() == [[PAD, PAD, 8, 9], [4, 2, 2, 1]], "targets: the next token, pad_id where masked (not −100)"
    assert mask.dtype == torch.float32


def test_completion_batch_matches_the_reference(impl):
    rng = random.Random(0)
    prompts = [[rng.randrange(1, 50) for _ in range(rng.randint(1, 6))] for _ in range(8)]
    completions = [[rng.randrange(1, 50) for _ in range(rng.randint(1, 9))] for _ in range(8)]
    got, want = impl.completion_batch(prompts, completions, PAD, "cpu"), REFERENCE.completion_batch(prompts, completions, PAD, "cpu")
    for name, a, b in zip(("inputs", "targets", "mask"), got, want):
        assert torch.equal(a, b), f"{name} differ from the reference"


def test_masked_sum_is_each_completions_log_probability(impl):
    """Σ_t mask·log π(target) of a padded batch = log π(completion | prompt) computed row by row,
    unpadded: the two functions together give exactly the completion's log-likelihood."""
    torch.manual_seed(0)
    V = 50
    table = 3.0 * torch.randn(V, V)  # a bigram "model": logits of the next token = table[current token]
    prompts, completions = [[1, 2, 3], [4], [5, 6]], [[7, 8], [9, 10, 11, 12], [13]]
    inputs, targets, mask = impl.completion_batch(prompts, completions, PAD, "cpu")
    total = (impl.token_logprobs(table[inputs], targets) * mask).sum(1)
    want = []
    for p, c in zip(prompts, completions):
        row = p + c
        want.append(sum(float(torch.log_softmax(table[row[t - 1]], -1)[row[t]]) for t in range(len(p), len(row))))
    assert_close(total, torch.tensor(want), "log π(completion | prompt) per row")
