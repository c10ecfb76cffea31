"""Wrong versions of rope_tables and apply_rope, each a mistake students make."""
import torch

from exercises.framework import mutant


@mutant("rope_tables")
def half_exponent(head_dim, max_seq_len, theta):
    """Frequencies theta^(−i/head_dim) over the pair index i instead of theta^(−2i/head_dim)."""
    inv_freq = theta ** (-torch.arange(head_dim // 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(max_seq_len, dtype=torch.float32), inv_freq)
    return angles.cos(), angles.sin()


@mutant("rope_tables")
def positions_from_one(head_dim, max_seq_len, theta):
    """Counts positions from 1: the first token is rotated although nothing precedes it."""
    inv_freq = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(1, max_seq_len + 1, dtype=torch.float32), inv_freq)
    return angles.cos(), angles.sin()


@mutant("apply_rope")
def interleaved_pairs(x, cos, sin):
    """Rotates the pairs (x0, x1), (x2, x3), ... (the GPT-J layout) where r1mini pairs the two halves."""
    x1, x2 = x.float()[..., 0::2], x.float()[..., 1::2]
    out = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
    return out.type_as(x)


@mutant("apply_rope")
def rotation_reversed(x, cos, sin):
    """Rotates by −angle (the sin terms' signs swapped)."""
    x1, x2 = x.float().chunk(2, dim=-1)
    return torch.cat([x1 * cos + x2 * sin, x2 * cos - x1 * sin], dim=-1).type_as(x)


@mutant("apply_rope")
def dtype_not_restored(x, cos, sin):
    """Returns fp32 for a bf16 input (computes in fp32, as it should, but forgets to cast back)."""
    x1, x2 = x.float().chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
