"""Group Relative Policy Optimization (DeepSeekMath §4.1, eq. 3; DeepSeek-R1 §2.2.1).

For each question, sample a *group* of G answers from the current policy, score each with a rule,
and push up the answers that beat their group's average. No value network: the group mean is the
baseline. Reading order, which is also the order of one RL step:

  1. rollout               sample G answers per question at temperature T and score them
  2. sample_groups         DAPO's dynamic sampling: keep drawing questions until the batch is full
                           of groups whose rewards differ (an all-equal group has no signal)
  3. group_advantages      A_i = (r_i − mean(r)) / std(r) within each group  (outcome supervision)
  4. completion_logprobs   log π(o_t | q, o_<t) under softmax(logits / T), the distribution the
                           tokens were actually drawn from (on completion_batch's padded rows)
  5. grpo_loss             clipped-ratio surrogate − β·KL(π_θ‖π_ref), k3 estimator  (the objective J)
  6. grpo_step             1-5, then μ gradient steps on the whole batch at once

That is the whole algorithm. The scripts run `grpo_fast.fast_grpo_step`, the same step computed
chunk by chunk on length-sorted rows (less memory, no compute on padding; a test checks that both
give the same loss and gradient), and `rl_loop.train_grpo` is the loop of steps. Routing during RL:
the MoE router is part of the policy and learns only from the RL objective — no balance loss, no
bias nudge — because either would change the policy with no reward behind it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from r1mini.config import autocast
from r1mini.corpus import render_prompt
from r1mini.model import token_logprobs
from r1mini.sampler import generate
from r1mini.sft import IGNORE, collate
from r1mini.tasks import Problem
from r1mini.train_utils import Timer, check_finite

AGGREGATIONS = ("seq_mean", "token_mean", "constant")
DEFAULT_AGGREGATION = "token_mean"  # DAPO's: every token weighs the same, long answers are not down-weighted
ZERO_STD_GROUPS = ("resample", "drop", "keep")


@dataclass
class GRPOConfig:
    prompts_per_step: int = 16
    group_size: int = 8              # G
    lr: float = 3e-4
    kl_coef: float = 0.04            # β
    clip_eps: float = 0.2            # ε (ε_low)
    clip_eps_high: float | None = None  # asymmetric clip ("clip-higher", DAPO); None = ε
    updates_per_batch: int = 1       # μ
    max_new_tokens: int = 160        # a clean mul-4 solution is up to ~150 tokens
    temperature: float = 0.7         # R1 uses 1.0 (why 0.7 here: docs/design.md)
    aggregation: str = DEFAULT_AGGREGATION
    normalize_std: bool = True
    zero_std_groups: str = "resample"  # all-equal groups: resample (DAPO), drop them, or keep them
    max_sampling_rounds: int = 2     # resample: at most this many batches of questions per step
    grad_clip: float = 1.0
    weight_decay: float = 0.0
    update_chunk_tokens: int = 2048  # reference pass and update: chunks of rows of about this many tokens (0 = all)


@dataclass
class Group:
    """One question and the G answers sampled for it."""
    problem: Problem
    prompt: list[int]
    completions: list[list[int]]
    texts: list[str]
    rewards: dict[str, list[float]]  # reward component -> one value per answer

    @property
    def total_reward(self) -> torch.Tensor:
        """Each answer's reward: the sum of its components (accuracy + format [+ language])."""
        return torch.tensor([sum(parts) for parts in zip(*self.rewards.values())])

    @property
    def informative(self) -> bool:
        """A group whose answers all score the same has advantage 0 everywhere: nothing to learn."""
        return self.total_reward.unique().numel() > 1


RewardFn = Callable[[str, Problem], dict[str, float]]


