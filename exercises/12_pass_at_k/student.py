"""Exercise 12: pass@k and the majority vote (R1 §3 evaluation). Write the bodies; keep the signatures."""
from __future__ import annotations

import math
from collections import Counter

from r1mini.tasks import normalize_answer  # use it: the vote compares answers as the verifier does


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct (Chen et al. 2021)."""
    raise NotImplementedError("exercise 12: write pass_at_k (see exercises/12_pass_at_k/README.md)")


def majority_answer(answers: list[str | None]) -> str | None:
    """The answer most samples agree on, normalised as the verifier does; None when there is no
    answer at all or the top count is tied."""
    raise NotImplementedError("exercise 12: write majority_answer (see exercises/12_pass_at_k/README.md)")
