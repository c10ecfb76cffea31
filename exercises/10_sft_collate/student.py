"""Exercise 10: SFT collate: completion-only targets. Write the bodies; keep the signatures."""
from __future__ import annotations

from typing import Sequence

import torch

Example = tuple[list[int], list[int]]  # (prompt ids, completion ids)
IGNORE = -100                           # targets with this value count for nothing (F.cross_entropy's ignore_index)


def collate(examples: Sequence[Example], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded inputs and targets; targets are IGNORE on the prompt and on padding."""
    raise NotImplementedError("exercise 10: write collate (see exercises/10_sft_collate/README.md)")