def rollout(policy, tokenizer, problems: list[Problem], cfg: GRPOConfig, reward_fn: RewardFn,
            generator: torch.Generator | None = None) -> list[Group]:
    """Sample G completions per problem from the current policy and score each one."""
    prompts = [tokenizer.encode(render_prompt(p.question)) for p in problems]
    completions = generate(policy, [p for p in prompts for _ in range(cfg.group_size)], cfg.max_new_tokens,
                           temperature=cfg.temperature, stop_tokens=(tokenizer.eot_id,), pad_id=tokenizer.pad_id,
                           generator=generator)
    groups = []
    for i, (problem, prompt) in enumerate(zip(problems, prompts)):
        answers = completions[i * cfg.group_size:(i + 1) * cfg.group_size]
        texts = [tokenizer.decode(c) for c in answers]
        scored = [reward_fn(text, problem) for text in texts]
        groups.append(Group(problem, prompt, answers, texts, {k: [s[k] for s in scored] for k in scored[0]}))
    return groups


def sample_groups(policy, tokenizer, draw_problems: Callable[[int], list[Problem]], cfg: GRPOConfig,
                  reward_fn: RewardFn, generator=None, expected_share: float | None = None
                  ) -> tuple[list[Group], list[Group]]:
    """(groups to learn from, every group sampled).

    resample: DAPO's dynamic sampling — keep drawing questions until `prompts_per_step` groups
              have rewards that differ, or `max_sampling_rounds` rounds were drawn (at most as many
              questions as rounds of P, 2P, 2P, ... would hold). A round costs a full decode, while
              extra rows in it cost less: so the first round is sized by `expected_share`, the
              share of informative groups the curriculum expects (with a quarter to spare), and each
              extra round by the share seen so far;
    drop:     one batch, all-equal groups filtered out (fewer rows feed the update);
    keep:     one batch, used whole (all-equal groups add only KL)."""
    P, resample = cfg.prompts_per_step, cfg.zero_std_groups == "resample"
    most = P * (2 * cfg.max_sampling_rounds - 1) if resample else P  # what rounds of P, 2P, 2P, ... hold
    first = P
    if resample and expected_share is not None:  # enough for P informative groups, a quarter to spare
        first = min(most, max(P, math.ceil(1.25 * P / max(expected_share, 1e-3))))
    sampled = rollout(policy, tokenizer, draw_problems(first), cfg, reward_fn, generator)
    rounds = 1
    while resample and rounds < cfg.max_sampling_rounds:
        informative = sum(g.informative for g in sampled)
        missing = P - informative
        rate = max(informative / len(sampled), 0.25)
        more = min(math.ceil(missing / rate), 2 * P, most - len(sampled))
        if missing <= 0 or more <= 0:
            break
        sampled += rollout(policy, tokenizer, draw_problems(more), cfg, reward_fn, generator)
        rounds += 1
    if cfg.zero_std_groups == "keep":
        return sampled, sampled
    return [g for g in sampled if g.informative][:P], sampled


def rollout_stats(sampled, used, eot_id: int) -> dict:
    """Diagnostics of one GRPO step's rollouts: `sampled` are all groups drawn, `used` the ones the
    update learns from (dynamic sampling keeps the groups whose rewards differ)."""
    completions = [c for g in sampled for c in g.completions]
    lengths = torch.tensor([len(c) for c in completions], dtype=torch.float)
    totals = torch.cat([g.total_reward for g in sampled])
    stats = {"reward": float(totals.mean()), "reward_std": float(totals.std()),
             "frac_reward_zero_std": sum(not g.informative for g in sampled) / len(sampled),
             # groups no answer of which was right: RL gets no signal from them (distill.py reports it)
             "frac_groups_never_right": sum(not any(g.rewards.get("accuracy", [1])) for g in sampled) / len(sampled),
             "groups_sampled": len(sampled), "groups_used": len(used),
             "response_length": float(lengths.mean()), "response_length_max": float(lengths.max()),
             "truncation_rate": sum(not c or c[-1] != eot_id for c in completions) / len(completions)}
    for name in dict.fromkeys(name for g in sampled for name in g.rewards):  # R1 gives trivial questions no language term
        having = [g for g in sampled if name in g.rewards]
        stats[f"reward_{name}"] = sum(sum(g.rewards[name]) for g in having) / sum(len(g.completions) for g in having)
    return stats



