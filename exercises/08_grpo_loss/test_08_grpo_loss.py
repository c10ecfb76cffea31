"""Tests for exercise 08. They reach the function only through `impl` (see exercises/conftest.py).

Inputs are scaled so that every term matters: log-ratios of ~0.3 so that clipping happens on a good
share of tokens, advantages of ±0.5-2, β = 0.5 so that the KL term is a visible part of the loss."""
import math

import pytest
import torch

from exercises.checks import assert_close
from exercises.framework import load

REFERENCE = load("08_grpo_loss").reference.grpo_loss
B, T = 6, 12


def batch(seed=0, requires_grad=True):
    """logprobs, old, ref, advantages, mask: rows with 2-3 prompt positions (mask 0), then a
    completion of varying length, then padding (mask 0)."""
    g = torch.Generator().manual_seed(seed)
    logprobs = (-3 * torch.rand(B, T, generator=g)).requires_grad_(requires_grad)
    old = logprobs.detach() + 0.3 * torch.randn(B, T, generator=g)
    ref = logprobs.detach() + 0.5 * torch.randn(B, T, generator=g)
    advantages = torch.tensor([1.5, -1.0, 0.5, -2.0, 1.0, -0.5])
    mask = torch.zeros(B, T)
    for i, (start, end) in enumerate([(2, 12), (3, 5), (2, 9), (3, 4), (2, 11), (3, 7)]):
        mask[i, start:end] = 1
    return logprobs, old, ref, advantages, mask


def leaf(x):
    return x.detach().clone().requires_grad_(True)


@pytest.mark.parametrize("aggregation", ["token_mean", "seq_mean", "constant"])
def test_loss_and_gradient_match_the_reference(impl, aggregation):
    logprobs, old, ref, adv, mask = batch()
    kw = dict(clip_eps=0.2, kl_coef=0.5, aggregation=aggregation, constant_norm=B * 8)
    mine, theirs = leaf(logprobs), leaf(logprobs)
    loss, _ = impl.grpo_loss(mine, old, ref, adv, mask, **kw)
    want, _ = REFERENCE(theirs, old, ref, adv, mask, **kw)
    others = {f"the {a} aggregation: check `aggregation`": REFERENCE(logprobs, old, ref, adv, mask, **{**kw, "aggregation": a})[0]
              for a in ("token_mean", "seq_mean", "constant") if a != aggregation}
    assert_close(loss, want, f"loss ({aggregation})", mistakes=others)
    loss.backward(), want.backward()
    assert mine.grad is not None, "no gradient reached logprobs: is something detached?"
    assert_close(mine.grad, theirs.grad, f"d loss / d logprobs ({aggregation})", atol=1e-6,
                 mistakes={"zero gradient: the ratio must stay attached to logprobs (only old_logprobs is constant)":
                           torch.zeros_like(mine.grad)})


def test_diagnostics_match_the_reference(impl):
    logprobs, old, ref, adv, mask = batch(1)
    _, stats = impl.grpo_loss(logprobs, old, ref, adv, mask, kl_coef=0.5)
    _, want = REFERENCE(logprobs, old, ref, adv, mask, kl_coef=0.5)
    assert set(stats) >= {"kl", "clip_fraction", "ratio_mean"}, f"stats must hold kl, clip_fraction, ratio_mean: {stats}"
    assert 0.1 < want["clip_fraction"] < 0.9  # the inputs make clipping matter
    for key in ("kl", "clip_fraction", "ratio_mean"):
        assert_close(stats[key], want[key], f"stats[{key!r}] (a mean over the completion tokens only)")


@pytest.mark.parametrize("log_ratio, advantage, want", [
    (0.5, 1.0, -1.2),             # ρ = 1.65 > 1 + ε, A > 0: clipped, the gain stops at 1.2
    (0.5, -1.0, math.exp(0.5)),   # ρ = 1.65, A < 0: the min keeps the unclipped, worse term
    (-0.5, 1.0, -math.exp(-0.5)),  # ρ = 0.61 < 1 − ε, A > 0: the min keeps the unclipped term
    (-0.5, -1.0, 0.8),            # ρ = 0.61, A < 0: clipped at 0.8
    (0.1, 2.0, -2 * math.exp(0.1)),  # inside the clip range: ρ·A
])
def test_clipping_by_hand(impl, log_ratio, advantage, want):
    """One token, no KL: loss = −min(ρA, clip(ρ, 0.8, 1.2)A) (DeepSeekMath eq. 3)."""
    logprobs = torch.tensor([[-1.0 + log_ratio]])
    loss, _ = impl.grpo_loss(logprobs, torch.tensor([[-1.0]]), None, torch.tensor([advantage]), torch.ones(1, 1),
                             clip_eps=0.2, kl_coef=0.0)
    unclipped = -math.exp(log_ratio) * advantage
    assert_close(loss, want, f"loss at ρ = e^{log_ratio}, A = {advantage}", mistakes={
        "no clipping: clamp the ratio to [1 − ε, 1 + ε_high]": unclipped,
        "the clipped term alone: take the min of the clipped and the unclipped term": -min(max(math.exp(log_ratio), 0.8), 1.2) * advantage})


def test_clip_higher(impl):
    """DAPO's clip-higher: the upper clip is 1 + clip_eps_high (0.28 here) when it is given."""
    logprobs = torch.tensor([[-1.0 + 0.5]])
    loss, _ = impl.grpo_loss(logprobs, torch.tensor([[-1.0]]), None, torch.tensor([1.0]), torch.ones(1, 1),
                             clip_eps=0.2, kl_coef=0.0, clip_eps_high=0.28)
    assert_close(loss, -1.28, "loss with clip_eps_high=0.28", mistakes={"clip_eps_high ignored": -1.2})


