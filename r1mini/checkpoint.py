"""Checkpoints: atomic save, safe load, resume.

A checkpoint is one dict of tensors and plain Python values, so it loads with
`torch.load(..., weights_only=True)` (no pickled code is ever executed). It holds the model weights
and config, the tokenizer's fingerprint (a model must never meet the wrong vocabulary), free-form
`meta` (stage, metrics) and, for resuming, the optimizer state, the step and the RNG states.
Files are written to a temporary name and renamed, so a run killed mid-save never leaves a
half-written checkpoint behind.
"""
from __future__ import annotations

import os
import random
from pathlib import Path

import torch

from r1mini.config import ModelConfig


class CheckpointError(ValueError):
    """A checkpoint path that is missing, unreadable or incompatible (a user error, not a bug)."""


def atomic_torch_save(obj, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)  # atomic on POSIX and Windows


def rng_state() -> dict:
    return {"python": random.getstate(), "torch": torch.get_rng_state()}


def python_rng_state(saved) -> tuple:
    """A `random` state as saved in a checkpoint, back in the exact tuple form setstate wants
    (a weights_only load may hand the inner tuple back as a list)."""
    version, internal, gauss = saved
    return version, tuple(internal), gauss


def set_rng_state(state: dict) -> None:
    random.setstate(python_rng_state(state["python"]))
    torch.set_rng_state(state["torch"])


def save_checkpoint(path, model, meta: dict | None = None, optimizer=None, train_state: dict | None = None) -> None:
    from r1mini.tokenizer import get_tokenizer
    tokenizer = get_tokenizer()
    payload = {
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": model.cfg.to_dict(),
        "tokenizer": {"name": tokenizer.name, "fingerprint": tokenizer.fingerprint},
        "meta": meta or {},
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "train_state": {**(train_state or {}), "rng": rng_state()} if train_state is not None else None,
    }
    atomic_torch_save(payload, path)


def read_checkpoint(path) -> dict:
    """The raw checkpoint dict, with clear errors for a missing or corrupt file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path} (run the stage that creates it first)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for truncated/garbage files
        raise CheckpointError(f"{path} is not a readable r1mini checkpoint ({type(error).__name__}: {error})") from None
    if not isinstance(payload, dict) or "model" not in payload or "config" not in payload:
        raise CheckpointError(f"{path} is not an r1mini checkpoint (missing model/config)")
    return payload


def load_checkpoint(path, device="cpu"):
    """(model, tokenizer, meta) from a checkpoint file, model in eval mode on `device`."""
    from r1mini.model import Transformer
    from r1mini.tokenizer import get_tokenizer
    payload = read_checkpoint(path)
    tokenizer = get_tokenizer()
    if (payload.get("tokenizer") or {}).get("fingerprint") != tokenizer.fingerprint:
        raise CheckpointError(f"{path} was trained with a different vocabulary than r1mini/vocab.tiktoken; "
                              "retrain it (or restore the vocabulary file it was trained with)")
    try:  # a checkpoint written by another version of the model code
        model = Transformer(ModelConfig(**payload["config"]))
        model.load_state_dict(payload["model"])
    except (TypeError, RuntimeError, AssertionError) as error:
        raise CheckpointError(f"{path} does not fit the current model code ({type(error).__name__}: {error}); "
                              "retrain it with this version of r1mini") from None
    model.to(device).eval()
    return model, tokenizer, payload["meta"]
