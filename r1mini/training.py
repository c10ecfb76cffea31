"""Small pieces every training loop shares (SFT and GRPO): optimizer, learning-rate schedule,
NaN guard, metrics file, resumable state. Kept apart so each loop reads as its algorithm only."""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from r1mini.checkpoint import CheckpointError, atomic_torch_save, rng_state, set_rng_state


def make_optimizer(model, lr: float, weight_decay: float, betas=(0.9, 0.95)) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on norms, biases or embeddings' 1-d params)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas)


def cosine_lr(step: int, total_steps: int, peak_lr: float, warmup_steps: int, min_ratio: float) -> float:
    """Linear warmup, then cosine decay to `min_ratio * peak_lr`."""
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return peak_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


class NonFiniteLossError(RuntimeError):
    pass


def check_finite(loss: torch.Tensor, step: int, hint: str = "lower the learning rate") -> None:
    """Stop at once on a NaN/inf loss instead of silently training garbage."""
    if not torch.isfinite(loss):
        raise NonFiniteLossError(f"loss is {loss.item()} at step {step}; stopping ({hint}). "
                                 "The last good checkpoint is kept; rerun with a fixed setting to resume.")


def append_jsonl(path: Path, record: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    if not Path(path).exists():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def save_resume_state(path: Path, model, optimizer, step: int, extra: dict | None = None) -> None:
    """Everything needed to continue a killed run from `step` (written atomically)."""
    atomic_torch_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                       "rng": rng_state(), "extra": extra or {}}, path)


def load_resume_state(path: Path, model, optimizer) -> tuple[int, dict]:
    """Restore a resume file into `model` and `optimizer`; returns (step, extra)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a run killed before the atomic rename never leaves this; a copied file might
        raise CheckpointError(f"{path} is not a readable resume file ({type(error).__name__}); "
                              "delete it to start the stage afresh") from None
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    set_rng_state(state["rng"])
    return state["step"], state["extra"]


def truncate_metrics(path: Path, step: int) -> None:
    """After a resume, drop metric lines written after the resumed step (they will be redone)."""
    records = [r for r in read_jsonl(path) if r.get("step", 0) <= step]
    Path(path).write_text("".join(json.dumps(r) + "\n" for r in records))
