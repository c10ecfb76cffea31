"""Exercise 13: the reverse-KL on-policy distillation loss (GKD). Write the bodies; keep the signatures."""
from __future__ import annotations

import torch


def reverse_kl_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the masked positions of KL(π_student ‖ π_teacher) = Σ_v π_s(v)·(log π_s(v) − log π_t(v)).

    logits (batch, time, vocab), mask (batch, time) marks positions that predict a completion token.
    The KL is exact over the vocabulary (not a one-sample estimate), so it is 0 exactly when the two
    distributions agree. Reverse KL is mode-seeking: it pushes the student off tokens the teacher
    thinks unlikely rather than asking it to cover everything the teacher might say — right for a
    student too small to hold all of the teacher's options."""
    raise NotImplementedError("exercise 13: write reverse_kl_loss (see exercises/13_reverse_kl/README.md)")
