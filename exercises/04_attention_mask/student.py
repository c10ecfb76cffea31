"""Exercise 04: the causal + padding attention mask, with a KV cache. Write the body; keep the signature."""
from __future__ import annotations

import torch


def attention_mask(key_mask, T: int, cache_pos: int, device) -> torch.Tensor:
    """Bool (B or 1, 1, T, S) mask for queries at cache_pos..cache_pos+T-1 over keys 0..S-1:
    causal, minus padded keys. Every query also sees itself, so a padding query is never fully
    masked (that would give NaN rows, and NaN * 0 attention weight is still NaN downstream)."""
    raise NotImplementedError("exercise 04: write attention_mask (see exercises/04_attention_mask/README.md)")
