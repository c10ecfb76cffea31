"""Trivial questions R1 was taught against those it never saw: where its direct answers fail.

R1 answers trivial questions directly (an empty think, R1 v1 §2.3.3's "hello"), as the R1 issue asks:
at most a third of R1-Zero's length, accuracy not lower. The held-out trivial level (5 sums, 7
products, 1 logic question of the test split, which no training stage sees; nor their commuted twins) must be
*recalled* from facts the model only ever saw inside column steps ("ones: 7*7=49, ..."), and a
direct answer cannot do that reliably; R1-Zero works them out instead, at three times the length.
This script shows the difference by sampling each checkpoint on both sets:

  taught     every distinct training-split trivial question (149 of the 192), once each, in the
             phrasing and language its draw gives: what R1's non-reasoning data taught it
  held out   the evaluation's trivial questions (evaluate.py: 20 draws per task of the test split)

    python experiments/trivial_recall.py runs/zero/model.pt runs/r1/model.pt

Reported per set: pass@1 (k samples at temperature 0.6, top-p 0.95, as evaluate.py), mean
response length in tokens, and the share of answers that work the question out step by step.
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from r1mini.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from r1mini.evaluate import EVAL_MAX_NEW_TOKENS, sample_responses  # noqa: E402
from r1mini.flags import ArgumentParser, fail, int_range  # noqa: E402
from r1mini.tasks import TASK_NAMES, TRIVIAL_LEVEL, eval_problems, generate_problem  # noqa: E402


def taught_questions(seed: int = 7, draws: int = 4000) -> list:
    """One problem per distinct training-split trivial expression (drawn until none is new)."""
    rng, seen, problems = random.Random(seed), set(), []
    for task in TASK_NAMES:
        for _ in range(draws):
            problem = generate_problem(rng, task, TRIVIAL_LEVEL, "train")
            if problem.expression not in seen:
                seen.add(problem.expression)
                problems.append(problem)
    return problems


def held_out_questions(n_problems: int = 20) -> list:
    return [p for task in TASK_NAMES for p in eval_problems(task, TRIVIAL_LEVEL, n_problems)]


def measure(model, tokenizer, problems, k: int, seed: int) -> dict:
    records = sample_responses(model, tokenizer, problems, k, 0.6, 0.95, EVAL_MAX_NEW_TOKENS, 256, seed)
    n = len(records)
    return {"questions": len(problems), "pass@1": sum(r["correct"] for r in records) / n,
            "length": sum(r["length"] for r in records) / n, "reasoned": sum(r["reasoned"] for r in records) / n}


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", help="model.pt files to compare")
    parser.add_argument("--k", type=int_range(1, 64), default=8, help="samples per question")
    parser.add_argument("--seed", type=int_range(0), default=0)
    args = parser.parse_args(argv)
    sets = {"taught": taught_questions(), "held out": held_out_questions()}
    rows = []
    for checkpoint in args.checkpoints:
        try:
            model, tokenizer, _ = load_checkpoint(checkpoint, "cpu")
        except CheckpointError as error:
            return fail(str(error))
        for name, problems in sets.items():
            rows.append((checkpoint, name, measure(model, tokenizer, problems, args.k, args.seed)))
    print(f"\ntrivial questions, k={args.k} at temperature 0.6, top-p 0.95\n")
    print("| checkpoint | set | questions | pass@1 | mean length | reasoned |\n|---|---|---|---|---|---|")
    for checkpoint, name, m in rows:
        print(f"| {checkpoint} | {name} | {m['questions']} | {m['pass@1']:.3f} | {m['length']:.1f} | {m['reasoned']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