def test_k3_kl_by_hand(impl):
    """A = 0 leaves only the KL term: β·(π_ref/π_θ − log(π_ref/π_θ) − 1), the k3 estimator, ≥ 0."""
    logprobs = torch.tensor([[-1.0, -2.0]])
    ref = torch.tensor([[-2.0, -1.0]])  # log-ratios log π_ref/π_θ = −1 and +1
    loss, stats = impl.grpo_loss(logprobs, logprobs.detach(), ref, torch.tensor([0.0]), torch.ones(1, 2), kl_coef=0.5)
    k3 = ((math.exp(-1) + 1 - 1) + (math.exp(1) - 1 - 1)) / 2
    assert_close(loss, 0.5 * k3, "loss = β·mean k3 KL", mistakes={
        "the KL added with the wrong sign: the objective is surrogate − β·KL, the loss its negative": -0.5 * k3,
        "k1 (log π_θ/π_ref): use k3 = π_ref/π_θ − log(π_ref/π_θ) − 1": 0.0,
        "KL(π_ref‖π_θ): k3's ratio is π_ref/π_θ": 0.5 * k3})
    assert_close(stats["kl"], k3, "stats['kl']")


def test_k3_kl_is_positive_where_k1_is_not(impl):
    logprobs = torch.tensor([[-1.0, -1.0, -1.0]])
    ref = torch.tensor([[-1.5, -1.2, -0.2]])
    loss, stats = impl.grpo_loss(logprobs, logprobs.detach(), ref, torch.tensor([0.0]), torch.ones(1, 3), kl_coef=1.0)
    log_r = ref - logprobs
    assert_close(loss, (log_r.exp() - log_r - 1).mean(), "KL loss", mistakes={
        "k1: log π_θ/π_ref averages to a negative number here": (-log_r).mean(),
        "KL(π_ref‖π_θ): k3's ratio is π_ref/π_θ": ((-log_r).exp() + log_r - 1).mean()})


def test_padding_and_prompt_are_inert(impl):
    """Whatever sits at mask-0 positions changes neither the loss nor the gradient, and gets none."""
    logprobs, old, ref, adv, mask = batch(2)
    garbage = torch.where(mask.bool(), 0.0, 4.0 * torch.randn(B, T))
    a, b = leaf(logprobs), leaf(logprobs + garbage)
    loss_a, stats_a = impl.grpo_loss(a, old, ref, adv, mask, kl_coef=0.5, aggregation="seq_mean")
    loss_b, stats_b = impl.grpo_loss(b, old - garbage, ref + garbage, adv, mask, kl_coef=0.5, aggregation="seq_mean")
    assert_close(loss_b, loss_a, "loss with garbage at masked positions", mistakes={
        "padding counted in the loss: multiply by the mask": REFERENCE(a, old, ref, adv, torch.ones_like(mask), kl_coef=0.5,
                                                                   aggregation="seq_mean")[0]})
    for key in stats_a:
        assert abs(stats_a[key] - stats_b[key]) < 1e-5, f"stats[{key!r}] counts masked positions"
    loss_b.backward()
    assert torch.all(b.grad[mask == 0] == 0), "masked positions must get no gradient"
    seq_mean = REFERENCE(a, old, ref, adv, mask, kl_coef=0.5, aggregation="seq_mean")[0]
    assert_close(loss_a, seq_mean, "seq_mean loss (each row: sum over its tokens / its own token count)")


def test_on_policy_gradient_is_the_policy_gradient(impl):
    """μ = 1: old = logprobs.detach(), so ρ = 1 but ∇ρ = ∇log π_θ. Without KL and with token_mean,
    ∂loss/∂logprob_t = −A_row / (number of completion tokens in the batch)."""
    logprobs, _, _, adv, mask = batch(3)
    loss, stats = impl.grpo_loss(logprobs, logprobs.detach(), None, adv, mask, kl_coef=0.0)
    want_loss = -(adv[:, None] * mask).sum() / mask.sum()
    assert_close(loss, want_loss, "on-policy loss −mean A over tokens")
    loss.backward()
    assert logprobs.grad is not None, "no gradient: the ratio exp(logprobs − old) must keep logprobs' graph"
    assert_close(logprobs.grad, -adv[:, None] * mask / mask.sum(), "on-policy gradient", atol=1e-6, mistakes={
        "zero gradient: do not detach the ratio (old_logprobs is the constant)": torch.zeros(B, T)})
    assert abs(stats["ratio_mean"] - 1.0) < 1e-6 and stats["clip_fraction"] == 0.0


def test_bad_aggregation_is_an_error(impl):
    logprobs, old, ref, adv, mask = batch(4)
    with pytest.raises(ValueError):
        impl.grpo_loss(logprobs, old, ref, adv, mask, aggregation="sum")
    with pytest.raises(ValueError):
        impl.grpo_loss(logprobs, old, ref, adv, mask, aggregation="constant")  # constant needs constant_norm
    loss, _ = impl.grpo_loss(logprobs, old, ref, adv, mask, aggregation="constant", constant_norm=100)
    assert_close(loss, REFERENCE(logprobs, old, ref, adv, mask, aggregation="constant", constant_norm=100)[0],
                 "constant-normalised loss", atol=1e-6)
