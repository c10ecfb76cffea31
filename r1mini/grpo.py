"""Group Relative Policy Optimization (DeepSeekMath §4.1, eq. 3; DeepSeek-R1 §2.2.1).

For each question, sample a *group* of G answers from the current policy, score each with a rule,
and push up the answers that beat their group's average. No value network: the group mean is the
baseline. Reading order:

  1. group_advantages   A_i = (r_i − mean(r)) / std(r) within each group    (outcome supervision)
  2. grpo_loss          clipped-ratio surrogate − β·KL(π_θ‖π_ref), k3 estimator   (the objective J)
  3. Curriculum         keeps sampling (task, level) pairs the policy sometimes but not always solves
  4. grpo_step          rollout → rewards → advantages → μ gradient updates

Every RL stage (R1-Zero, R1's reasoning RL, the final RL, RL on the distillation student) calls
`grpo_step`, so the loss lives in exactly one place.
"""
from __future__ import annotations

import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

import torch

from r1mini.config import autocast
from r1mini.corpus import render_prompt
from r1mini.model import token_logprobs
from r1mini.sampler import generate
from r1mini.sft import IGNORE, collate
from r1mini.tasks import TRAIN_LEVELS, Problem, generate_problem
from r1mini.training import check_finite

AGGREGATIONS = ("seq_mean", "token_mean", "constant")


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


def grpo_loss(logprobs: torch.Tensor, old_logprobs: torch.Tensor, ref_logprobs: torch.Tensor | None,
              advantages: torch.Tensor, mask: torch.Tensor, clip_eps: float = 0.2, kl_coef: float = 0.04,
              clip_eps_high: float | None = None, aggregation: str = "seq_mean",
              max_tokens: int | None = None) -> tuple[torch.Tensor, dict]:
    """The negated GRPO objective (to minimise) and diagnostics.

    logprobs, old_logprobs, ref_logprobs, mask: (batch, time), one entry per completion token;
    advantages: (batch,). Per token (DeepSeekMath eq. 3):
        ρ = π_θ/π_old,   surrogate = min(ρ·A, clip(ρ, 1−ε_low, 1+ε_high)·A)
        KL = π_ref/π_θ − log(π_ref/π_θ) − 1          (k3: unbiased and ≥ 0)
        objective = surrogate − β·KL
    With one update per rollout, old_logprobs = logprobs.detach(): ρ = 1 but ∇ρ = ∇log π_θ, so the
    gradient is the policy gradient A·∇log π_θ. Aggregation over tokens:
        seq_mean    mean over each sequence's tokens, then over sequences (GRPO paper)
        token_mean  mean over all tokens of the batch (DAPO: long answers are not down-weighted)
        constant    sum over tokens / (batch · max_tokens) (Dr. GRPO: no length bias at all)
    """
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, not {aggregation!r}")
    clip_eps_high = clip_eps if clip_eps_high is None else clip_eps_high
    mask = mask.float()
    ratio = torch.exp(logprobs - old_logprobs)
    adv = advantages.unsqueeze(1)
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps_high) * adv
    surrogate = torch.minimum(unclipped, clipped)
    if ref_logprobs is not None and kl_coef != 0:
        # k3 in fp32 with the log-ratio clamped: exp() of a large log-ratio overflows otherwise
        log_ref_ratio = (ref_logprobs.float() - logprobs.float()).clamp(-20.0, 20.0)
        kl = torch.exp(log_ref_ratio) - log_ref_ratio - 1
    else:
        kl = torch.zeros_like(surrogate)
    per_token = -(surrogate - kl_coef * kl)
    if aggregation == "seq_mean":
        loss = ((per_token * mask).sum(1) / mask.sum(1).clamp(min=1)).mean()
    elif aggregation == "token_mean":
        loss = (per_token * mask).sum() / mask.sum().clamp(min=1)
    else:
        loss = (per_token * mask).sum() / (mask.shape[0] * (max_tokens or mask.shape[1]))
    n_tokens = mask.sum().clamp(min=1)
    with torch.no_grad():
        was_clipped = (unclipped != clipped) & (clipped < unclipped)  # the min picked the clipped term
        stats = {"kl": float((kl * mask).sum() / n_tokens),
                 "clip_fraction": float((was_clipped.float() * mask).sum() / n_tokens),
                 "ratio_mean": float((ratio * mask).sum() / n_tokens)}
    return loss, stats


