"""The one supervised training loop: base pretraining, R1's cold start, rejection-sampling SFT
and distillation all call `train_sft`.

An example is a (prompt, completion) pair of token lists. The loss is next-token cross-entropy on
the completion only: the prompt is given, not something the model should learn to write (for the
synthetic questions it is random digits anyway). Rows are right-padded, one example per row, and
batches are built from examples of similar length (`length_bucketed_batches`) so little compute
is spent on padding.

Reading order: `collate` → `length_bucketed_batches` → `train_sft`.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from tqdm import tqdm

from r1mini.config import autocast
from r1mini.training import (append_jsonl, check_finite, cosine_lr, load_resume_state, make_optimizer,
                             save_resume_state, set_lr, truncate_metrics)

Example = tuple[list[int], list[int]]  # (prompt ids, completion ids)
IGNORE = -100


@dataclass
class SFTConfig:
    steps: int = 1000
    batch_size: int = 64
    lr: float = 3e-3
    warmup_steps: int = 50
    min_lr_ratio: float = 0.1
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


def sft_loss(model, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(total loss, token cross-entropy): cross-entropy plus the MoE sequence-wise balance loss."""
    logits = model(inputs)
    cross_entropy = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE)
    return cross_entropy + model.aux_loss, cross_entropy


def train_sft(model, make_examples: Callable[[int], Iterator[Example]], cfg: SFTConfig, device,
              out_dir: str | Path, pad_id: int, desc: str = "sft", seed: int = 0) -> dict:
    """Train `model` for cfg.steps steps on examples from `make_examples(start_step)`.

    Writes `metrics.jsonl` in `out_dir` and a `resume.pt` every `resume_every` steps; if a
    `resume.pt` is found, training continues from it (the caller deletes it when the stage is done).
    Returns the last logged metrics."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics_path, resume_path = out_dir / "metrics.jsonl", out_dir / "resume.pt"
    model.to(device).train()
    optimizer = make_optimizer(model, cfg.lr, cfg.weight_decay)
    start = 0
    if resume_path.exists():
        start, _ = load_resume_state(resume_path, model, optimizer)
        truncate_metrics(metrics_path, start)
        print(f"[{desc}] resuming from step {start} ({resume_path})")
    elif metrics_path.exists():
        metrics_path.unlink()  # a fresh run starts a fresh log
    batches = length_bucketed_batches(make_examples(start), cfg.batch_size, cfg.bucket_batches,
                                      random.Random(seed * 7919 + start))
    last, tokens_seen, t0 = {}, 0, time.perf_counter()
    bar = tqdm(range(start, cfg.steps), desc=desc, initial=start, total=cfg.steps, dynamic_ncols=True)
    for step in bar:
        lr = cosine_lr(step, cfg.steps, cfg.lr, cfg.warmup_steps, cfg.min_lr_ratio)
        set_lr(optimizer, lr)
        inputs, targets = collate(next(batches), pad_id, device)
        with autocast(device):
            loss, cross_entropy = sft_loss(model, inputs, targets)
        check_finite(loss, step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        balance = model.update_expert_bias()  # aux-loss-free balancing: nudge after each step
        tokens_seen += int((targets != IGNORE).sum())
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            elapsed = time.perf_counter() - t0
            last = {"step": step + 1, "loss": round(cross_entropy.item(), 4), "lr": lr,
                    "grad_norm": round(float(grad_norm), 4), "target_tokens_per_s": round(tokens_seen / elapsed, 1),
                    **{k: round(v, 4) for k, v in balance.items()}}
            append_jsonl(metrics_path, last)
            bar.set_postfix(loss=f"{cross_entropy.item():.3f}", lr=f"{lr:.1e}")
        if (step + 1) % cfg.resume_every == 0 and step + 1 < cfg.steps:
            save_resume_state(resume_path, model, optimizer, step + 1)
    bar.close()
    model.eval()
    return last