def group_advantages(rewards: torch.Tensor, group_size: int, normalize_std: bool = True,
                     eps: float = 1e-4) -> torch.Tensor:
    """(r − group mean) / (group std + eps) for rewards laid out group after group.

    `normalize_std=False` is Dr. GRPO's fix: dividing by std over-weights groups that are almost
    all right or all wrong. A group whose rewards are all equal gets advantage 0 either way."""
    if rewards.numel() % group_size:
        raise ValueError(f"{rewards.numel()} rewards do not split into groups of {group_size}")
    grouped = rewards.float().view(-1, group_size)
    centered = grouped - grouped.mean(dim=1, keepdim=True)
    if normalize_std:
        centered = centered / (grouped.std(dim=1, keepdim=True) + eps)
    return centered.view(-1)


def completion_batch(prompts, completions, pad_id, device):
    """Right-padded prompt+completion rows, their next-token targets, and a 0/1 mask over the
    positions that predict completion tokens (the SFT collate, with the mask made explicit)."""
    inputs, targets = collate(list(zip(prompts, completions)), pad_id, device)
    mask = (targets != IGNORE).float()
    # gather() cannot index with IGNORE (-100); those positions are masked out anyway
    return inputs, targets.masked_fill(targets == IGNORE, pad_id), mask


def completion_logprobs(model, inputs, targets, temperature: float, with_entropy: bool = False):
    """log π(target) per position (and, with_entropy, the entropy of π, without gradient), where
    π = softmax(logits / T): the rollouts were sampled at temperature T, so that is the distribution
    the ratio, the KL and the entropy are about (for the policy, the old policy and the reference)."""
    logits = model(inputs) / temperature
    logprobs = token_logprobs(logits, targets)
    if not with_entropy:
        return logprobs
    with torch.no_grad():
        log_p = torch.log_softmax(logits.float(), dim=-1)
        entropy = -(log_p.exp() * log_p).sum(-1)
    return logprobs, entropy


def grpo_loss(logprobs: torch.Tensor, old_logprobs: torch.Tensor, ref_logprobs: torch.Tensor | None,
              advantages: torch.Tensor, mask: torch.Tensor, clip_eps: float = 0.2, kl_coef: float = 0.04,
              clip_eps_high: float | None = None, aggregation: str = DEFAULT_AGGREGATION,
              constant_norm: float | None = None) -> tuple[torch.Tensor, dict]:
    """The negated GRPO objective (to minimise) and diagnostics.

    logprobs, old_logprobs, ref_logprobs, mask: (batch, time), one entry per position of the
    prompt+completion rows, mask 1 where the position predicts a completion token (prompt and
    padding count for nothing); advantages: (batch,). Per token (DeepSeekMath eq. 3):
        ρ = π_θ/π_old,   surrogate = min(ρ·A, clip(ρ, 1−ε_low, 1+ε_high)·A)
        KL = π_ref/π_θ − log(π_ref/π_θ) − 1          (k3: unbiased and ≥ 0)
        objective = surrogate − β·KL
    With one update per rollout, old_logprobs = logprobs.detach(): ρ = 1 but ∇ρ = ∇log π_θ, so the
    gradient is the policy gradient A·∇log π_θ. Which KL: on tokens sampled from π_θ, k3's *value*
    estimates KL(π_θ‖π_ref), the paper's term; its *gradient* with the samples held fixed is
    (1 − π_ref/π_θ)·∇log π_θ, whose expectation under π_θ is ∇KL(π_ref‖π_θ), the other direction.
    Both are 0 at π_θ = π_ref and pull toward it; this is what DeepSeekMath's loss does too.
    Aggregation over tokens:
        seq_mean    mean over each sequence's tokens, then over sequences (GRPO paper)
        token_mean  mean over all tokens of the batch (DAPO: long answers are not down-weighted)
        constant    sum over tokens / constant_norm, a number fixed for the whole run
                    (Dr. GRPO: prompts × G × max new tokens; no length bias at all)
    """
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, not {aggregation!r}")
    if aggregation == "constant" and not constant_norm:
        raise ValueError("constant aggregation needs constant_norm (prompts_per_step * G * max_new_tokens)")
    clip_eps_high = clip_eps if clip_eps_high is None else clip_eps_high
    mask = mask.float()
    ratio = torch.exp(logprobs - old_logprobs)
    adv = advantages.unsqueeze(1)
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps_high) * adv
    surrogate = torch.minimum(unclipped, clipped)
    if ref_logprobs is not None and kl_coef != 0:
        # k3 in fp32, the log-ratio capped above only: exp() of a large one overflows. Below there is
        # no cap: where π_θ has drifted far above π_ref the KL is ≈ −log-ratio, finite, and its
        # gradient, the pull back to the reference, is strongest; a floor would zero it there.
        log_ref_ratio = (ref_logprobs.float() - logprobs.float()).clamp(max=20.0)
        kl = torch.exp(log_ref_ratio) - log_ref_ratio - 1
    else:
        kl = torch.zeros_like(surrogate)
    per_token = -(surrogate - kl_coef * kl)
    if aggregation == "seq_mean":
        loss = ((per_token * mask).sum(1) / mask.sum(1).clamp(min=1)).mean()
    elif aggregation == "token_mean":
        loss = (per_token * mask).sum() / mask.sum().clamp(min=1)
    else:
        loss = (per_token * mask).sum() / constant_norm
    n_tokens = mask.sum().clamp(min=1)
    with torch.no_grad():
        was_clipped = clipped < unclipped  # the min picked the clipped term
        stats = {"kl": float((kl * mask).sum() / n_tokens),
                 "clip_fraction": float((was_clipped.float() * mask).sum() / n_tokens),
                 "ratio_mean": float((ratio * mask).sum() / n_tokens)}
    return loss, stats


