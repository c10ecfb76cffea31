"""Exercise 07: group-relative advantages (DeepSeekMath §4.1.2, outcome supervision)."""
from __future__ import annotations

import torch


def group_advantages(rewards: torch.Tensor, group_size: int, normalize_std: bool = True,
                     eps: float = 1e-4) -> torch.Tensor:
    """(r − group mean) / (group std + eps) for rewards laid out group after group.

    `normalize_std=False` is Dr. GRPO's fix: dividing by std over-weights groups that are almost
    all right or all wrong. A group whose rewards are all equal gets advantage 0 either way."""
    raise NotImplementedError("exercise 07: write group_advantages (see exercises/07_group_advantages/README.md)")
