"""R1-Zero: reinforcement learning straight from the base model (DeepSeek-R1 §2.2).

No supervised data at all: GRPO with two rule rewards, accuracy and format, on the R1-Zero
template. What the paper reports, and this script measures on held-out problems:
  - pass@1 rises far above the base; cons@k (majority vote) is higher still;
  - responses grow longer: the policy learns that working step by step pays;
  - reflection ("wait", "check") appears although nothing rewards it directly;
  - language mixing is left alone (nothing rewards consistency) — R1 fixes that later.

    python train_zero.py                 # builds runs/base first if it is missing
    python train_zero.py --help          # every knob

Outputs in runs/zero/: model.pt, metrics.jsonl (one line per step, plus eval lines), eval.json,
report.md (base vs R1-Zero), and plots when matplotlib is installed. A killed run resumes.
"""
from __future__ import annotations

import argparse
import copy
import json
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch
from tqdm import tqdm

from r1mini.checkpoint import CheckpointError, load_checkpoint, python_rng_state, save_checkpoint
from r1mini.config import PRESETS, pick_device
from r1mini.evaluate import evaluate_model, format_table
from r1mini.grpo import AGGREGATIONS, Curriculum, GRPOConfig, grpo_step
from r1mini.rewards import r1_zero_rewards
from r1mini.tasks import TASK_NAMES, check_task_level
from r1mini.training import (append_jsonl, load_resume_state, make_optimizer, read_jsonl, save_resume_state,
                             truncate_metrics)


def parse_args(argv=None) -> argparse.Namespace:
    d = GRPOConfig()
    p = argparse.ArgumentParser(description="R1-Zero: GRPO from the base model with accuracy + format rewards.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--base", default="runs/base/model.pt", help="base checkpoint (built if missing)")
    p.add_argument("--out-dir", default="runs/zero")
    p.add_argument("--preset", choices=sorted(PRESETS), help="model size if the base must be built")
    p.add_argument("--base-steps", type=int, help="pretraining steps if the base must be built")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=150, help="GRPO steps")
    p.add_argument("--tasks", default=",".join(TASK_NAMES), help="comma-separated tasks to train on")
    p.add_argument("--prompts-per-step", type=int, default=d.prompts_per_step)
    p.add_argument("--group-size", type=int, default=d.group_size, help="G: samples per prompt")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--kl-coef", type=float, default=d.kl_coef, help="beta: weight of KL to the reference")
    p.add_argument("--clip-eps", type=float, default=d.clip_eps)
    p.add_argument("--clip-eps-high", type=float, default=None, help="upper clip (DAPO clip-higher); default = --clip-eps")
    p.add_argument("--updates-per-batch", type=int, default=d.updates_per_batch, help="mu: gradient steps per rollout")
    p.add_argument("--max-new-tokens", type=int, default=d.max_new_tokens)
    p.add_argument("--temperature", type=float, default=d.temperature, help="rollout temperature")
    p.add_argument("--loss-agg", choices=AGGREGATIONS, default=d.aggregation,
                   help="seq_mean (GRPO), token_mean (DAPO), constant (Dr. GRPO)")
    p.add_argument("--no-std-norm", action="store_true", help="advantages without std division (Dr. GRPO)")
    p.add_argument("--keep-zero-std", action="store_true", help="keep all-equal-reward groups in the loss")
    p.add_argument("--no-curriculum", action="store_true", help="sample task levels uniformly")
    p.add_argument("--ref-reset-every", type=int, default=0, help="reset the reference to the policy every N steps (0 = never)")
    p.add_argument("--eval-every", type=int, default=25, help="held-out evaluation every N steps (0 = only at the end)")
    p.add_argument("--eval-problems", type=int, default=20, help="held-out problems per task-level in the final evaluation")
    p.add_argument("--eval-k", type=int, default=8, help="samples per held-out problem")
    p.add_argument("--resume-every", type=int, default=10, help="write a resume file every N steps")
    args = p.parse_args(argv)
    checks = [(args.steps >= 1, "--steps must be >= 1"), (args.group_size >= 2, "--group-size must be >= 2"),
              (args.prompts_per_step >= 1, "--prompts-per-step must be >= 1"), (args.lr > 0, "--lr must be > 0"),
              (args.kl_coef >= 0, "--kl-coef must be >= 0"), (0 < args.clip_eps < 1, "--clip-eps must be in (0, 1)"),
              (args.updates_per_batch >= 1, "--updates-per-batch must be >= 1"),
              (args.max_new_tokens >= 1, "--max-new-tokens must be >= 1"), (args.temperature > 0, "--temperature must be > 0"),
              (args.eval_problems >= 1 and args.eval_k >= 1, "--eval-problems and --eval-k must be >= 1"),
              (args.eval_every >= 0 and args.ref_reset_every >= 0, "--eval-every / --ref-reset-every must be >= 0"),
              (args.resume_every >= 1, "--resume-every must be >= 1")]
    for ok, message in checks:
        if not ok:
            p.error(message)
    try:
        args.tasks = tuple(t.strip() for t in args.tasks.split(",") if t.strip())
        for task in args.tasks:
            check_task_level(task)
        args.device = pick_device(args.device)
    except ValueError as error:
        p.error(str(error))
    return args


