"""Model configuration, size presets and device choice.

One dataclass describes a model (nanoGPT style). A DeepSeekMoE model (DeepSeek-V3 §2.1.2) has
`n_dense_layers` ordinary feed-forward layers first, then MoE layers with `n_shared_experts`
always-on experts plus `n_routed_experts` fine-grained experts of which `n_activated_experts`
are chosen per token. Setting `n_routed_experts = 0` gives a plain dense transformer: the
distillation student uses that.
"""
from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, replace

import torch


@dataclass
class ModelConfig:
    vocab_size: int = 0            # filled in from the tokenizer
    max_seq_len: int = 320         # RoPE table size and KV-cache capacity (a 4-digit worked solution is ~150 tokens)
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    n_dense_layers: int = 1        # V3 keeps its first layers dense
    dense_hidden: int = 384        # hidden width of the dense feed-forward layers
    n_routed_experts: int = 8      # 0 => dense model (no MoE at all)
    n_shared_experts: int = 1
    n_activated_experts: int = 2   # top-K routed experts per token
    expert_hidden: int = 96        # fine-grained: each expert is narrow
    bias_update_speed: float = 1e-3  # gamma of aux-loss-free balancing (V3 uses 0.001)
    seq_aux_alpha: float = 1e-4      # alpha of the complementary sequence-wise balance loss
    rope_theta: float = 10000.0
    norm_eps: float = 1e-6

    @property
    def is_moe(self) -> bool:
        return self.n_routed_experts > 0

    def to_dict(self) -> dict:
        return asdict(self)


# Size presets. "cpu" trains in minutes on 2 cores; "gpu" is larger and runs in bf16 on CUDA;
# "student" is the small dense model that distillation teaches.
PRESETS: dict[str, ModelConfig] = {
    "cpu": ModelConfig(),
    "gpu": ModelConfig(d_model=384, n_layers=8, n_heads=6, n_dense_layers=1, dense_hidden=1024,
                       n_routed_experts=16, n_shared_experts=1, n_activated_experts=4,
                       expert_hidden=256, max_seq_len=384),
    "student": ModelConfig(d_model=64, n_layers=3, n_heads=4, n_routed_experts=0,
                           n_dense_layers=3, dense_hidden=192),
    # used by the tests: seconds to train, still exercises every code path
    "tiny": ModelConfig(d_model=32, n_layers=2, n_heads=2, n_dense_layers=1, dense_hidden=64,
                        n_routed_experts=4, n_shared_experts=1, n_activated_experts=2,
                        expert_hidden=16, max_seq_len=256),
}


def model_config(preset: str, vocab_size: int, **overrides) -> ModelConfig:
    """The preset's config with the vocabulary size filled in (and optional overrides)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    return replace(PRESETS[preset], vocab_size=vocab_size, **overrides)


DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def pick_device(name: str = "auto") -> torch.device:
    """CUDA, then Apple MPS, then CPU — or exactly what the user asked for, with a clear error."""
    if name not in DEVICE_CHOICES and not name.startswith("cuda:"):
        raise ValueError(f"unknown device {name!r}; choose one of {DEVICE_CHOICES} (or cuda:N)")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available on this machine")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' requested but Apple MPS is not available on this machine")
    return torch.device(name)


def default_preset(device: torch.device) -> str:
    return "gpu" if device.type == "cuda" else "cpu"


def autocast(device: torch.device):
    """bf16 autocast on CUDA (weights stay fp32); a no-op elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
