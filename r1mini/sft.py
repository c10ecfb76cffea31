"""The one supervised training loop: base pretraining, R1's cold start, rejection-sampling SFT
and distillation all call `train_sft`.

An example is a (prompt, completion) pair of token lists. The loss is next-token cross-entropy on
the completion only: the prompt is given, not something the model should learn to write (for the
synthetic questions it is random digits anyway). Rows are right-padded, one example per row, and
batches are built from examples of similar length (`length_bucketed_batches`) so little compute
is spent on padding.

Reading order: `collate` → `length_bucketed_batches` → `cosine_lr`, `wsd_lr` → `sft_step` → `train_sft`, then
`finetune`: a pretrained checkpoint trained on a fixed set of examples (R1's cold start and
rejection-sampling SFT, and distillation).
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from tqdm import tqdm

from r1mini.checkpoint import load_checkpoint
from r1mini.config import autocast
from r1mini.rundir import RunDir
from r1mini.train_utils import MuonAdamW, check_finite, make_optimizer, set_lr

Example = tuple[list[int], list[int]]  # (prompt ids, completion ids)
IGNORE = -100


@dataclass
class SFTConfig:
    steps: int = 1000
    batch_size: int = 64
    lr: float = 3e-3
    warmup_steps: int = 50
    min_lr_ratio: float = 0.1
    schedule: str = "cosine"     # "cosine", or "wsd": warmup, stable, then a linear decay over decay_fraction
    decay_fraction: float = 0.3
    optimizer: str = "adamw"     # "adamw", or "muon": Muon for the hidden matrices, AdamW for the rest
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    bucket_batches: int = 8      # sort this many batches' worth of examples by length
    log_every: int = 10
    resume_every: int = 100      # write a resume file this often (steps)


def collate(examples: Sequence[Example], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded inputs and targets; targets are IGNORE on the prompt and on padding."""
    rows = [prompt + completion for prompt, completion in examples]
    width = max(len(r) for r in rows) - 1
    inputs = torch.full((len(rows), width), pad_id, dtype=torch.long)
    targets = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    for i, ((prompt, completion), row) in enumerate(zip(examples, rows)):
        inputs[i, : len(row) - 1] = torch.tensor(row[:-1])
        # position t predicts token t+1: completion tokens are predicted from len(prompt)-1 on
        targets[i, len(prompt) - 1: len(row) - 1] = torch.tensor(completion)
    return inputs.to(device), targets.to(device)


def length_bucketed_batches(examples: Iterator[Example], batch_size: int, bucket_batches: int,
                            rng: random.Random) -> Iterator[list[Example]]:
    """Take `bucket_batches` batches' worth of examples, sort by length, cut into batches and
    yield them in random order: rows in a batch have similar lengths, so padding stays small."""
    while True:
        pool = [next(examples) for _ in range(batch_size * bucket_batches)]
        pool.sort(key=lambda ex: len(ex[0]) + len(ex[1]))
        batches = [pool[i: i + batch_size] for i in range(0, len(pool), batch_size)]
        rng.shuffle(batches)
        yield from batches


def cosine_lr(step: int, total_steps: int, peak_lr: float, warmup_steps: int, min_ratio: float) -> float:
    """Linear warmup, then cosine decay to `min_ratio * peak_lr` (R1's SFT stages decay to 1/10)."""
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return peak_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def wsd_lr(step: int, total_steps: int, peak_lr: float, warmup_steps: int, min_ratio: float,
           decay_fraction: float) -> float:
    """Warmup-stable-decay (MiniCPM; modded-nanogpt, nanochat): linear warmup, the peak rate held,
    then a linear decay to `min_ratio * peak_lr` over the last `decay_fraction` of the steps. Holding
    the peak longer than a cosine does makes faster progress; the short final decay collects it."""
    decay_start = total_steps - int(decay_fraction * total_steps)
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    if step < decay_start:
        return peak_lr
    progress = (step - decay_start + 1) / max(1, total_steps - decay_start)
    return peak_lr * (1 - (1 - min_ratio) * progress)


def learning_rate(step: int, cfg: SFTConfig) -> float:
    if cfg.schedule == "wsd":
        return wsd_lr(step, cfg.steps, cfg.lr, cfg.warmup_steps, cfg.min_lr_ratio, cfg.decay_fraction)
    if cfg.schedule == "cosine":
        return cosine_lr(step, cfg.steps, cfg.lr, cfg.warmup_steps, cfg.min_lr_ratio)
    raise ValueError(f"unknown schedule {cfg.schedule!r}; choose cosine or wsd")


