"""R1-Zero: reinforcement learning straight from the base model (DeepSeek-R1 §2.2).

No supervised data at all: GRPO with two rule rewards, accuracy and format, on the R1-Zero
template. What the paper reports, and this script measures on held-out problems:
  - pass@1 rises far above the base; cons@k (majority vote) is higher still;
  - responses grow longer: the policy learns that working step by step pays;
  - reflection ("wait", "check") appears although nothing rewards it directly;
  - language mixing is left alone (nothing rewards consistency) — R1 fixes that later.

    python train_zero.py                 # builds runs/base first if it is missing
    python train_zero.py --help          # every knob
    python train_zero.py --language-reward --out-dir runs/zero_lang   # ablation: + language consistency

Outputs in runs/zero/: model.pt, metrics.jsonl (one line per step, plus eval lines), eval.json,
report.md (base vs R1-Zero), curves.png when matplotlib is installed, evals/ (the two final evaluations,
cached). A killed run resumes.
"""
from __future__ import annotations

import copy
import functools
import json
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

from r1mini.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from r1mini.config import PRESETS, pick_device
from r1mini.curriculum import Curriculum
from r1mini.eval_cache import cached_evaluations
from r1mini.evaluate import add_eval_args, evaluate_model, protocol
from r1mini.flags import (SEED, ArgumentParser, add_grpo_args, check_sequence_budget, fail, grpo_config, int_range,
                          parse_tasks)
from r1mini.grpo import GRPOConfig
from r1mini.pretrain import build_base
from r1mini.report import plot_run, report_card
from r1mini.rewards import r1_zero_rewards
from r1mini.rl_loop import train_grpo
from r1mini.rundir import RunDir, read_jsonl
from r1mini.tasks import TASK_NAMES
from r1mini.train_utils import NonFiniteLossError


def parse_args(argv=None):
    """Every knob of train_zero.py, validated before anything touches a directory (exit 2 on error)."""
    p = ArgumentParser(description="R1-Zero: GRPO from the base model with accuracy + format rewards.")
    add = p.add_argument
    add("--base", default="runs/base/model.pt", help="base checkpoint (built if missing)")
    add("--out-dir", default="runs/zero")
    add("--overwrite", action="store_true", help="replace a finished run in --out-dir")
    add("--preset", choices=sorted(PRESETS), help="model size if the base must be built")
    add("--base-steps", type=int_range(1), help="pretraining steps if the base must be built")
    add("--device", default="auto", help="auto, cpu, cuda or mps")
    add("--seed", type=SEED, default=0)
    add("--steps", type=int_range(1), default=150, help="GRPO steps")
    add("--tasks", default=",".join(TASK_NAMES), help="comma-separated tasks to train on")
    add("--language-reward", action="store_true",
        help="add R1's language-consistency reward (an ablation: R1-Zero itself has none)")
    add_grpo_args(p)
    add("--eval-every", type=int_range(0), default=25, help="held-out evaluation every N steps (0 = only at the end)")
    add_eval_args(p)
    args = p.parse_args(argv)
    try:
        args.tasks = parse_tasks(args.tasks)
        args.device = pick_device(args.device)
        check_sequence_budget(args)
    except (ValueError, CheckpointError) as error:
        p.error(str(error))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = grpo_config(args)
    t0 = time.perf_counter()
    try:
        with RunDir(args.out_dir, vars(args), args.overwrite, inputs=[args.base]) as run:
            train(args, cfg, run)
    except (CheckpointError, NonFiniteLossError) as error:  # one line, not a traceback; resume files stay
        return fail(str(error))
    print(f"[zero] total {(time.perf_counter() - t0) / 60:.1f} min")
    return 0


def train(args, cfg: GRPOConfig, run: RunDir) -> None:
    if not Path(args.base).exists():  # the pipeline is one command: build the base first
        print(f"[zero] no base model at {args.base}: pretraining it first")
        build_base(Path(args.base).parent, args.preset, args.device, args.base_steps, args.seed)
    policy, tokenizer, base_meta = load_checkpoint(args.base, args.device)
    ref_model = copy.deepcopy(policy).eval().requires_grad_(False)   # π_ref: the base, frozen
    curriculum = Curriculum(args.tasks, cfg.group_size, enabled=not args.no_curriculum)
    reward = functools.partial(r1_zero_rewards, language=args.language_reward)
    torch.manual_seed(args.seed)
    print(f"[zero] GRPO: {args.steps} steps x {cfg.prompts_per_step} prompts x G={cfg.group_size}, lr {cfg.lr}, "
          f"beta {cfg.kl_coef}, {cfg.zero_std_groups} all-equal groups, on {args.device}"
          + (", with the language-consistency reward (ablation)" if args.language_reward else ""))
    train_grpo(policy, ref_model, tokenizer, cfg, run, args.steps, curriculum, random.Random(args.seed),
               lambda step: reward, args.device, "R1-Zero GRPO",
               evaluate=lambda model, step: quick_eval(model, tokenizer, args, step), eval_every=args.eval_every,
               resume_every=args.resume_every, ref_reset_every=args.ref_reset_every)
    save_checkpoint(run.model, policy, {"stage": "zero", "base": str(args.base), "grpo": asdict(cfg),
                                        "steps": args.steps, "seed": args.seed, "preset": base_meta.get("preset")})
    final_report(args, run)
    run.finish()


def quick_eval(model, tokenizer, args, step: int) -> dict:
    """A small held-out evaluation for the learning curves (training levels only): a third of the
    final evaluation's problems and k = 4, so a curve point costs little; the seed changes with the
    step so that the curve is not one fixed set of samples. On the validation split: the curve is what
    one reads to choose the number of steps, and the test split must not choose anything."""
    result = evaluate_model(model, tokenizer, args.tasks, n_problems=max(4, args.eval_problems // 3), k=4,
                            include_hard=False, max_new_tokens=args.eval_max_new_tokens, seed=1000 + step,
                            split="validation")
    return {"step": step, **{f"eval_{k}": v for k, v in result["overall"].items() if isinstance(v, float)}}


def final_report(args, run: RunDir) -> None:
    """Base and R1-Zero on the same held-out problems: eval.json, report.md, curves.png. The two
    evaluations run side by side (and are cached, so a rerun after a kill does not repeat them)."""
    settings = dict(n_problems=args.eval_problems, k=args.eval_k, seed=args.seed, max_new_tokens=args.eval_max_new_tokens,
                    split=args.eval_split)
    evals = cached_evaluations({"base": args.base, "R1-Zero": run.model}, args.tasks, settings, run.dir / "evals",
                               args.device, "zero")
    (run.dir / "eval.json").write_text(json.dumps(evals, indent=1))
    report = report_card("R1-Zero report card", evals, read_jsonl(run.metrics), protocol(args.eval_problems, args.eval_k, args.eval_split),
                         ("reward_accuracy", "response_length", "kl", "frac_reward_zero_std", "groups_sampled", "entropy"))
    (run.dir / "report.md").write_text(report)
    plot_run(run.metrics, run.dir)
    print(report.split("\n## ")[0])
    print(f"[zero] wrote {run.model} and {run.dir / 'report.md'}")


if __name__ == "__main__":
    sys.exit(main())
