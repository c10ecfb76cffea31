"""Checkpoints: atomic save, safe load, RNG states for resuming.

A checkpoint is one dict of tensors and plain Python values, so it loads with
`torch.load(..., weights_only=True)` (no pickled code is ever executed). It holds the model weights
and config, a sha256 of that config, the tokenizer's fingerprint (a model must never meet the wrong
vocabulary) and free-form `meta` (stage, metrics). Resume files (optimizer, step, RNG states) are
written by `training.save_resume_state` with the same atomic save.

Files are written to a temporary name and renamed, so a run killed mid-save, or a full disk, never
leaves a half-written checkpoint behind. Loading checks the config against the saved tensors before
building anything: an edited config must fail with a clear message, not load a ruined model or
allocate gigabytes first.
"""
from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import math
import os
import random
from pathlib import Path

import torch

from r1mini.config import ModelConfig
from r1mini.model import Transformer
from r1mini.tokenizer import get_tokenizer

MAX_SEQ_LEN_LIMIT = 65536  # RoPE tables and KV caches are sized by max_seq_len: refuse absurd values


class CheckpointError(ValueError):
    """A checkpoint path that is missing, unreadable or incompatible (a user error, not a bug)."""


def atomic_torch_save(obj, path: str | Path) -> None:
    """torch.save to `path` via a temporary file and a rename: `path` holds either the previous file
    or the complete new one, and no .tmp is left behind, whatever happens during the write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException as error:  # also Ctrl-C: a partial .tmp is useless and may be large
        tmp.unlink(missing_ok=True)
        # A full disk shows up as ENOSPC, or as a RuntimeError from torch's zip writer
        # ("unexpected pos ...", "file write failed").
        disk_full = isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)
        if disk_full or isinstance(error, RuntimeError):
            detail = " ".join(str(error).split())  # torch's messages span several lines
            raise CheckpointError(f"could not write {path}: disk full? ({type(error).__name__}: {detail}); "
                                  "the previous file there, if any, is intact") from None
        raise


def rng_state() -> dict:
    """Python, torch CPU and (when present) every CUDA device's generator state."""
    state = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def python_rng_state(saved) -> tuple:
    """A `random` state as saved in a checkpoint, back in the exact tuple form setstate wants
    (a weights_only load may hand the inner tuple back as a list)."""
    version, internal, gauss = saved
    return version, tuple(internal), gauss


def set_rng_state(state: dict) -> None:
    """Restore what rng_state saved. A state saved without CUDA (or on a CPU machine) restores
    the CPU generators only; a state from more GPUs than this machine has restores the ones present."""
    random.setstate(python_rng_state(state["python"]))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(list(state["cuda"])[: torch.cuda.device_count()])


