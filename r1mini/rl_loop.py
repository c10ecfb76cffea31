"""One RL stage: the loop of GRPO steps (DeepSeek-R1 §2.2 for R1-Zero; §2.3.2 and §2.3.4 for R1).

Each step the curriculum picks the questions, `grpo_fast.fast_grpo_step` samples and learns, one line
goes to metrics.jsonl, a small held-out evaluation runs every `eval_every` steps, and a resume file
is written every `resume_every` steps, so a killed run resumes as if it had never stopped.
R1-Zero (train_zero.py), both RL stages of R1 (train_r1.py) and the RL arm of distill.py run here.
"""
from __future__ import annotations

from typing import Callable

from tqdm import tqdm

from r1mini import grpo_fast
from r1mini.checkpoint import python_rng_state
from r1mini.grpo import GRPOConfig, RewardFn
from r1mini.train_utils import make_optimizer


def train_grpo(policy, ref_model, tokenizer, cfg: GRPOConfig, run, steps: int, curriculum,
               rng, reward_for_step: Callable[[int], RewardFn], device, desc: str, evaluate=None,
               eval_every: int = 0, resume_every: int = 10, ref_reset_every: int = 0,
               step_fn=None) -> None:
    """One RL stage: `steps` calls of `step_fn` on questions the curriculum picks, one metrics line per
    step, a small held-out `evaluate(policy, step)` every `eval_every` steps, and a resume file every
    `resume_every` steps (`run` is a rundir.RunDir). `reward_for_step(step)` lets R1's last stage
    switch a reward on part-way. `step_fn` defaults to grpo_fast.fast_grpo_step, looked up when the
    stage starts so that a test or an exercise can swap it; grpo.grpo_step is the same step, plainly."""
    optimizer = make_optimizer(policy, cfg.lr, cfg.weight_decay)
    step_fn = step_fn or grpo_fast.fast_grpo_step
    start, saved = run.resume(policy, optimizer)
    if saved:
        ref_model.load_state_dict(saved["ref_model"])
        curriculum.pass_rate = saved["pass_rate"]
        curriculum.informative_rate = saved.get("informative_rate", {})
        rng.setstate(python_rng_state(saved["py_rng"]))
    elif evaluate:
        run.log(evaluate(policy, 0))
    for step in tqdm(range(start, steps), desc=desc, initial=start, total=steps):
        if ref_reset_every and step and step % ref_reset_every == 0:
            ref_model.load_state_dict(policy.state_dict())  # R1 v2 resets the reference every 400 steps
        stats, sampled = step_fn(policy, ref_model, optimizer, tokenizer, lambda n: curriculum.sample(rng, n),
                                 cfg, reward_for_step(step), device, step=step,
                                 expected_share=curriculum.informative_share())
        curriculum.update([g.problem for g in sampled], [sum(g.rewards["accuracy"]) / len(g.texts) for g in sampled],
                          [g.informative for g in sampled])
        run.log({"step": step + 1, **{k: round(v, 5) for k, v in stats.items()}, "curriculum": dict(curriculum.pass_rate),
                 "informative_rate": {k: round(v, 4) for k, v in curriculum.informative_rate.items()}})
        if evaluate and (step + 1 == steps or eval_every and (step + 1) % eval_every == 0):
            run.log(evaluate(policy, step + 1))
        if step + 1 == steps or (step + 1) % resume_every == 0:  # kept until the stage's report is written
            run.save_resume(policy, optimizer, step + 1, {"ref_model": ref_model.state_dict(),
                                                          "pass_rate": curriculum.pass_rate, "py_rng": rng.getstate(),
                                                          "informative_rate": curriculum.informative_rate})
