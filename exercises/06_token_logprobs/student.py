"""Exercise 06: token log-probabilities and the completion mask. Write the bodies; keep the signatures."""
from __future__ import annotations

import torch

from r1mini.sft import IGNORE, collate  # exercise 10's collate: you may use it


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log p(target) per position: logits (B, T, V), targets (B, T) -> (B, T) fp32.
    Written as gather - logsumexp, which equals log_softmax + gather without a (B, T, V) copy."""
    raise NotImplementedError("exercise 06: write token_logprobs (see exercises/06_token_logprobs/README.md)")


def completion_batch(prompts, completions, pad_id, device):
    """Right-padded prompt+completion rows, their next-token targets, and a 0/1 mask over the
    positions that predict completion tokens (the SFT collate, with the mask made explicit)."""
    raise NotImplementedError("exercise 06: write completion_batch (see exercises/06_token_logprobs/README.md)")