def config_fingerprint(config: dict) -> str:
    """sha256 of the config's canonical JSON (sorted keys, no spaces)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def save_checkpoint(path, model, meta: dict | None = None) -> None:
    tokenizer = get_tokenizer()
    config = model.cfg.to_dict()
    payload = {
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": config,
        # n_heads, rope_theta, n_activated_experts ... leave no trace in the tensors: the hash is
        # how a load notices that someone edited them
        "config_sha256": config_fingerprint(config),
        "tokenizer": {"name": tokenizer.name, "fingerprint": tokenizer.fingerprint},
        "meta": meta or {},
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


def _shapes_config(state: dict, path) -> dict:
    """The config fields that the saved tensors' names and shapes determine. Layers are dense
    (ffn.w1) or MoE (ffn.gate, ffn.experts.*, ffn.shared_experts), dense ones first."""
    def shape(name):
        return tuple(state[name].shape) if name in state else None

    if shape("embed.weight") is None or len(shape("embed.weight")) != 2:
        raise CheckpointError(f"{path} does not hold r1mini model weights (no 2-d embed.weight)")
    vocab_size, d_model = shape("embed.weight")
    layer_ids = {int(name.split(".")[1]) for name in state
                 if name.startswith("layers.") and name.split(".")[1].isdigit()}
    n_layers = len(layer_ids)
    if layer_ids != set(range(n_layers)):
        raise CheckpointError(f"{path} does not hold r1mini model weights (layer numbers {sorted(layer_ids)})")
    dense = [i for i in range(n_layers) if shape(f"layers.{i}.ffn.w1.weight") is not None]
    moe = [i for i in range(n_layers) if shape(f"layers.{i}.ffn.gate.weight") is not None]
    derived = {"vocab_size": vocab_size, "d_model": d_model, "n_layers": n_layers}
    if dense:
        derived["dense_hidden"] = shape(f"layers.{dense[0]}.ffn.w1.weight")[0]
    if moe:
        if dense != list(range(len(dense))) or len(dense) + len(moe) != n_layers:
            raise CheckpointError(f"{path} does not hold r1mini model weights (dense layers {dense}, MoE layers {moe})")
        first = f"layers.{moe[0]}.ffn"
        expert_hidden = (shape(f"{first}.experts.0.w1.weight") or (0,))[0]
        shared = (shape(f"{first}.shared_experts.w1.weight") or (0,))[0]  # n shared experts: one MLP, n x wider
        if expert_hidden == 0 or shared % expert_hidden:
            raise CheckpointError(f"{path} does not hold r1mini model weights (experts {expert_hidden} wide, "
                                  f"shared experts {shared} wide)")
        derived.update(n_dense_layers=len(dense), n_routed_experts=shape(f"{first}.gate.weight")[0],
                       expert_hidden=expert_hidden, n_shared_experts=shared // expert_hidden)
    return derived


def _check_config(payload: dict, path) -> ModelConfig:
    """The checkpoint's ModelConfig, once it is known to fit the saved tensors and to be in range.
    Nothing is allocated here: an edited n_layers=2000 fails before any model is built."""
    config, state = payload["config"], payload["model"]
    if not isinstance(config, dict) or not isinstance(state, dict):
        raise CheckpointError(f"{path} is not an r1mini checkpoint (config and model must be dicts)")
    if "config_sha256" in payload and payload["config_sha256"] != config_fingerprint(config):
        raise CheckpointError(f"{path}: config was edited after saving (it no longer matches its stored "
                              "sha256); restore the original file or retrain")
    fields = {f.name: f.default for f in dataclasses.fields(ModelConfig)}
    unknown = sorted(set(config) - set(fields))
    if unknown:
        raise CheckpointError(f"{path} has unknown config fields {unknown}; it was written by another "
                              "version of r1mini (retrain it with this version)")
    for name, value in config.items():
        number_types = (int, float) if isinstance(fields[name], float) else (int,)
        if isinstance(value, bool) or not isinstance(value, number_types):
            raise CheckpointError(f"{path}: config {name}={value!r} is not a number of the right type "
                                  f"({type(fields[name]).__name__})")
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} is not an r1mini checkpoint (model holds non-tensors)")
    cfg = ModelConfig(**config)

    derived = _shapes_config(state, path)
    if "n_dense_layers" not in derived and cfg.is_moe and cfg.n_dense_layers < cfg.n_layers:
        raise CheckpointError(f"{path}: config says n_routed_experts={cfg.n_routed_experts} and "
                              f"n_dense_layers={cfg.n_dense_layers}, but the saved weights have no MoE layer")
    for name, value in derived.items():
        if getattr(cfg, name) != value:
            raise CheckpointError(f"{path}: config says {name}={getattr(cfg, name)} but the saved weights "
                                  f"have {name}={value}; the config does not belong to these weights")

    # What the tensors cannot reveal must at least be in range.
    problems = []
    if not (cfg.n_heads >= 1 and cfg.d_model % cfg.n_heads == 0 and (cfg.d_model // cfg.n_heads) % 2 == 0):
        problems.append(f"n_heads={cfg.n_heads} must divide d_model={cfg.d_model} into even head sizes (RoPE)")
    if cfg.is_moe and not 1 <= cfg.n_activated_experts <= cfg.n_routed_experts:
        problems.append(f"n_activated_experts={cfg.n_activated_experts} must be in [1, {cfg.n_routed_experts}]")
    if cfg.n_dense_layers < 0:
        problems.append(f"n_dense_layers={cfg.n_dense_layers} must be >= 0")
    if not 1 <= cfg.max_seq_len <= MAX_SEQ_LEN_LIMIT:
        problems.append(f"max_seq_len={cfg.max_seq_len} must be in [1, {MAX_SEQ_LEN_LIMIT}]")
    if not (math.isfinite(cfg.rope_theta) and cfg.rope_theta > 1):
        problems.append(f"rope_theta={cfg.rope_theta} must be finite and > 1")
    if not (math.isfinite(cfg.norm_eps) and cfg.norm_eps > 0):
        problems.append(f"norm_eps={cfg.norm_eps} must be finite and > 0")
    for name in ("bias_update_speed", "seq_aux_alpha"):
        if not (math.isfinite(getattr(cfg, name)) and getattr(cfg, name) >= 0):
            problems.append(f"{name}={getattr(cfg, name)} must be finite and >= 0")
    if problems:
        raise CheckpointError(f"{path}: config out of range: {'; '.join(problems)}")
    return cfg


def load_checkpoint(path, device="cpu"):
    """(model, tokenizer, meta) from a checkpoint file, model in eval mode on `device`."""
    payload = read_checkpoint(path)
    tokenizer = get_tokenizer()
    record = payload.get("tokenizer")
    if not isinstance(record, dict) or not isinstance(record.get("fingerprint"), str):
        raise CheckpointError(f"{path} has no valid tokenizer record (a dict with a 'fingerprint' string); "
                              "it was not written by save_checkpoint")
    if record["fingerprint"] != tokenizer.fingerprint:
        raise CheckpointError(f"{path} was trained with a different vocabulary than r1mini/vocab.tiktoken; "
                              "retrain it (or restore the vocabulary file it was trained with)")
    if not isinstance(payload.get("meta"), dict):
        raise CheckpointError(f"{path} has no meta dict (found {type(payload.get('meta')).__name__}); "
                              "it was not written by save_checkpoint")
    cfg = _check_config(payload, path)
    try:  # a checkpoint written by another version of the model code
        model = Transformer(cfg)
        model.load_state_dict(payload["model"])
    except (TypeError, RuntimeError, AssertionError) as error:
        detail = " ".join(str(error).split())
        raise CheckpointError(f"{path} does not fit the current model code ({type(error).__name__}: {detail}); "
                              "retrain it with this version of r1mini") from None
    model.to(device).eval()
    return model, tokenizer, payload["meta"]
