"""Lab 4 (tier B), the real task: how much do 20 steps of R1-Zero add to the base model?

R1-Zero is GRPO straight from the base model with two rule rewards, accuracy and format (R1 §2.2).
This lab runs train_zero.py's recipe (its GRPOConfig defaults, r1_zero_rewards, the curriculum, the
RL loop) for 20 steps on four levels where the base model is neither hopeless nor done
(add-2, add-3, mul-2, mul-3: base pass@1 0.15-0.38 in this evaluation), and measures pass@1 on held-out problems of
those levels before training (the base) and after. Both evaluations use the same problems and the
same sampling seed, so the difference is the training. The check reads the two evaluation lines of
metrics.jsonl (`eval_pass@1` at step 0 and at the last step), so a train_zero.py run can be checked too.

Needs the base model, built once (about 20 minutes on a laptop CPU):
    python -m r1mini.pretrain                      # writes runs/base/model.pt

    python -m exercises.labs.zero_vs_base          # ~1.5 minutes on one CPU core
    python -m exercises.labs.zero_vs_base --check-only --out-dir DIR   # DIR/metrics.jsonl
"""
from __future__ import annotations

import argparse
import copy
import random
import time
from dataclasses import asdict
from pathlib import Path

import torch

from exercises.labs.common import add_impl_args, plugged_in, mean_of, report, save_result, step_records
from r1mini.checkpoint import load_checkpoint
from r1mini.config import pick_device
from r1mini.curriculum import Curriculum
from r1mini.evaluate import EVAL_MAX_NEW_TOKENS, EVAL_TEMPERATURE, EVAL_TOP_P, sample_responses, summarize
from r1mini.grpo import GRPOConfig
from r1mini.rewards import r1_zero_rewards
from r1mini.rl_loop import train_grpo
from r1mini.rundir import RunDir, read_jsonl
from r1mini.tasks import eval_problems

BUILD_BASE = "python -m r1mini.pretrain"   # or `python train_zero.py`, which builds it first
STEPS = 20
LEVELS = {"add": (2, 3), "mul": (2, 3)}
EVAL_PROBLEMS = 40   # per level: 160 held-out questions, k = 4 answers each
EVAL_K = 4
MIN_GAIN = 0.3       # held-out pass@1, after minus base: measured +0.625 to +0.631 on seeds 0-2 (README.md)


def held_out_eval(model, tokenizer, step: int) -> dict:
    """pass@1 (and format, length) on the same held-out questions of LEVELS at every call; the
    sampling seed is fixed too, so the base and the trained model are compared like for like."""
    problems = [p for task, levels in LEVELS.items() for level in levels for p in eval_problems(task, level, EVAL_PROBLEMS)]
    records = sample_responses(model, tokenizer, problems, EVAL_K, EVAL_TEMPERATURE, EVAL_TOP_P,
                               EVAL_MAX_NEW_TOKENS, batch_size=256, seed=0, desc="lab eval")
    overall = summarize(records, EVAL_K)
    line = {"step": step, **{f"eval_{k}": overall[k] for k in ("pass@1", "format_rate", "mean_length")}}
    for task, levels in LEVELS.items():
        for level in levels:
            line[f"eval_pass@1_{task}-{level}"] = summarize(
                [r for r in records if r["task"] == task and r["level"] == level], EVAL_K)["pass@1"]
    return line


def run(out_dir, base: str, seed: int = 0, steps: int = STEPS, device: str = "cpu") -> Path:
    if not Path(base).exists():
        raise SystemExit(f"no base model at {base}: build it once with `{BUILD_BASE}` "
                         f"(writes runs/base/model.pt), or pass --base PATH")
    device = pick_device(device)
    policy, tokenizer, _ = load_checkpoint(base, device)
    ref_model = copy.deepcopy(policy).eval().requires_grad_(False)    # π_ref: the base, frozen
    cfg = GRPOConfig()                                                 # train_zero.py's defaults
    curriculum = Curriculum(tuple(LEVELS), cfg.group_size, levels=LEVELS)
    torch.manual_seed(seed)
    flags = {"lab": "zero_vs_base", "base": str(base), "seed": seed, "steps": steps, **asdict(cfg)}
    with RunDir(out_dir, flags, overwrite=True) as run_dir:
        train_grpo(policy, ref_model, tokenizer, cfg, run_dir, steps, curriculum, random.Random(seed),
                   lambda step: r1_zero_rewards, device, "lab R1-Zero",
                   evaluate=lambda model, step: held_out_eval(model, tokenizer, step), eval_every=0,
                   resume_every=steps)
        run_dir.finish()
        (Path(out_dir) / "resume.pt").unlink(missing_ok=True)
        return run_dir.metrics


