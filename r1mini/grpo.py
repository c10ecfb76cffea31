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
  6. accumulate_gradient   ∇ of the batch's loss, summed over chunks of rows (chunk_share weighs them);
                           rows are sorted by length and each chunk is cut to its longest row (row_chunks)
  7. grpo_step             1-6, then μ gradient steps;  train_grpo: the loop of steps (with resume)

Every RL stage calls `grpo_step`, so the loss lives in exactly one place. Routing during RL: the
MoE router is part of the policy and learns only from the RL objective — no balance loss, no bias
nudge — because either would change the policy with no reward behind it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from r1mini.config import autocast
from r1mini.corpus import render_prompt
from r1mini.harness import Timer, check_finite, rollout_stats
from r1mini.model import token_logprobs
from r1mini.sampler import generate
from r1mini.sft import IGNORE, collate
from r1mini.tasks import Problem

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
    temperature: float = 0.7         # R1 uses 1.0 (why 0.7 here: README, "Design notes")
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
    gradient is the policy gradient A·∇log π_θ. Aggregation over tokens:
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


def chunk_share(aggregation: str, chunk_mask: torch.Tensor, mask: torch.Tensor) -> float:
    """The weight of one chunk of rows' grpo_loss in the whole batch's: a token mean weighs by the
    chunk's share of the tokens, a sequence mean by its share of the rows; a constant-normalised
    sum needs no weight. Summed over the chunks, the weighted losses give the batch's loss."""
    if aggregation == "token_mean":
        return float(chunk_mask.sum() / mask.sum().clamp(min=1))
    if aggregation == "seq_mean":
        return len(chunk_mask) / len(mask)
    return 1.0


def grpo_step(policy, ref_model, optimizer, tokenizer, draw_problems: Callable[[int], list[Problem]],
              cfg: GRPOConfig, reward_fn: RewardFn, device, generator: torch.Generator | None = None,
              step: int = 0, expected_share: float | None = None) -> tuple[dict, list[Group]]:
    """One GRPO iteration: sample groups, advantages, `updates_per_batch` gradient steps.
    Returns (stats, every group sampled); stats hold what practitioners watch."""
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


def train_grpo(policy, ref_model, tokenizer, cfg: GRPOConfig, run, steps: int, curriculum,
               rng, reward_for_step: Callable[[int], RewardFn], device, desc: str, evaluate=None,
               eval_every: int = 0, resume_every: int = 10, ref_reset_every: int = 0) -> None:
    """One RL stage: `steps` calls of `grpo_step` on questions the curriculum picks, one metrics line
    per step, a small held-out `evaluate(policy, step)` every `eval_every` steps, and a resume file
    every `resume_every` steps (`run` is a harness.RunDir). R1-Zero and both RL stages of R1 run
    through here; `reward_for_step(step)` lets R1's last stage switch a reward on part-way."""
    from tqdm import tqdm

    from r1mini.checkpoint import python_rng_state
    from r1mini.harness import make_optimizer
    optimizer = make_optimizer(policy, cfg.lr, cfg.weight_decay)
    start, saved = run.resume(policy, optimizer)
    if saved:
        ref_model.load_state_dict(saved["ref_model"])
        curriculum.pass_rate = saved["pass_rate"]
        rng.setstate(python_rng_state(saved["py_rng"]))
    elif evaluate:
        run.log(evaluate(policy, 0))
    for step in tqdm(range(start, steps), desc=desc, initial=start, total=steps):
        if ref_reset_every and step and step % ref_reset_every == 0:
            ref_model.load_state_dict(policy.state_dict())  # R1 v2 resets the reference every 400 steps
        stats, sampled = grpo_step(policy, ref_model, optimizer, tokenizer, lambda n: curriculum.sample(rng, n),
                                   cfg, reward_for_step(step), device, step=step,
                                   expected_share=curriculum.informative_share())
        curriculum.update([g.problem for g in sampled], [sum(g.rewards["accuracy"]) / len(g.texts) for g in sampled])
        run.log({"step": step + 1, **{k: round(v, 5) for k, v in stats.items()}, "curriculum": dict(curriculum.pass_rate)})
        if evaluate and (step + 1 == steps or eval_every and (step + 1) % eval_every == 0):
            run.log(evaluate(policy, step + 1))
        if step + 1 == steps or (step + 1) % resume_every == 0:  # kept until the stage's report is written
            run.save_resume(policy, optimizer, step + 1, {"ref_model": ref_model.state_dict(),
                                                          "pass_rate": curriculum.pass_rate, "py_rng": rng.getstate()})
