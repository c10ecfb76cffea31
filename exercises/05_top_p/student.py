"""Exercise 05: top-p (nucleus) sampling: the distribution and the draw. Write the bodies; keep the signatures."""
from __future__ import annotations

import torch


def sampling_distribution(logits: torch.Tensor, temperature: float, top_p: float) -> torch.Tensor:
    """The distribution a token is drawn from, (B, V): softmax(logits / temperature) restricted to the
    top-p nucleus (the smallest set of most likely tokens whose probability reaches top_p; never
    empty) and renormalised."""
    raise NotImplementedError("exercise 05: write sampling_distribution (see exercises/05_top_p/README.md)")


def draw(probs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One token per row of probs (B, V), by inverse CDF: a uniform number u per row, scaled to the
    row's total mass, picks the first token whose cumulative probability exceeds u. One random
    number per row, where torch.multinomial draws one per vocabulary entry (its cost dominated a
    decoding step). A token of probability 0 is never picked: its cumulative value equals its
    predecessor's, so it is never the first to exceed u."""
    raise NotImplementedError("exercise 05: write draw (see exercises/05_top_p/README.md)")
