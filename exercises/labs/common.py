"""What the labs share: a toy GRPO run written to metrics.jsonl by the real RL loop, and small
helpers to read those logs back and print a result table.

Tier A labs (kl_term, group_size, clipping) run r1mini's own `rl_loop.train_grpo` on the "tiny"
model preset (random init, ~40k parameters) with a toy reward: "the answer contains a 7". From a
random init that happens in ~3% of answers, and 30 steps of GRPO at lr 1e-2 make it almost
certain (tests/test_grpo.py), so every effect a lab asks about shows up within the labs' 20 steps,
in seconds on a laptop CPU. The loop is the one train_zero.py runs (same metrics.jsonl, same
RunDir); only the model and the reward are toys.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import random
import statistics
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from exercises import run as exercise_run
from r1mini.config import model_config
from r1mini.curriculum import Curriculum
from r1mini.grpo import GRPOConfig
from r1mini.model import Transformer
from r1mini.rl_loop import train_grpo
from r1mini.rundir import RunDir, read_jsonl
from r1mini.tokenizer import get_tokenizer

# The toy runs: 4 questions x G = 8 answers of at most 8 tokens, lr 1e-2 (tests/test_grpo.py's run).
TOY_DEFAULTS = dict(prompts_per_step=4, group_size=8, lr=1e-2, kl_coef=0.01, max_new_tokens=8,
                    zero_std_groups="keep")


def seven_reward(text: str, problem) -> dict[str, float]:
    """The toy reward: 1 if the answer contains the character 7. It is called "accuracy" because the
    RL loop's curriculum reads that component to keep its pass rate (DESIGN: the curriculum learns
    which questions are at the edge of the policy's ability; here there is one kind of question)."""
    return {"accuracy": float("7" in text)}


def tiny_policy(seed: int) -> Transformer:
    """A random-init "tiny" model with the real tokenizer's vocabulary (tests/conftest.py's)."""
    torch.manual_seed(seed)
    return Transformer(model_config("tiny", get_tokenizer().n_vocab)).eval()


def run_toy_arm(out_dir, seed: int, steps: int, step_fn=None, **cfg_overrides) -> Path:
    """Train one arm of a lab: `steps` GRPO steps on the toy reward, from the tiny model `seed`,
    through rl_loop.train_grpo. Returns the path of the metrics.jsonl it wrote."""
    torch.set_num_threads(1)  # tiny matrices: one thread is fastest, and a shared CPU stays usable
    cfg = GRPOConfig(**{**TOY_DEFAULTS, **cfg_overrides})
    policy = tiny_policy(seed)
    ref_model = copy.deepcopy(policy).requires_grad_(False)  # π_ref: the starting policy, frozen
    # The questions do not matter to this reward; 2-digit additions, as in tests/test_grpo.py.
    curriculum = Curriculum(("add",), cfg.group_size, levels={"add": (2,)})
    torch.manual_seed(seed)  # the rollouts draw from torch's global generator
    flags = {"lab_seed": seed, "steps": steps, **asdict(cfg)}
    with RunDir(out_dir, flags, overwrite=True) as run:
        train_grpo(policy, ref_model, get_tokenizer(), cfg, run, steps, curriculum, random.Random(seed),
                   lambda step: seven_reward, torch.device("cpu"), f"lab {Path(out_dir).name}",
                   resume_every=steps, step_fn=step_fn)
        run.finish()
        (Path(out_dir) / "resume.pt").unlink(missing_ok=True)
        return run.metrics


def add_impl_args(parser) -> None:
    """--impl/--only: train with a student's (or a mutant's) exercise functions plugged into r1mini,
    as `python -m exercises.run` does for a top-level script. The lab's own measurements keep the
    reference (exercises.run leaves modules under exercises/ alone)."""
    parser.add_argument("--impl", default="reference",
                        help="whose exercise functions train: reference (r1mini's own, the default), student, "
                             "mutant:NAME")
    parser.add_argument("--only", default="", help="with --impl: comma-separated exercise numbers, e.g. 07,08")


