"""Exercise 03: the DeepSeekMoE gate and the sequence-wise balance loss (V3 §2.1.2). Write the bodies; keep the signatures."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def gate(x: torch.Tensor, weight: torch.Tensor, expert_bias: torch.Tensor,
         topk: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The DeepSeekMoE router (V3 eq. 13-16): x (B, T, D), weight (E, D) whose rows are the expert
    centroids e_i, expert_bias (E,) b_i, topk K ->
    (gate values g (B, T, K) in x's dtype, expert indices (B, T, K), affinities s (B, T, E) in fp32).

    s_i = sigmoid(u . e_i)                affinity of token u for routed expert i
    selected = top-K of s_i + b_i         b_i is used for the choice only (torch.topk's order)
    g_i = s_i / sum_{j selected} s_j      gate values of the selected experts (sum to 1)"""
    raise NotImplementedError("exercise 03: write gate (see exercises/03_moe_gate/README.md)")


def sequence_balance_loss(scores: torch.Tensor, indices: torch.Tensor, real: torch.Tensor, alpha: float) -> torch.Tensor:
    """V3 eq. 17-20 over each sequence's real tokens (padding excluded), averaged over the batch:
    alpha * sum_i f_i P_i,  f_i = E/(K T) * #tokens routed to i,  P_i = mean_t s_{i,t} / sum_j s_{j,t}.
    f_i counts the actual selection (with the bias) and carries no gradient; P_i does, so the loss
    pushes affinity away from experts that this sequence overloads."""
    raise NotImplementedError("exercise 03: write sequence_balance_loss (see exercises/03_moe_gate/README.md)")
