"""Exercise 02: rotary position embeddings (RoPE). Write the bodies; keep the signatures."""
from __future__ import annotations

import torch


def rope_tables(head_dim: int, max_seq_len: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of angle pos * theta^(-2i/head_dim), shape (max_seq_len, head_dim/2)."""
    raise NotImplementedError("exercise 02: write rope_tables (see exercises/02_rope/README.md)")


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each (x1, x2) pair of x (..., B, H, T, head_dim) by its position's angle.

    Pairs are the two halves of the head dimension (the "rotate half" layout); any fixed pairing
    works as long as queries and keys use the same one.
    """
    raise NotImplementedError("exercise 02: write apply_rope (see exercises/02_rope/README.md)")