def make_sft_optimizer(model, cfg: SFTConfig):
    if cfg.optimizer == "muon":
        return MuonAdamW(model, cfg.lr, cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return make_optimizer(model, cfg.lr, cfg.weight_decay)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}; choose adamw or muon")


def sft_step(model, optimizer, inputs: torch.Tensor, targets: torch.Tensor, pad_id: int, grad_clip: float,
             step: int) -> dict:
    """One supervised step: cross-entropy on the completion tokens + the MoE balance loss, then the
    aux-loss-free bias nudge (V3 §2.1.2) from this batch's expert loads."""
    with autocast(inputs.device):
        logits, routing = model(inputs, real_tokens=inputs != pad_id)
        cross_entropy = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE)
        loss = cross_entropy + routing.balance_loss
    check_finite(loss, step)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    model.update_expert_bias(routing.expert_counts)
    return {"loss": cross_entropy.item(), "grad_norm": float(grad_norm), **routing.load_stats()}


def train_sft(model, examples: Iterator[Example], cfg: SFTConfig, device, run: RunDir, pad_id: int,
              desc: str = "sft", seed: int = 0) -> dict:
    """Train `model` for cfg.steps steps on a reproducible stream of examples.

    Logs to `run`'s metrics.jsonl and writes its resume file every `resume_every` steps; a resumed
    run skips the batches it already trained on, so it is the same run as an uninterrupted one.
    Returns the last logged metrics."""
    model.to(device).train()
    optimizer = make_sft_optimizer(model, cfg)
    learning_rate(0, cfg)  # an unknown schedule fails here, before any work
    batches = length_bucketed_batches(examples, cfg.batch_size, cfg.bucket_batches, random.Random(seed * 7919))
    start, _ = run.resume(model, optimizer)
    for _ in range(start):  # fast-forward the data stream (cheap next to a training step)
        next(batches)
    last, tokens_seen, t0 = {}, 0, time.perf_counter()
    bar = tqdm(range(start, cfg.steps), desc=desc, initial=start, total=cfg.steps, dynamic_ncols=True)
    for step in bar:
        lr = learning_rate(step, cfg)
        set_lr(optimizer, lr)
        inputs, targets = collate(next(batches), pad_id, device)
        stats = sft_step(model, optimizer, inputs, targets, pad_id, cfg.grad_clip, step)
        tokens_seen += int((targets != IGNORE).sum())
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            # target tokens and seconds since the last line: summed over the log, a run's compute
            seconds = time.perf_counter() - t0
            last = {"step": step + 1, "lr": lr, "target_tokens": tokens_seen, "seconds": round(seconds, 3),
                    "target_tokens_per_s": round(tokens_seen / seconds, 1), **{k: round(v, 4) for k, v in stats.items()}}
            run.log(last)
            tokens_seen, t0 = 0, time.perf_counter()
            bar.set_postfix(loss=f"{stats['loss']:.3f}", lr=f"{lr:.1e}")
        if (step + 1) % cfg.resume_every == 0 or step + 1 == cfg.steps:  # the caller's finish() drops it
            run.save_resume(model, optimizer, step + 1)
    bar.close()
    model.eval()
    return last


def shuffled_epochs(examples: Sequence[Example], seed: int) -> Iterator[Example]:
    """An endless stream of the examples, reshuffled each epoch (reproducibly)."""
    rng = random.Random(seed)
    while True:
        order = list(range(len(examples)))
        rng.shuffle(order)
        yield from (examples[i] for i in order)


def finetune(checkpoint, examples: Sequence[Example], steps: int, batch_size: int, lr: float, device, run: RunDir,
             seed: int, desc: str, resume_every: int = 100):
    """Load a pretrained checkpoint and train it on `examples` (completion-only loss), warmup then
    cosine decay to 1/10 as R1's SFT stages and distillation do. Returns the trained model."""
    model, tokenizer, _ = load_checkpoint(checkpoint, device)
    cfg = SFTConfig(steps=steps, batch_size=batch_size, lr=lr, warmup_steps=min(20, steps // 5), resume_every=resume_every)
    train_sft(model, shuffled_epochs(examples, seed), cfg, device, run, tokenizer.pad_id, desc=desc, seed=seed)
    return model