def ensure_base(args) -> None:
    """Build the base model if it does not exist yet (the pipeline is one command)."""
    if Path(args.base).exists():
        return
    from r1mini.pretrain import build_base
    print(f"[zero] no base model at {args.base}: pretraining it first")
    build_base(Path(args.base).parent, args.preset, args.device, args.base_steps, args.seed)


def grpo_config(args) -> GRPOConfig:
    return GRPOConfig(prompts_per_step=args.prompts_per_step, group_size=args.group_size, lr=args.lr,
                      kl_coef=args.kl_coef, clip_eps=args.clip_eps, clip_eps_high=args.clip_eps_high,
                      updates_per_batch=args.updates_per_batch, max_new_tokens=args.max_new_tokens,
                      temperature=args.temperature, aggregation=args.loss_agg, normalize_std=not args.no_std_norm,
                      skip_zero_std=not args.keep_zero_std)


def quick_eval(model, tokenizer, args, step: int) -> dict:
    """A small held-out evaluation for the learning curves (training levels only)."""
    result = evaluate_model(model, tokenizer, args.tasks, n_problems=max(4, args.eval_problems // 3), k=4,
                            include_hard=False, max_new_tokens=args.max_new_tokens + 32, seed=1000 + step)
    overall = result["overall"]
    return {"step": step, **{f"eval_{k}": v for k, v in overall.items() if isinstance(v, float)}}


def run(args) -> dict:
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ensure_base(args)
    policy, tokenizer, base_meta = load_checkpoint(args.base, args.device)
    ref_model = copy.deepcopy(policy).eval().requires_grad_(False)
    cfg = grpo_config(args)
    optimizer = make_optimizer(policy, cfg.lr, cfg.weight_decay)
    curriculum = Curriculum(args.tasks, enabled=not args.no_curriculum)
    metrics_path, resume_path = out_dir / "metrics.jsonl", out_dir / "resume.pt"
    rng, start = random.Random(args.seed), 0
    torch.manual_seed(args.seed)
    if resume_path.exists():
        start, extra = load_resume_state(resume_path, policy, optimizer)
        ref_model.load_state_dict(extra["ref_model"])
        curriculum.pass_rate = extra["pass_rate"]
        rng.setstate(python_rng_state(extra["py_rng"]))
        truncate_metrics(metrics_path, start)
        print(f"[zero] resuming from step {start}")
    else:
        metrics_path.unlink(missing_ok=True)
        append_jsonl(metrics_path, quick_eval(policy, tokenizer, args, 0))
    print(f"[zero] GRPO: {args.steps} steps x {cfg.prompts_per_step} prompts x G={cfg.group_size}, lr {cfg.lr}, "
          f"beta {cfg.kl_coef}, on {args.device}")
    bar = tqdm(range(start, args.steps), desc="R1-Zero GRPO", initial=start, total=args.steps, dynamic_ncols=True)
    for step in bar:
        if args.ref_reset_every and step and step % args.ref_reset_every == 0:
            ref_model.load_state_dict(policy.state_dict())  # R1 v2 resets the reference every 400 steps
        problems = curriculum.sample(rng, cfg.prompts_per_step)
        stats, batch = grpo_step(policy, ref_model, optimizer, tokenizer, problems, cfg, r1_zero_rewards,
                                 args.device, step=step)
        accuracy = batch.rewards["accuracy"].view(-1, cfg.group_size).mean(1).tolist()
        curriculum.update(problems, accuracy)
        append_jsonl(metrics_path, {"step": step + 1, **{k: round(v, 5) for k, v in stats.items()},
                                    "curriculum": dict(curriculum.pass_rate)})
        bar.set_postfix(acc=f"{stats['reward_accuracy']:.2f}", len=f"{stats['response_length']:.0f}",
                        kl=f"{stats.get('kl', 0):.3f}")
        if args.eval_every and (step + 1) % args.eval_every == 0 and step + 1 < args.steps:
            append_jsonl(metrics_path, quick_eval(policy, tokenizer, args, step + 1))
        if (step + 1) % args.resume_every == 0 and step + 1 < args.steps:
            save_resume_state(resume_path, policy, optimizer, step + 1,
                              {"ref_model": ref_model.state_dict(), "pass_rate": curriculum.pass_rate,
                               "py_rng": rng.getstate()})
    bar.close()
    append_jsonl(metrics_path, quick_eval(policy, tokenizer, args, args.steps))
    meta = {"stage": "zero", "base": str(args.base), "grpo": asdict(cfg), "steps": args.steps, "seed": args.seed,
            "preset": base_meta.get("preset")}
    save_checkpoint(out_dir / "model.pt", policy, meta)
    resume_path.unlink(missing_ok=True)
    return final_report(policy, tokenizer, args, out_dir)


def window_mean(rows: list[dict], key: str) -> float:
    """Mean of `key` over the rows that have it: a step whose groups were all equal made no update
    and logs no KL or entropy. NaN when no row has it."""
    values = [r[key] for r in rows if key in r]
    return sum(values) / len(values) if values else float("nan")


def final_report(policy, tokenizer, args, out_dir: Path) -> dict:
    """Evaluate base and R1-Zero on the same held-out problems; write eval.json and report.md."""
    base_model, _, _ = load_checkpoint(args.base, args.device)
    settings = dict(n_problems=args.eval_problems, k=args.eval_k, seed=args.seed, max_new_tokens=args.max_new_tokens + 32)
    base = evaluate_model(base_model, tokenizer, args.tasks, **settings)
    zero = evaluate_model(policy, tokenizer, args.tasks, **settings)
    (out_dir / "eval.json").write_text(json.dumps({"base": base, "zero": zero}, indent=1))
    metrics = read_jsonl(out_dir / "metrics.jsonl")
    steps = [m for m in metrics if "reward" in m]
    first, last = steps[: max(1, len(steps) // 10)], steps[-max(1, len(steps) // 10):]
    lines = ["# R1-Zero report card", "",
             f"Command: `python train_zero.py {' '.join(sys.argv[1:])}`".rstrip(), "",
             f"Held-out problems: {args.eval_problems} per task-level, k={args.eval_k} samples at temperature 0.6, "
             "top-p 0.95.", "", "| metric | base | R1-Zero |", "|---|---|---|"]
    fmt = (lambda v: "–" if v is None else f"{v:.3f}")  # noqa: E731
    for key in ("pass@1", "cons@k", "pass@k", "mean_length", "reasoned_rate", "reasoned_accuracy", "direct_accuracy",
                "reflection_rate", "mixing_rate", "language_consistency", "format_rate"):
        lines.append(f"| {key} (in-distribution) | {fmt(base['overall'][key])} | {fmt(zero['overall'][key])} |")
    for key in ("pass@1", "cons@k", "reasoned_rate"):
        lines.append(f"| {key} (harder than training) | {base['hard'][key]:.3f} | {zero['hard'][key]:.3f} |")
    lines += ["", "During RL (mean of the first → last tenth of steps, on the training rollouts):", "",
              "| quantity | start | end |", "|---|---|---|"]
    for key in ("reward_accuracy", "response_length", "kl", "frac_reward_zero_std", "entropy"):
        if any(key in r for r in steps):
            lines.append(f"| {key} | {window_mean(first, key):.3f} | {window_mean(last, key):.3f} |")
    lines += ["", "## Base, per level", "", format_table(base), "", "## R1-Zero, per level", "", format_table(zero), ""]
    (out_dir / "report.md").write_text("\n".join(lines))
    try:
        from r1mini.plots import plot_run
        plot_run(out_dir / "metrics.jsonl", out_dir)
    except ImportError:
        print("[zero] matplotlib not installed: no plots (pip install matplotlib)")
    print("\n".join(lines[:22]))
    print(f"[zero] wrote {out_dir / 'model.pt'} and {out_dir / 'report.md'}")
    return {"base": base, "zero": zero}


def main(argv=None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    try:
        run(args)
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"[zero] total {(time.perf_counter() - t0) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