def grpo_step(policy, ref_model, optimizer, tokenizer, draw_problems: Callable[[int], list[Problem]],
              cfg: GRPOConfig, reward_fn: RewardFn, device, generator: torch.Generator | None = None,
              step: int = 0, expected_share: float | None = None) -> tuple[dict, list[Group]]:
    """One GRPO iteration: sample groups, advantages, `updates_per_batch` gradient steps on the
    whole batch at once. Returns (stats, every group sampled); stats hold what practitioners watch."""
    timer = Timer()
    with timer("sample"):
        groups, sampled = sample_groups(policy, tokenizer, draw_problems, cfg, reward_fn, generator, expected_share)
    stats = rollout_stats(sampled, groups, tokenizer.eot_id)
    if not groups:  # every group scored all-equal: nothing to learn from this step
        return {**stats, **timer.times, "updated": 0.0}, sampled
    advantages = group_advantages(torch.cat([g.total_reward for g in groups]), cfg.group_size, cfg.normalize_std)
    inputs, targets, mask = completion_batch([g.prompt for g in groups for _ in g.completions],
                                             [c for g in groups for c in g.completions], tokenizer.pad_id, device)
    with timer("reference"), torch.no_grad(), autocast(device):
        ref_logprobs = completion_logprobs(ref_model, inputs, targets, cfg.temperature) if cfg.kl_coef else None
        old_logprobs = completion_logprobs(policy, inputs, targets, cfg.temperature) if cfg.updates_per_batch > 1 else None
    policy.train()
    with timer("update"):
        for _ in range(cfg.updates_per_batch):
            optimizer.zero_grad(set_to_none=True)
            with autocast(device):
                logprobs, entropy = completion_logprobs(policy, inputs, targets, cfg.temperature, with_entropy=True)
                old = logprobs.detach() if old_logprobs is None else old_logprobs  # μ = 1: π_old = π_θ, ρ = 1
                loss, loss_stats = grpo_loss(logprobs, old, ref_logprobs, advantages.to(device), mask, cfg.clip_eps,
                                             cfg.kl_coef, cfg.clip_eps_high, cfg.aggregation,
                                             constant_norm=cfg.prompts_per_step * cfg.group_size * cfg.max_new_tokens)
            check_finite(loss, step, hint="lower --lr or raise --kl-coef")
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.grad_clip)
            optimizer.step()
    policy.eval()
    return {**stats, "loss": float(loss.detach()), "entropy": float((entropy * mask).sum() / mask.sum()), **loss_stats,
            "grad_norm": float(grad_norm), "updated": 1.0, "tokens_trained": float(mask.sum()), **timer.times}, sampled