def eval_lines(metrics_path) -> list[dict]:
    return [r for r in read_jsonl(metrics_path) if "eval_pass@1" in r]


def check(metrics_path, min_gain: float | None = MIN_GAIN) -> tuple[bool, str]:
    """PASS when held-out pass@1 after training beats the base's (the step-0 evaluation) by at least
    `min_gain`."""
    evals = eval_lines(metrics_path)
    if len(evals) < 2 or evals[0]["step"] != 0:
        return False, f"{metrics_path} needs an evaluation at step 0 and one after training; found {len(evals)}"
    base, trained = evals[0]["eval_pass@1"], evals[-1]["eval_pass@1"]
    gain = trained - base
    if min_gain is None:
        return False, f"pass@1 {base:.3f} -> {trained:.3f} (gain {gain:+.3f}); the lab is not calibrated yet"
    return gain >= min_gain, (f"held-out pass@1: base {base:.3f} -> step {evals[-1]['step']} {trained:.3f}, "
                              f"gain {gain:+.3f} ({'≥' if gain >= min_gain else '<'} {min_gain})")


def summary(metrics_path) -> tuple[bool, str, str]:
    passed, message = check(metrics_path)
    evals, steps = eval_lines(metrics_path), step_records(metrics_path)
    rows = [[f"step {e['step']}" + (" (base)" if e["step"] == 0 else ""), e["eval_pass@1"],
             *[e.get(f"eval_pass@1_{t}-{lv}", float("nan")) for t, lvs in LEVELS.items() for lv in lvs],
             e.get("eval_format_rate", float("nan")), e.get("eval_mean_length", float("nan"))] for e in evals]
    header = ["model", "pass@1", *[f"{t}-{lv}" for t, lvs in LEVELS.items() for lv in lvs], "format", "length"]
    text = report("Lab 4: R1-Zero vs the base", rows, header, passed, message)
    text += (f"training reward_accuracy: first 5 steps {mean_of(steps[:5], 'reward_accuracy'):.3f}, "
             f"last 5 {mean_of(steps, 'reward_accuracy', 5):.3f}\n")
    return passed, message, text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Lab 4 (tier B): 20 steps of R1-Zero vs the base on add-2/3, mul-2/3.")
    p.add_argument("--base", default="runs/base/model.pt", help=f"the base model (build it with `{BUILD_BASE}`)")
    p.add_argument("--out-dir", default="runs/labs/zero_vs_base")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=STEPS)
    p.add_argument("--device", default="cpu")
    # One thread by default: on a 2-core machine shared with another job, a GRPO step of this lab took
    # 4-5 s with one thread and ~36 s with two fighting for the cores (tests/conftest.py saw the same).
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is safest on a shared machine)")
    p.add_argument("--check-only", action="store_true", help="check the metrics.jsonl already in --out-dir")
    add_impl_args(p)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    with plugged_in(args):
        metrics = (Path(args.out_dir) / "metrics.jsonl" if args.check_only
                   else run(args.out_dir, args.base, args.seed, args.steps, args.device))
    passed, message, text = summary(metrics)
    print(text + f"({(time.perf_counter() - t0) / 60:.1f} min)")
    save_result(args.out_dir, {"impl": args.impl, "only": args.only, "lab": "zero_vs_base", "seed": args.seed, "passed": passed, "message": message})
    return 0 if passed else 1
