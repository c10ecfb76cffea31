"""The GRPO step the scripts run: grpo.grpo_step's loss and gradient, computed chunk by chunk.

Answers run from a few tokens to ~150, so a batch padded to its longest row was ~45% padding, and a
128 x 125-token batch kept ~0.9 GB of activations for its backward. So the rows are sorted longest
first, cut into chunks of about `cfg.update_chunk_tokens` tokens (`row_chunks`), each chunk only as
wide as its own longest row, and the gradient of the whole batch's loss is summed chunk by chunk
(`accumulate_gradient`, each chunk's loss weighed by `chunk_share`). The loss is a sum over rows, so
neither their order nor the cut changes it: tests/test_grpo.py checks that fast_grpo_step and
grpo_step agree. Read grpo.py first; this file is only about doing the same thing faster.
"""
from __future__ import annotations

from typing import Callable

import torch

from r1mini.config import autocast
from r1mini.grpo import (Group, GRPOConfig, RewardFn, completion_batch, completion_logprobs, group_advantages,
                         grpo_loss, rollout_stats, sample_groups)
from r1mini.tasks import Problem
from r1mini.train_utils import Timer, check_finite


def fast_grpo_step(policy, ref_model, optimizer, tokenizer, draw_problems: Callable[[int], list[Problem]],
                   cfg: GRPOConfig, reward_fn: RewardFn, device, generator: torch.Generator | None = None,
                   step: int = 0, expected_share: float | None = None) -> tuple[dict, list[Group]]:
    """grpo.grpo_step, with the rows sorted by length and the reference pass and the update done
    chunk by chunk. The same arguments and results."""
    timer = Timer()
    with timer("sample"):
        groups, sampled = sample_groups(policy, tokenizer, draw_problems, cfg, reward_fn, generator, expected_share)
    stats = rollout_stats(sampled, groups, tokenizer.eot_id)
    if not groups:  # every group scored all-equal: nothing to learn from this step
        return {**stats, **timer.times, "updated": 0.0}, sampled
    advantages = group_advantages(torch.cat([g.total_reward for g in groups]), cfg.group_size, cfg.normalize_std)
    prompts = [g.prompt for g in groups for _ in g.completions]
    completions = [c for g in groups for c in g.completions]
    row_lengths = [len(p) + len(c) - 1 for p, c in zip(prompts, completions)]  # inputs drop the last token
    # Longest rows first, so that each chunk of rows is cut to its own longest row: answers run from a
    # few tokens to ~150, and a batch padded to its longest row was ~45% padding. (The loss is a sum
    # over rows, so their order does not matter.)
    order = sorted(range(len(row_lengths)), key=row_lengths.__getitem__, reverse=True)
    inputs, targets, mask = completion_batch([prompts[i] for i in order], [completions[i] for i in order],
                                             tokenizer.pad_id, device)
    advantages = advantages[order].to(device)
    chunks = row_chunks([row_lengths[i] for i in order], cfg.update_chunk_tokens)
    with timer("reference"), torch.no_grad(), autocast(device):
        ref_logprobs = chunked_logprobs(ref_model, inputs, targets, chunks, cfg.temperature) if cfg.kl_coef else None
        old_logprobs = (chunked_logprobs(policy, inputs, targets, chunks, cfg.temperature)
                        if cfg.updates_per_batch > 1 else None)
    policy.train()
    with timer("update"):
        for _ in range(cfg.updates_per_batch):
            optimizer.zero_grad(set_to_none=True)
            totals = accumulate_gradient(policy, inputs, targets, mask, advantages, old_logprobs, ref_logprobs,
                                         chunks, cfg, device, step)
            grad_norm = torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.grad_clip)
            optimizer.step()
    policy.eval()
    return {**stats, **totals, "grad_norm": float(grad_norm), "updated": 1.0, "tokens_trained": float(mask.sum()),
            **timer.times}, sampled