# ---------------------------------------------------------------- curriculum

@dataclass
class Curriculum:
    """Online curriculum: favour (task, level) pairs whose recent pass rate is in [low, high].

    A group that is all right or all wrong has zero advantage and teaches nothing; problems at the
    edge of the policy's ability give the most signal. Pass rates are exponential moving averages
    of the rollouts' accuracy; pairs outside the band keep a small weight so they are re-checked."""
    tasks: tuple[str, ...]
    low: float = 0.1
    high: float = 0.9
    outside_weight: float = 0.15
    momentum: float = 0.7
    enabled: bool = True
    pass_rate: dict = field(default_factory=dict)

    def pairs(self) -> list[tuple[str, int]]:
        return [(t, lv) for t in self.tasks for lv in TRAIN_LEVELS[t]]

    def weight(self, pair) -> float:
        rate = self.pass_rate.get(f"{pair[0]}-{pair[1]}", 0.5)
        return 1.0 if self.low <= rate <= self.high else self.outside_weight

    def sample(self, rng: random.Random, n: int) -> list[Problem]:
        pairs = self.pairs()
        weights = [self.weight(p) if self.enabled else 1.0 for p in pairs]
        return [generate_problem(rng, task, level, "train") for task, level in rng.choices(pairs, weights, k=n)]

    def update(self, problems: list[Problem], accuracies: list[float]) -> None:
        seen = defaultdict(list)
        for problem, accuracy in zip(problems, accuracies):
            seen[f"{problem.task}-{problem.level}"].append(accuracy)
        for key, values in seen.items():
            old = self.pass_rate.get(key, sum(values) / len(values))
            self.pass_rate[key] = self.momentum * old + (1 - self.momentum) * sum(values) / len(values)


# ---------------------------------------------------------------- one GRPO iteration

@dataclass
class GRPOConfig:
    prompts_per_step: int = 16
    group_size: int = 8              # G
    lr: float = 3e-4
    kl_coef: float = 0.04            # β
    clip_eps: float = 0.2            # ε (ε_low)
    clip_eps_high: float | None = None  # asymmetric clip ("clip-higher", DAPO); None = ε
    updates_per_batch: int = 1       # μ
    max_new_tokens: int = 128
    temperature: float = 0.7         # R1 uses 1.0; our tiny base slips too often at 1.0 (see README)
    aggregation: str = "token_mean"  # per-sequence mean grew length more slowly in a 30-step A/B
    normalize_std: bool = True
    skip_zero_std: bool = True       # drop groups whose rewards are all equal (DAPO dynamic sampling)
    grad_clip: float = 1.0
    weight_decay: float = 0.0
    router_bias_speed: float = 0.0   # γ during RL: 0 keeps routing fixed (a bias nudge changes the
                                     # policy without any reward behind it); pretraining uses cfg's γ


@dataclass
class Rollout:
    problems: list[Problem]          # one entry per completion (each problem repeated G times)
    prompts: list[list[int]]
    completions: list[list[int]]
    texts: list[str]
    rewards: dict[str, torch.Tensor]  # component name -> (N*G,)
    total: torch.Tensor


RewardFn = Callable[[str, Problem], dict[str, float]]


def rollout(policy, tokenizer, problems: list[Problem], cfg: GRPOConfig, reward_fn: RewardFn,
            generator: torch.Generator | None = None) -> Rollout:
    """Sample G completions per problem from the current policy and score them."""
    repeated = [p for p in problems for _ in range(cfg.group_size)]
    prompts = [tokenizer.encode(render_prompt(p.question)) for p in repeated]
    completions = generate(policy, prompts, cfg.max_new_tokens, temperature=cfg.temperature,
                           stop_tokens=(tokenizer.eot_id,), pad_id=tokenizer.pad_id, generator=generator)
    texts = [tokenizer.decode(c) for c in completions]
    scored = [reward_fn(text, problem) for text, problem in zip(texts, repeated)]
    rewards = {name: torch.tensor([s[name] for s in scored]) for name in scored[0]}
    total = sum(rewards.values())
    return Rollout(repeated, prompts, completions, texts, rewards, total)


