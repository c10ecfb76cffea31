"""Trivial questions: is R1 as accurate as R1-Zero there, and shorter? With paired intervals.

R1's non-reasoning data decides how R1 answers a trivial question (3+4, 7*8, T and F): directly,
with an empty think, or worked out in one short step (train_r1.py --trivial-form). The goal (R1 v1
§2.3.3: no chain of thought for a simple query, but not at the cost of a wrong answer): on held-out
trivial questions R1's accuracy not below R1-Zero's and its length well below. The held-out trivial
level (the test split's 5 sums, 7 products and 1 logic question, which no training stage sees, nor
their commuted twins) must be *recalled* from facts the model mostly saw inside column steps ("ones:
7*7=49, ..."). This script samples each model on two sets:

  taught     every distinct training-split trivial question (149 of the 192), once each, in the
             phrasing and language its draw gives: what R1's non-reasoning data taught it
  held out   the evaluation's trivial questions (evaluate.py: 20 draws per task of the test split)

    python experiments/trivial_recall.py runs/zero/model.pt runs/r1/model.pt
    python experiments/trivial_recall.py R1-Zero=runs/seeds/seed{0,1,2}/zero/model.pt \\
        R1=runs/seeds/seed{0,1,2}/r1/model.pt      # pooled over seeds

Each model is one or more checkpoints (NAME=PATH; the PATHs of one NAME are its seeds); a question's
value is its mean over the model's checkpoints, so the interval is over questions, pooled over
seeds. Reported per set: pass@1 (k samples at temperature 0.6, top-p 0.95, as evaluate.py), mean
response length in tokens, the share of answers that work the question out, the share of direct
answers that are right (the think left empty, T = 1: r1_data.direct_answers_right, the probe
train_r1.py's adaptive rule uses; what the model knows without working), and each model minus the
first, paired over the same questions (intervals.paired_interval).
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from r1mini.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from r1mini.evaluate import EVAL_MAX_NEW_TOKENS, sample_responses  # noqa: E402
from r1mini.flags import ArgumentParser, fail, int_range  # noqa: E402
from r1mini.intervals import paired_interval  # noqa: E402
from r1mini.r1_data import direct_answers_right  # noqa: E402
from r1mini.tasks import TASK_NAMES, TRIVIAL_LEVEL, eval_problems, generate_problem  # noqa: E402

METRICS = ("pass@1", "length", "reasoned", "direct")


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


def per_question(model, tokenizer, problems, k: int, seed: int) -> dict[str, list[float]]:
    """Each metric's value per problem, in the order of `problems`: the mean over its k samples
    (sample_responses returns each problem's k records together, in order)."""
    records = sample_responses(model, tokenizer, problems, k, 0.6, 0.95, EVAL_MAX_NEW_TOKENS, 256, seed)
    groups = [records[i * k:(i + 1) * k] for i in range(len(problems))]
    return {"pass@1": [sum(r["correct"] for r in g) / k for g in groups],
            "length": [sum(r["length"] for r in g) / k for g in groups],
            "reasoned": [sum(r["reasoned"] for r in g) / k for g in groups],
            # what the model knows: its answers when made to answer directly (r1_data's probe, T = 1)
            "direct": [right / k for right in direct_answers_right(model, tokenizer, problems, k, 1.0, seed)]}


def pooled(values: list[dict[str, list[float]]]) -> dict[str, list[float]]:
    """Per question, the mean over checkpoints (seeds) of each metric."""
    return {m: [sum(v[m][i] for v in values) / len(values) for i in range(len(values[0][m]))] for m in METRICS}


def models_from(specs: list[str]) -> dict[str, list[str]]:
    """{model name: its checkpoints} from NAME=PATH arguments, in the order first named; the
    arguments with one NAME are its seeds. A bare PATH is a model of its own, named by the path."""
    models: dict[str, list[str]] = {}
    for spec in specs:
        name, _, path = spec.partition("=") if "=" in spec else (spec, "", spec)
        models.setdefault(name, []).append(path)
    return models


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", metavar="[NAME=]PATH",
                        help="model.pt files; the first model is the one the others are compared with, and "
                             "the PATHs given one NAME are pooled as its seeds")
    parser.add_argument("--k", type=int_range(1, 64), default=8, help="samples per question")
    parser.add_argument("--seed", type=int_range(0), default=0)
    args = parser.parse_args(argv)
    models = models_from(args.models)
    sets = {"taught": taught_questions(), "held out": held_out_questions()}
    values = {}   # (model name, set name) -> per-question metrics pooled over the model's checkpoints
    for name, checkpoints in models.items():
        runs = {s: [] for s in sets}
        for checkpoint in checkpoints:
            try:
                model, tokenizer, _ = load_checkpoint(checkpoint, "cpu")
            except CheckpointError as error:
                return fail(str(error))
            for set_name, problems in sets.items():
                runs[set_name].append(per_question(model, tokenizer, problems, args.k, args.seed))
        for set_name in sets:
            values[(name, set_name)] = pooled(runs[set_name])
    first = next(iter(models))
    print(f"\ntrivial questions, k={args.k} at temperature 0.6, top-p 0.95; a model's value per question is its "
          f"mean over its checkpoints; differences are paired over the same questions, 95% bootstrap\n")
    print(f"| model | checkpoints | set | questions | pass@1 | mean length | reasoned | direct answers right | "
          f"pass@1 − {first} | length − {first} |\n|---|---|---|---|---|---|---|---|---|---|")
    for name, checkpoints in models.items():
        for set_name in sets:
            v, ref = values[(name, set_name)], values[(first, set_name)]
            mean = {m: sum(v[m]) / len(v[m]) for m in METRICS}
            diffs = ["–", "–"] if name == first else [
                "{:+.3f} [{:+.2f}, {:+.2f}]".format(*paired_interval(ref[m], v[m])) for m in ("pass@1", "length")]
            print(f"| {name} | {len(checkpoints)} | {set_name} | {len(v['pass@1'])} | {mean['pass@1']:.3f} | "
                  f"{mean['length']:.1f} | {mean['reasoned']:.3f} | {mean['direct']:.3f} | {diffs[0]} | {diffs[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
