"""On-policy distillation: the student writes, the teacher grades every token (beyond the paper).

DeepSeek-R1 distils by plain SFT on the teacher's verified samples (§2.4): the student imitates
whole answers the *teacher* wrote, so it never learns what to do after its own first slip. On-policy
distillation (GKD, arXiv 2306.13649; the recipe behind newer small reasoning models) turns that
round: the student samples an answer, the teacher scores every position of it, and the student moves
its next-token distribution towards the teacher's at exactly the prefixes the student itself
produces. No reward and no verifier: the teacher's distribution is a dense, per-token signal.

Reading order: `reverse_kl_loss` (the loss) → `on_policy_step` (sample, score, update) →
`train_on_policy` (the loop, with resume). The SFT arm needs no code of its own: distill.py calls
sft.finetune on the filtered teacher data (r1_data.filter_answers).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from r1mini.checkpoint import python_rng_state
from r1mini.config import autocast
from r1mini.corpus import render_prompt
from r1mini.grpo import completion_batch
from r1mini.rewards import accuracy_reward
from r1mini.sampler import generate
from r1mini.train_utils import check_finite, make_optimizer


@dataclass
class OnPolicyConfig:
    prompts_per_step: int = 64
    lr: float = 1e-3
    max_new_tokens: int = 192
    temperature: float = 1.0   # the student samples from (and is compared at) softmax(logits / T)
    grad_clip: float = 1.0


def reverse_kl_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the masked positions of KL(π_student ‖ π_teacher) = Σ_v π_s(v)·(log π_s(v) − log π_t(v)).

    logits (batch, time, vocab), mask (batch, time) marks positions that predict a completion token.
    The KL is exact over the vocabulary (not a one-sample estimate), so it is 0 exactly when the two
    distributions agree. Reverse KL is mode-seeking: it pushes the student off tokens the teacher
    thinks unlikely rather than asking it to cover everything the teacher might say — right for a
    student too small to hold all of the teacher's options."""
    log_student = torch.log_softmax(student_logits.float(), dim=-1)
    log_teacher = torch.log_softmax(teacher_logits.float(), dim=-1)
    per_token = (log_student.exp() * (log_student - log_teacher)).sum(-1)
    mask = mask.float()
    return (per_token * mask).sum() / mask.sum().clamp(min=1)


def on_policy_step(student, teacher, optimizer, tokenizer, problems, cfg: OnPolicyConfig, device,
                   generator: torch.Generator | None = None, step: int = 0) -> dict:
    """Sample one answer per question from the student, score every token with the teacher, and take
    one gradient step on the reverse KL. Sampling is not differentiated: the answers are data, as
    the rollouts are in GRPO; the gradient flows through the student's distributions along them."""
    t0 = time.perf_counter()
    prompts = [tokenizer.encode(render_prompt(p.question)) for p in problems]
    completions = generate(student, prompts, cfg.max_new_tokens, temperature=cfg.temperature,
                           stop_tokens=(tokenizer.eot_id,), pad_id=tokenizer.pad_id, generator=generator)
    inputs, _, mask = completion_batch(prompts, completions, tokenizer.pad_id, device)
    with torch.no_grad(), autocast(device):
        teacher_logits = teacher(inputs) / cfg.temperature
    student.train()
    with autocast(device):
        loss = reverse_kl_loss(student(inputs) / cfg.temperature, teacher_logits, mask)
    check_finite(loss, step, hint="lower --onpolicy-lr")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.nn.utils.clip_grad_norm_(student.parameters(), cfg.grad_clip)
    optimizer.step()
    student.eval()
    texts = [tokenizer.decode(c) for c in completions]
    return {"kl": float(loss.detach()), "grad_norm": float(grad_norm),
            "reward_accuracy": sum(accuracy_reward(t, p.answer) for t, p in zip(texts, problems)) / len(problems),
            "response_length": sum(map(len, completions)) / len(completions),
            "tokens_sampled": sum(map(len, completions)), "tokens_trained": float(mask.sum()),
            "seconds": round(time.perf_counter() - t0, 3)}


def train_on_policy(student, teacher, tokenizer, cfg: OnPolicyConfig, run, steps: int, draw_problems, rng, device,
                    desc: str = "on-policy distillation", resume_every: int = 10) -> None:
    """`steps` calls of on_policy_step on questions from `draw_problems(rng, n)`, one metrics line per
    step and a resume file every `resume_every` steps (`run` is a rundir.RunDir)."""
    from tqdm import tqdm

    teacher.eval().requires_grad_(False)
    optimizer = make_optimizer(student, cfg.lr, weight_decay=0.0)
    start, saved = run.resume(student, optimizer)
    if saved:
        rng.setstate(python_rng_state(saved["py_rng"]))
    bar = tqdm(range(start, steps), desc=desc, initial=start, total=steps, dynamic_ncols=True)
    for step in bar:
        stats = on_policy_step(student, teacher, optimizer, tokenizer, draw_problems(rng, cfg.prompts_per_step), cfg,
                               device, step=step)
        run.log({"step": step + 1, **{k: round(v, 5) for k, v in stats.items()}})
        bar.set_postfix(kl=f"{stats['kl']:.3f}", acc=f"{stats['reward_accuracy']:.2f}")
        if step + 1 == steps or (step + 1) % resume_every == 0:
            run.save_resume(student, optimizer, step + 1, {"py_rng": rng.getstate()})