def plugged_in(args):
    """The context in which a lab trains: r1mini untouched for --impl reference, else the chosen
    implementation of the exercises (all, or --only those) installed wherever the pipeline binds them."""
    if args.impl == "reference":
        return contextlib.nullcontext()
    only = [o.strip() for o in args.only.split(",") if o.strip()]
    return exercise_run.plugged_in(exercise_run.implementations(args.impl, only))


def chosen_function(args, number: str, name: str, reference):
    """Exercise `number`'s function `name` from the --impl implementation (`reference` when none
    is chosen, or when a mutant belongs to another exercise): a lab's check can then use a student's."""
    if args.impl == "reference":
        return reference
    for exercise, functions in exercise_run.implementations(args.impl, [number]).items():
        if exercise.startswith(number):
            return getattr(functions, name)
    return reference


def step_records(metrics_path) -> list[dict]:
    """The training-step lines of a metrics.jsonl (evaluation lines carry no "reward")."""
    records = [r for r in read_jsonl(metrics_path) if "reward" in r]
    if not records:
        raise FileNotFoundError(f"no training steps in {metrics_path} (did the run write there?)")
    return records


def mean_of(records: list[dict], key: str, last: int | None = None) -> float:
    """The mean of `key` over the records (over the last `last` of them when given)."""
    values = [r[key] for r in records if key in r]
    if last:
        values = values[-last:]
    if not values:
        raise KeyError(f"no {key!r} in these metrics")
    return statistics.fmean(values)


def table(rows: list[list], header: list[str]) -> str:
    """A small markdown table (readable in a terminal too)."""
    def cell(x):
        return f"{x:.4g}" if isinstance(x, float) else str(x)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def per_step_table(arms: dict[str, Path], keys: list[str], every: int = 1) -> str:
    """Reference curves as a table: one row per step, one column per (arm, key)."""
    logs = {name: step_records(path) for name, path in arms.items()}
    n = min(len(r) for r in logs.values())
    header = ["step"] + [f"{name} {key}" for name in logs for key in keys]
    rows = [[i + 1] + [round(logs[name][i].get(key, float("nan")), 4) for name in logs for key in keys]
            for i in range(0, n, every)]
    return table(rows, header)


def report(title: str, rows: list[list], header: list[str], passed: bool, message: str) -> str:
    """What a lab prints: the result table, then PASS/FAIL with the measured numbers."""
    return f"\n{title}\n\n{table(rows, header)}\n\n{'PASS' if passed else 'FAIL'}: {message}\n"


def save_result(out_dir, result: dict) -> None:
    """result.json beside the arms' metrics, for a grader or a later comparison."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / "result.json").write_text(json.dumps(result, indent=1))


def toy_lab_main(argv, lab: str, description: str, arm_names, run, summarize, steps: int) -> int:
    """The command line of every tier-A lab: train its arms (or, with --check-only, read the logs
    already in --out-dir), check, print the table, write result.json; exit 0 on PASS, 1 on FAIL.
    `run(out_dir, seed, steps)` returns {arm: metrics path}; `summarize(arms, args)` returns
    (passed, message, text)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--out-dir", default=f"runs/labs/{lab}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=steps)
    p.add_argument("--check-only", action="store_true", help="check the metrics already in --out-dir")
    add_impl_args(p)
    args = p.parse_args(argv)
    with plugged_in(args):
        arms = ({name: Path(args.out_dir) / name / "metrics.jsonl" for name in arm_names} if args.check_only
                else run(args.out_dir, args.seed, args.steps))
    try:
        passed, message, text = summarize(arms, args)
    except FileNotFoundError as error:  # --check-only on a directory the lab has not written
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(text)
    save_result(args.out_dir, {"impl": args.impl, "only": args.only, "lab": lab, "seed": args.seed,
                               "passed": passed, "message": message})
    return 0 if passed else 1
