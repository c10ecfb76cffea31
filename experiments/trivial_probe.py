"""How should R1's non-reasoning data answer a trivial question? A side-by-side SFT probe.

R1 (§2.3.3) mixes non-reasoning data into rejection-sampling SFT: simple questions answered without
a long chain of thought. Here the held-out trivial questions (7 single-digit sums, 9 products and 3
single-operator logic questions that no training stage ever shows) must be *computed*, so the form
of the brief answer matters. This probe repeats the Dev3 SFT of train_r1.py (same reasoning data,
same steps and lr, from the base) with the trivial examples written in each style, then samples the
held-out trivial questions, and one non-trivial level per task as a control:

  sentence   `7+8 is 15.` / `7加8得15。` / `T and F is F.`   (one sentence; train_r1.py's first choice)
  equation   `7+8=15.` / `7加8得15。` / `T and F is F.`     (the column step's own form, without the carry)
  empty      no think at all (the paper's answer to "hello"; r1_data.non_reasoning_example now)

    python experiments/trivial_probe.py --styles sentence,equation,empty    # needs runs/r1/dev3 (train_r1.py)

Each style costs one SFT run (about 4 minutes for 500 steps on 2 cores) and a small evaluation.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from r1mini import r1_data  # noqa: E402
from r1mini.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from r1mini.corpus import render_completion, render_prompt  # noqa: E402
from r1mini.evaluate import EVAL_MAX_NEW_TOKENS, sample_responses  # noqa: E402
from r1mini.flags import ArgumentParser, check_writable, fail, int_range  # noqa: E402
from r1mini.rundir import RunDir  # noqa: E402
from r1mini.sft import finetune  # noqa: E402
from r1mini.tasks import LOGIC_OPS_ZH, TRIVIAL_LEVEL, eval_problems  # noqa: E402


def one_step(problem, english_verb: str) -> str:
    """The single step a trivial question needs, in its language; `english_verb` joins an English
    sum or product to its result (" is " or "="). Chinese and logic steps are the column steps' own."""
    answer = problem.answer
    if problem.task == "logic":
        x, op, y = problem.expression.split()
        return f"{x} {LOGIC_OPS_ZH[op]} {y} 得 {answer}。" if problem.language == "zh" else f"{x} {op} {y} is {answer}."
    sign = "+" if problem.task == "add" else "*"
    a, b = problem.expression.split(sign)
    if problem.language == "zh":
        return f"{a}{'加' if sign == '+' else '乘'}{b}得{answer}。"
    return f"{a}{sign}{b}{english_verb}{answer}."


STYLES = {"sentence": lambda problem: one_step(problem, " is "), "equation": lambda problem: one_step(problem, "="),
          "empty": lambda problem: ""}


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev3", default="runs/r1/dev3", help="train_r1.py's Dev3 stage: its rejection data and its SFT flags are reused")
    parser.add_argument("--base", default="runs/base/model.pt")
    parser.add_argument("--styles", default="sentence,equation,empty", help=f"comma-separated, from {sorted(STYLES)}")
    parser.add_argument("--steps", type=int_range(1), help="SFT steps (default: the Dev3 stage's --rejection-steps)")
    parser.add_argument("--k", type=int_range(1, 64), default=8, help="samples per held-out question")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    styles = [s.strip() for s in args.styles.split(",") if s.strip()]
    if not styles or any(s not in STYLES for s in styles):
        parser.error(f"--styles must name some of {sorted(STYLES)}, got {args.styles!r}")
    data_path, flags_path = Path(args.dev3) / "rejection_data.jsonl", Path(args.dev3) / "flags.json"
    try:
        if args.json:
            check_writable(args.json, "--json")  # before the SFT runs, not after them
        _, tokenizer, _ = load_checkpoint(args.base, "cpu")
        for path in (data_path, flags_path):
            if not path.exists():
                raise CheckpointError(f"no {path}: run `python train_r1.py` first")
    except (ValueError, CheckpointError) as error:
        return fail(str(error))
    flags = json.loads(flags_path.read_text())  # the Dev3 stage's own SFT settings, so only the trivial answers differ
    steps = args.steps or flags["rejection_steps"]
    rows = [json.loads(line) for line in data_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    reasoning = [r for r in rows if not r1_data.is_brief(r["completion"])]  # the kept Dev2 answers
    trivial = r1_data.training_problems(flags["seed"], flags["tasks"], len(rows) - len(reasoning), "trivial",
                                        only_trivial=True)
    encode = lambda question, completion: (tokenizer.encode(render_prompt(question)), tokenizer.encode(completion))  # noqa: E731
    results = {}
    for style in styles:
        data = [encode(r["question"], r["completion"]) for r in reasoning]
        data += [encode(p.question, render_completion(STYLES[style](p), p.answer)) for p in trivial]
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp, RunDir(tmp, {"style": style}) as run:
            model = finetune(args.base, data, steps, flags["sft_batch_size"], flags["sft_lr"], "cpu", run, flags["seed"],
                             f"SFT ({style})")
        row = {"sft_minutes": round((time.perf_counter() - t0) / 60, 2)}
        for task in flags["tasks"]:
            for level in (TRIVIAL_LEVEL, 3):
                problems = eval_problems(task, level, 24 if level == TRIVIAL_LEVEL else 12)
                records = sample_responses(model, tokenizer, problems, args.k if level == TRIVIAL_LEVEL else 2,
                                           0.6, 0.95, EVAL_MAX_NEW_TOKENS, 256, 0, f"eval {task}-{level}")
                row[f"{task}-{level}"] = (sum(r["correct"] for r in records) / len(records),
                                          sum(r["length"] for r in records) / len(records))
        results[style] = row
    cells = [f"{t}-{lv}" for t in flags["tasks"] for lv in (TRIVIAL_LEVEL, 3)]
    print(f"\nheld-out pass@1 (mean length) after {steps} SFT steps; level 1 = trivial\n")
    print("| style | " + " | ".join(cells) + " |\n|---|" + "---|" * len(cells))
    for style, row in results.items():
        print(f"| {style} | " + " | ".join(f"{row[c][0]:.3f} ({row[c][1]:.0f})" for c in cells) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