def completion_batch(prompts, completions, pad_id, device):
    """Right-padded prompt+completion rows, their next-token targets, and a 0/1 mask over the
    positions that predict completion tokens (the SFT collate, with the mask made explicit)."""
    inputs, targets = collate(list(zip(prompts, completions)), pad_id, device)
    mask = (targets != IGNORE).float()
    return inputs, targets.masked_fill(targets == IGNORE, pad_id), mask


def sequence_logprobs(model, inputs, targets, with_entropy: bool = False):
    """Per-token log π(target) (and the policy's entropy) from one forward pass."""
    logits = model(inputs)
    logprobs = token_logprobs(logits, targets)
    if not with_entropy:
        return logprobs
    with torch.no_grad():
        log_p = torch.log_softmax(logits.float(), dim=-1)
        entropy = -(log_p.exp() * log_p).sum(-1)
    return logprobs, entropy


def grpo_step(policy, ref_model, optimizer, tokenizer, problems: list[Problem], cfg: GRPOConfig,
              reward_fn: RewardFn, device, generator: torch.Generator | None = None,
              step: int = 0) -> tuple[dict, Rollout]:
    """One GRPO iteration: rollout, advantages, `updates_per_batch` gradient steps. Returns
    (stats, rollout); stats hold what practitioners watch (reward, KL, clip fraction, entropy, …)."""
    timings = {}
    t0 = time.perf_counter()
    batch = rollout(policy, tokenizer, problems, cfg, reward_fn, generator)
    timings["time_sample"] = time.perf_counter() - t0
    advantages = group_advantages(batch.total, cfg.group_size, cfg.normalize_std)
    group_std = batch.total.view(-1, cfg.group_size).std(dim=1)
    keep = torch.ones(len(batch.total), dtype=torch.bool)
    if cfg.skip_zero_std:  # all-equal groups have A = 0: they would only add KL and dilute the mean
        keep = (group_std > 0).repeat_interleave(cfg.group_size)
    lengths = torch.tensor([len(c) for c in batch.completions], dtype=torch.float)
    truncated = torch.tensor([(not c or c[-1] != tokenizer.eot_id) for c in batch.completions], dtype=torch.float)
    stats = {
        "reward": float(batch.total.mean()), "reward_std": float(batch.total.std()),
        **{f"reward_{k}": float(v.mean()) for k, v in batch.rewards.items()},
        "frac_reward_zero_std": float((group_std == 0).float().mean()),
        "response_length": float(lengths.mean()), "response_length_max": float(lengths.max()),
        "truncation_rate": float(truncated.mean()),
    }
    index = keep.nonzero().flatten().tolist()
    if not index:  # nothing to learn from this batch
        return {**stats, **timings, "updated": 0.0}, batch
    t1 = time.perf_counter()
    inputs, targets, mask = completion_batch([batch.prompts[i] for i in index], [batch.completions[i] for i in index],
                                             tokenizer.pad_id, device)
    adv = advantages[index].to(device)
    with torch.no_grad(), autocast(device):
        ref_logprobs = sequence_logprobs(ref_model, inputs, targets) if cfg.kl_coef else None
        old_logprobs = sequence_logprobs(policy, inputs, targets) if cfg.updates_per_batch > 1 else None
    timings["time_reference"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    policy.train()
    for _ in range(cfg.updates_per_batch):
        with autocast(device):
            logprobs, entropy = sequence_logprobs(policy, inputs, targets, with_entropy=True)
            old = logprobs.detach() if old_logprobs is None else old_logprobs
            loss, loss_stats = grpo_loss(logprobs, old, ref_logprobs, adv, mask, cfg.clip_eps, cfg.kl_coef,
                                         cfg.clip_eps_high, cfg.aggregation, cfg.max_new_tokens)
            loss = loss + policy.aux_loss
        check_finite(loss, step, hint="lower --lr or raise --kl-coef")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.grad_clip)
        optimizer.step()
        balance = policy.update_expert_bias(cfg.router_bias_speed)
    policy.eval()
    timings["time_update"] = time.perf_counter() - t2
    stats.update(loss=float(loss.detach()), grad_norm=float(grad_norm), updated=1.0,
                 entropy=float((entropy * mask).sum() / mask.sum()), **loss_stats, **balance, **timings)
    return stats, batch
