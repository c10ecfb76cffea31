"""Wrong versions of reverse_kl_loss, each a mistake students make. The tests must catch every one."""
import torch

from exercises.framework import mutant


@mutant("reverse_kl_loss")
def forward_kl(student_logits, teacher_logits, mask):
    """KL(π_teacher ‖ π_student), the forward (mode-covering) KL of SFT, instead of the reverse."""
    log_s, log_t = torch.log_softmax(student_logits, -1), torch.log_softmax(teacher_logits, -1)
    per_token = (log_t.exp() * (log_t - log_s)).sum(-1)
    return (per_token * mask).sum() / mask.sum().clamp(min=1)


@mutant("reverse_kl_loss")
def kl_mask_ignored(student_logits, teacher_logits, mask):
    """Averages over every position: the prompt and the padding count."""
    log_s, log_t = torch.log_softmax(student_logits, -1), torch.log_softmax(teacher_logits, -1)
    return (log_s.exp() * (log_s - log_t)).sum(-1).mean()


@mutant("reverse_kl_loss")
def raw_logits_as_logprobs(student_logits, teacher_logits, mask):
    """Uses the teacher's logits as log-probabilities, without log_softmax."""
    log_s = torch.log_softmax(student_logits, -1)
    per_token = (log_s.exp() * (log_s - teacher_logits)).sum(-1)
    return (per_token * mask).sum() / mask.sum().clamp(min=1)


@mutant("reverse_kl_loss")
def sum_over_tokens(student_logits, teacher_logits, mask):
    """Sums over the masked positions instead of averaging: the loss scales with the batch's length."""
    log_s, log_t = torch.log_softmax(student_logits, -1), torch.log_softmax(teacher_logits, -1)
    return ((log_s.exp() * (log_s - log_t)).sum(-1) * mask).sum()


@mutant("reverse_kl_loss")
def student_detached(student_logits, teacher_logits, mask):
    """Detaches the student's weights π_s in Σ π_s (log π_s − log π_t): the value is right, the gradient is not."""
    log_s, log_t = torch.log_softmax(student_logits, -1), torch.log_softmax(teacher_logits, -1)
    per_token = (log_s.exp().detach() * (log_s - log_t)).sum(-1)
    return (per_token * mask).sum() / mask.sum().clamp(min=1)
