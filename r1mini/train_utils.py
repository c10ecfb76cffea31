"""Training odds and ends every loop uses: the optimizers, the learning rate, the NaN guard, a timer.
Machinery, not algorithm: a student may skip this file. It imports torch only."""
from __future__ import annotations

import time
from contextlib import contextmanager

import torch


def make_optimizer(model, lr: float, weight_decay: float, betas=(0.9, 0.95)) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on norms, biases or embeddings' 1-d params).
    foreach: one call per update op for all tensors instead of a Python loop over them (the default
    on CUDA, not on a CPU): the same arithmetic, so the same bits, and a 6% faster pretraining step
    on the cpu preset's 105 tensors (2 threads)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas, foreach=True)


def hidden_matrices(model) -> list:
    """The 2-D weights Muon trains: attention, the dense feed-forward layer and the shared experts.
    The embedding, tied to the output head, is the input and output layer, which the Muon recipes
    (modded-nanogpt, Moonshot) leave to AdamW; so is the router's gate, a small output layer of
    per-expert scores, and so are the norms. So are the routed experts, for speed: torch.optim.Muon
    orthogonalises one matrix at a time, and their 72 small matrices made its step cost 130 ms against
    19 ms without them (cpu preset, 2 threads), most of a whole forward and backward."""
    return [p for name, p in model.named_parameters()
            if p.requires_grad and p.dim() == 2 and name.startswith("layers.")
            and ".gate." not in name and ".experts." not in name]


class MuonAdamW:
    """Muon (momentum orthogonalised by a Newton-Schulz iteration; torch.optim.Muon) for the hidden
    matrices and AdamW for every other parameter, stepped as one optimizer so that the training loop,
    the learning-rate schedule and resume files need not know there are two.

    Muon's update has the same size in every direction of a matrix, where Adam's follows each
    coordinate's gradient scale; Jordan et al.'s modded-nanogpt speedrun and Moonshot ("Muon is
    scalable for LLM training", 2025) train in fewer steps with it. adjust_lr_fn="match_rms_adamw"
    scales each update to AdamW's typical size (Moonshot), so one peak learning rate and one schedule
    serve both."""

    def __init__(self, model, lr: float, weight_decay: float, betas=(0.9, 0.95)):
        hidden = hidden_matrices(model)
        hidden_ids = {id(p) for p in hidden}
        rest = [p for p in model.parameters() if p.requires_grad and id(p) not in hidden_ids]
        self.muon = torch.optim.Muon(hidden, lr=lr, weight_decay=weight_decay, adjust_lr_fn="match_rms_adamw")
        # the rest: the embedding/head and the gate decay like any matrix; norms do not
        groups = [{"params": [p for p in rest if p.dim() >= 2], "weight_decay": weight_decay},
                  {"params": [p for p in rest if p.dim() < 2], "weight_decay": 0.0}]
        self.adamw = torch.optim.AdamW(groups, lr=lr, betas=betas, foreach=True)

    @property
    def param_groups(self) -> list[dict]:
        return self.muon.param_groups + self.adamw.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.muon.zero_grad(set_to_none)
        self.adamw.zero_grad(set_to_none)

    def step(self) -> None:
        self.muon.step()
        self.adamw.step()

    def state_dict(self) -> dict:
        return {"muon": self.muon.state_dict(), "adamw": self.adamw.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.muon.load_state_dict(state["muon"])
        self.adamw.load_state_dict(state["adamw"])


def set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


class NonFiniteLossError(RuntimeError):
    pass


def check_finite(loss: torch.Tensor, step: int, hint: str = "lower the learning rate") -> None:
    """Stop at once on a NaN/inf loss instead of silently training garbage."""
    if not torch.isfinite(loss):
        raise NonFiniteLossError(f"loss is {loss.item()} at step {step}; stopping ({hint}). The last resume "
                                 "file is kept; start again with a fixed setting (--overwrite or a new --out-dir).")


class Timer:
    """`with timer("sample"): ...` adds the block's wall time to timer.times["time_sample"]."""

    def __init__(self):
        self.times: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        yield
        key = f"time_{name}"
        self.times[key] = self.times.get(key, 0.0) + time.perf_counter() - start