def row_chunks(row_lengths: list[int], chunk_tokens: int) -> list[tuple[slice, int]]:
    """Cut a batch whose rows are sorted longest first into chunks of consecutive rows, returned as
    (rows, width): each chunk holds about `chunk_tokens` tokens, and only its first `width` columns
    (its longest row) hold anything but padding. chunk_tokens 0: the whole batch in one chunk."""
    if any(a < b for a, b in zip(row_lengths, row_lengths[1:])):
        raise ValueError("row_chunks needs the rows sorted longest first")
    if not chunk_tokens:
        return [(slice(0, len(row_lengths)), row_lengths[0])]
    chunks, start = [], 0
    while start < len(row_lengths):
        width = row_lengths[start]
        end = min(len(row_lengths), start + max(1, chunk_tokens // width))
        chunks.append((slice(start, end), width))
        start = end
    return chunks


def chunked_logprobs(model, inputs, targets, chunks, temperature: float) -> torch.Tensor:
    """completion_logprobs of the whole batch, computed chunk by chunk (0 past each chunk's width,
    where there is only padding): the reference pass, and π_old when μ > 1."""
    logprobs = torch.zeros(targets.shape, device=targets.device)
    for rows, width in chunks:
        logprobs[rows, :width] = completion_logprobs(model, inputs[rows, :width], targets[rows, :width], temperature)
    return logprobs


def accumulate_gradient(policy, inputs, targets, mask, advantages, old_logprobs, ref_logprobs, chunks,
                        cfg: GRPOConfig, device, step: int) -> dict:
    """Backpropagate the whole batch's grpo_loss, chunk of rows by chunk of rows (`row_chunks`): the
    same gradient sum, a fraction of the activation memory (a 128 x 125-token batch kept ~0.9 GB of
    activations for its backward), and no compute on the padding past each chunk's longest row.
    old_logprobs None: one update per batch, so π_old is π_θ detached (ρ = 1).
    Returns the batch's loss and diagnostics (token means)."""
    n_tokens = mask.sum()
    # Dr. GRPO's constant: the most completion tokens a batch could hold (used by aggregation "constant")
    max_batch_tokens = cfg.prompts_per_step * cfg.group_size * cfg.max_new_tokens
    totals = {"loss": 0.0, "entropy": 0.0}
    for rows, width in chunks:
        chunk_mask = mask[rows, :width]
        with autocast(device):
            logprobs, entropy = completion_logprobs(policy, inputs[rows, :width], targets[rows, :width],
                                                    cfg.temperature, with_entropy=True)
            old = logprobs.detach() if old_logprobs is None else old_logprobs[rows, :width]
            ref = None if ref_logprobs is None else ref_logprobs[rows, :width]
            loss, loss_stats = grpo_loss(logprobs, old, ref, advantages[rows], chunk_mask, clip_eps=cfg.clip_eps,
                                         kl_coef=cfg.kl_coef, clip_eps_high=cfg.clip_eps_high,
                                         aggregation=cfg.aggregation, constant_norm=max_batch_tokens)
        check_finite(loss, step, hint="lower --lr or raise --kl-coef")
        share = chunk_share(cfg.aggregation, chunk_mask, mask)
        (loss * share).backward()
        token_share = float(chunk_mask.sum() / n_tokens)
        totals["loss"] += float(loss.detach()) * share
        totals["entropy"] += float((entropy * chunk_mask).sum() / n_tokens)
        for key, value in loss_stats.items():  # token means: weighted by the chunk's tokens
            totals[key] = totals.get(key, 0.0) + value * token_share
    return totals


def chunk_share(aggregation: str, chunk_mask: torch.Tensor, mask: torch.Tensor) -> float:
    """The weight of one chunk of rows' grpo_loss in the whole batch's: a token mean weighs by the
    chunk's share of the tokens, a sequence mean by its share of the rows; a constant-normalised
    sum needs no weight. Summed over the chunks, the weighted losses give the batch's loss."""
    if aggregation == "token_mean":
        return float(chunk_mask.sum() / mask.sum().clamp(min=1))
    if aggregation == "seq_mean":
        return len(chunk_mask) / len(mask)
    return 1.0
