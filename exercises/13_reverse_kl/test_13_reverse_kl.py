"""Tests for exercise 13. They reach the function only through `impl` (see exercises/conftest.py)."""
import torch

from exercises.checks import assert_close
from exercises.framework import load

REFERENCE = load("13_reverse_kl").reference.reverse_kl_loss
B, T, V = 3, 7, 11


def inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    student = 2.0 * torch.randn(B, T, V, generator=g)
    teacher = 2.0 * torch.randn(B, T, V, generator=g)
    mask = torch.zeros(B, T)
    mask[0, 2:7], mask[1, 3:5], mask[2, 2:6] = 1, 1, 1
    return student, teacher, mask


def forward_kl(student, teacher, mask):
    log_s, log_t = torch.log_softmax(student, -1), torch.log_softmax(teacher, -1)
    return ((log_t.exp() * (log_t - log_s)).sum(-1) * mask).sum() / mask.sum()


def test_matches_reference_value_and_gradient(impl):
    student, teacher, mask = inputs()
    mine, theirs = student.clone().requires_grad_(True), student.clone().requires_grad_(True)
    loss, want = impl.reverse_kl_loss(mine, teacher, mask), REFERENCE(theirs, teacher, mask)
    assert_close(loss, want, "reverse KL", mistakes={
        "the forward KL(π_teacher‖π_student): on-policy distillation weighs by the student's π_s": forward_kl(student, teacher, mask)})
    loss.backward(), want.backward()
    assert_close(mine.grad, theirs.grad, "d loss / d student logits", atol=1e-6)


def test_zero_at_self_and_positive_elsewhere(impl):
    student, teacher, mask = inputs(1)
    assert abs(float(impl.reverse_kl_loss(teacher, teacher, mask))) < 1e-5, "KL(π‖π) = 0"
    assert abs(float(impl.reverse_kl_loss(teacher + 3.0, teacher, mask))) < 1e-5, "adding a constant to logits changes no probability"
    assert float(impl.reverse_kl_loss(student, teacher, mask)) > 0.5


def test_is_reverse_not_forward(impl):
    """Student peaked on token 0, teacher spread over two tokens: the two KLs differ a lot."""
    student = torch.tensor([[[6.0, 0.0, -6.0]]])
    teacher = torch.tensor([[[2.0, 2.0, -6.0]]])
    log_s, log_t = torch.log_softmax(student, -1), torch.log_softmax(teacher, -1)
    reverse = float((log_s.exp() * (log_s - log_t)).sum())
    forward = float((log_t.exp() * (log_t - log_s)).sum())
    assert forward > 2 * reverse > 0.5
    assert_close(impl.reverse_kl_loss(student, teacher, torch.ones(1, 1)), reverse, "KL(π_student‖π_teacher)",
                 mistakes={"the forward KL(π_teacher‖π_student): swap the roles": forward})


def test_masked_positions_are_inert(impl):
    student, teacher, mask = inputs(2)
    garbage = torch.where(mask.bool()[..., None], 0.0, 5.0 * torch.randn(B, T, V))
    base = impl.reverse_kl_loss(student, teacher, mask)
    assert_close(impl.reverse_kl_loss(student + garbage, teacher - garbage, mask), base, "KL with garbage at masked positions")
    assert_close(base, REFERENCE(student, teacher, mask), "KL: a mean over the masked positions", mistakes={
        "a sum over positions: average over the mask's positions": (REFERENCE(student, teacher, mask) * mask.sum())})


def test_one_gradient_step_lowers_it(impl):
    student, teacher, mask = inputs(3)
    logits = student.clone().requires_grad_(True)
    before = impl.reverse_kl_loss(logits, teacher, mask)
    before.backward()
    with torch.no_grad():
        logits -= 2.0 * logits.grad
    after = REFERENCE(logits.detach(), teacher, mask)
    before = float(before.detach())
    assert float(after) < before - 0.05, \
        f"a step along −gradient must lower the KL ({before:.3f} -> {float(after):.3f}): is the gradient right?"
