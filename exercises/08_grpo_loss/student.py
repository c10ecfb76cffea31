"""Exercise 08: the GRPO loss (DeepSeekMath eq. 3 with DAPO's and Dr. GRPO's aggregations)."""
from __future__ import annotations

import torch

DEFAULT_AGGREGATION = "token_mean"


def grpo_loss(logprobs: torch.Tensor, old_logprobs: torch.Tensor, ref_logprobs: torch.Tensor | None,
              advantages: torch.Tensor, mask: torch.Tensor, clip_eps: float = 0.2, kl_coef: float = 0.04,
              clip_eps_high: float | None = None, aggregation: str = DEFAULT_AGGREGATION,
              constant_norm: float | None = None) -> tuple[torch.Tensor, dict]:
    """The negated GRPO objective (to minimise) and diagnostics.

    logprobs, old_logprobs, ref_logprobs, mask: (batch, time), one entry per position of the
    prompt+completion rows, mask 1 where the position predicts a completion token (prompt and
    padding count for nothing); advantages: (batch,). Per token (DeepSeekMath eq. 3):
        ρ = π_θ/π_old,   surrogate = min(ρ·A, clip(ρ, 1−ε_low, 1+ε_high)·A)
        KL = π_ref/π_θ − log(π_ref/π_θ) − 1          (k3: unbiased and ≥ 0)
        objective = surrogate − β·KL
    With one update per rollout, old_logprobs = logprobs.detach(): ρ = 1 but ∇ρ = ∇log π_θ, so the
    gradient is the policy gradient A·∇log π_θ. Aggregation over tokens:
        seq_mean    mean over each sequence's tokens, then over sequences (GRPO paper)
        token_mean  mean over all tokens of the batch (DAPO: long answers are not down-weighted)
        constant    sum over tokens / constant_norm, a number fixed for the whole run
                    (Dr. GRPO: prompts × G × max new tokens; no length bias at all)
    """
    raise NotImplementedError("exercise 08: write grpo_loss (see exercises/08_grpo_loss/README.md)")
