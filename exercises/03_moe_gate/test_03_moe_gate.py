"""Tests for exercise 03. They reach the functions only through `impl` (see exercises/conftest.py)."""
import torch

from exercises.checks import assert_close
from exercises.framework import load

REFERENCE = load("03_moe_gate").reference
B, T, D, E, K = 2, 6, 16, 6, 2


def router(seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(B, T, D, generator=g), 0.5 * torch.randn(E, D, generator=g), 0.3 * torch.randn(E, generator=g))


def test_gate_matches_the_reference(impl):
    x, weight, bias = router()
    weights, indices, scores = impl.gate(x, weight, bias, K)
    want_w, want_i, want_s = REFERENCE.gate(x, weight, bias, K)
    assert_close(scores, want_s, "affinities s", mistakes={"softmax affinities: V3 uses sigmoid(u · e_i)":
                                                           torch.softmax(x @ weight.T, -1)})
    assert indices.shape == (B, T, K) and torch.equal(indices, want_i), \
        "chosen experts differ: top-K of s + b, in torch.topk's order"
    assert_close(weights, want_w, "gate values g", mistakes={
        "bias in the gate values: b chooses experts, g is s / Σ s over the chosen (no b)":
            (want_s + bias).gather(-1, want_i) / (want_s + bias).gather(-1, want_i).sum(-1, keepdim=True),
        "gate values not normalised: divide by the sum over the chosen experts": want_s.gather(-1, want_i)})


def test_bias_selects_but_does_not_weight(impl):
    """A large bias forces expert 5 into every token's choice; its gate value still comes from s alone."""
    x, weight, _ = router(1)
    bias = torch.zeros(E)
    bias[5] = 10.0
    weights, indices, scores = impl.gate(x, weight, bias, K)
    assert (indices == 5).any(-1).all(), "with b_5 = 10 expert 5 must be chosen for every token: select on s + b"
    s = torch.sigmoid(x @ weight.T)
    want = s.gather(-1, indices) / s.gather(-1, indices).sum(-1, keepdim=True)
    assert_close(weights, want, "gate values with a large bias", mistakes={
        "b used in the gate values: g_i = s_i / Σ s_j, the bias only selects":
            (s + bias).gather(-1, indices) / (s + bias).gather(-1, indices).sum(-1, keepdim=True)})
    assert_close(weights.sum(-1), torch.ones(B, T), "gate values sum to 1 per token")


def test_gate_dtypes(impl):
    x, weight, bias = router(2)
    weights, _, scores = impl.gate(x.bfloat16(), weight.bfloat16(), bias, K)
    assert weights.dtype == torch.bfloat16 and scores.dtype == torch.float32, \
        "gate values in x's dtype, affinities in fp32 (the balance loss needs them precise)"
    assert_close(weights.float(), REFERENCE.gate(x.bfloat16(), weight.bfloat16(), bias, K)[0].float(), "bf16 gate values",
                 atol=1e-2, min_scale=10)


def routing(seed=0):
    x, weight, bias = router(seed)
    _, indices, scores = REFERENCE.gate(x, weight, bias, K)
    real = torch.ones(B, T, dtype=torch.bool)
    real[1, 4:] = False  # the second sequence ends with two padding positions
    return scores.requires_grad_(True), indices, real


def test_balance_loss_matches_the_reference(impl):
    scores, indices, real = routing()
    loss = impl.sequence_balance_loss(scores, indices, real, 0.5)
    want = REFERENCE.sequence_balance_loss(scores, indices, real, 0.5)
    assert_close(loss, want, "balance loss", mistakes={
        "padding counted: f and P average over each sequence's real tokens only":
            REFERENCE.sequence_balance_loss(scores, indices, torch.ones_like(real), 0.5)})
    grad, = torch.autograd.grad(loss, scores)
    want_grad, = torch.autograd.grad(want, scores)
    assert_close(grad, want_grad, "d loss / d affinities", atol=1e-6)
    assert torch.all(grad[1, 4:] == 0), "padding positions get no gradient"


def test_balance_loss_by_hand(impl):
    """E = 4 experts, K = 2, equal affinities: perfectly balanced routing gives alpha (f_i = 1, P_i = 1/E);
    every token on the same two experts gives f = (2, 2, 0, 0): still alpha·Σ f_i/E = alpha, because
    P is uniform. Affinities that follow the routing raise it to alpha·2·(2·0.4) = 1.6·alpha."""
    uniform = torch.full((1, 4, 4), 0.5)
    balanced = torch.tensor([[[0, 1], [2, 3], [0, 2], [1, 3]]])
    real = torch.ones(1, 4, dtype=torch.bool)
    assert_close(impl.sequence_balance_loss(uniform, balanced, real, 0.1), 0.1, "balanced routing", atol=1e-6)
    skewed = torch.tensor([[0.8, 0.8, 0.2, 0.2]]).expand(1, 4, 4)
    same = torch.tensor([[[0, 1]] * 4])
    assert_close(impl.sequence_balance_loss(skewed, same, real, 0.1), 0.16, "overloaded experts 0 and 1", atol=1e-6,
                 mistakes={"no E/K factor in f_i (f_i = E/(K·T) · count)": 0.08,
                           "P_i from raw affinities: normalise s over the experts first": 0.1 * 2 * 2 * 0.8})
