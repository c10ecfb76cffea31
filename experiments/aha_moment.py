"""The aha moment, tried for real (DeepSeek-R1 v1 §2.2.4, Table 3): does RL teach the model to catch
its own slips?

The paper saw R1-Zero start to write "Wait, wait. Wait. That's an aha moment" and re-evaluate a step.
A reflection *phrase* is easy to count and easy to fake (R1's rewriter writes one into every cold-start
answer); what matters is a *genuine correction*: a step whose own arithmetic is wrong, then a "wait"
naming the wrong and the right value, then the step redone right (reasoning_steps.read_reasoning).
This script reads every sampled answer on the worked levels and reports, per model:

  step errors    wrong steps / steps written (a corrected step counts: it was written wrong)
  slip rate      answers with at least one wrong step written / all answers
  catch rate     of those, the answers in which every wrong step was corrected
  corrections    answers with a genuine correction / all answers (the issue's "correction rate")
  pass@1

    python experiments/aha_moment.py --measure runs/base/model.pt runs/zero/model.pt
    python experiments/aha_moment.py --build runs/aha --seed 0

--measure reads the models given, in order, with paired differences each from the one before.
--build makes the condition under which checking should pay: a base pretrained on a corpus that slips
five times as often (SLIP_MIX: 20% of worked examples slip and are corrected, 20% slip and are not,
against 4% and 4%), then R1-Zero's GRPO from it (train_zero.py, its defaults), then reads both. An
uncaught slip gives a wrong answer and a caught one a right answer, so the accuracy reward pays for
catching; whether RL learns to catch, or only to slip less, is what the numbers say.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import train_zero  # noqa: E402
from r1mini.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from r1mini.config import PRESETS, pick_device  # noqa: E402
from r1mini.corpus import StyleMix  # noqa: E402
from r1mini.evaluate import EVAL_MAX_NEW_TOKENS, EVAL_TEMPERATURE, EVAL_TOP_P, sample_responses  # noqa: E402
from r1mini.flags import SEED, ArgumentParser, fail, int_range  # noqa: E402
from r1mini.intervals import bootstrap_interval, format_difference, format_interval, paired_interval  # noqa: E402
from r1mini.pretrain import build_base  # noqa: E402
from r1mini.reasoning_steps import read_reasoning, step_is_right  # noqa: E402
from r1mini.rewards import reasoning_text  # noqa: E402
from r1mini.tasks import HELD_OUT_SPLITS, TASK_NAMES, TRAIN_LEVELS, TRIVIAL_LEVEL, eval_problems  # noqa: E402

SLIP_MIX = StyleMix(slip_uncorrected=0.2, slip_corrected=0.2)


def read_answer(task: str, completion: str) -> dict:
    """What one answer shows about slips: steps written, wrong ones, and whether each was caught."""
    reading = read_reasoning(task, reasoning_text(completion))
    wrong = [step for step in reading.written if not step_is_right(task, step)]
    return {"steps": len(reading.written), "wrong_steps": len(wrong), "slipped": bool(wrong),
            "caught": bool(wrong) and all("right" in step for step in wrong),  # every wrong step corrected
            "corrected": reading.genuine_corrections > 0}


def per_question(records: list[dict]) -> dict[str, dict]:
    """Each question's answers summed: {question: {answers, right, worked, slipped, caught, corrected,
    steps, wrong_steps}}; an answer is worked if it writes at least one step."""
    out = {}
    for r in records:
        q = out.setdefault(r["question"], dict.fromkeys(
            ("answers", "right", "worked", "slipped", "caught", "corrected", "steps", "wrong_steps"), 0))
        reading = read_answer(r["task"], r["completion"])
        q["answers"] += 1
        q["right"] += r["correct"]
        q["worked"] += reading["steps"] > 0
        for key in ("slipped", "caught", "corrected", "steps", "wrong_steps"):
            q[key] += reading[key]
    return out


def summary(questions: dict[str, dict]) -> dict:
    """The rates over all questions (pooled), and the per-question values the intervals resample."""
    total = {key: sum(q[key] for q in questions.values()) for key in next(iter(questions.values()))}
    share = lambda num, den: num / den if den else None  # noqa: E731
    return {"questions": len(questions), **total,
            "pass@1": share(total["right"], total["answers"]),
            "step_error_rate": share(total["wrong_steps"], total["steps"]),
            "worked_rate": share(total["worked"], total["answers"]),
            "slip_rate": share(total["slipped"], total["answers"]),
            "catch_rate": share(total["caught"], total["slipped"]),
            "correction_rate": share(total["corrected"], total["answers"])}


def per_question_values(questions: dict[str, dict], key: str) -> dict[str, float]:
    """One value per question for the bootstrap: its share of answers right, slipped or corrected."""
    numerator = {"pass@1": "right", "slip_rate": "slipped", "correction_rate": "corrected"}[key]
    return {question: q[numerator] / q["answers"] for question, q in questions.items()}


def measure(checkpoint, split: str, n_problems: int, k: int, seed: int, device) -> dict[str, dict]:
    """Sample the model on the worked levels of `split` (the evaluation's protocol) and read every answer."""
    model, tokenizer, _ = load_checkpoint(checkpoint, device)
    problems = [p for task in TASK_NAMES for level in TRAIN_LEVELS[task] if level != TRIVIAL_LEVEL
                for p in eval_problems(task, level, n_problems, split)]
    records = sample_responses(model, tokenizer, problems, k, EVAL_TEMPERATURE, EVAL_TOP_P, EVAL_MAX_NEW_TOKENS,
                               batch_size=256, seed=seed, desc=f"reading {Path(checkpoint).parent.name}")
    return per_question(records)


def report(results: dict[str, dict[str, dict]], settings: str) -> str:
    """Markdown: one column per model, then each model against the one before it, paired by question."""
    names = list(results)
    sums = {name: summary(questions) for name, questions in results.items()}

    def with_interval(name, key):
        value = sums[name][key]
        if value is None:
            return "–"
        if key in ("pass@1", "slip_rate", "correction_rate"):
            return format_interval(value, bootstrap_interval(list(per_question_values(results[name], key).values())))
        return f"{value:.3f}"
    rows = [("pass@1 (worked levels)", "pass@1"), ("answers that work it out step by step", "worked_rate"),
            ("step errors: wrong steps / steps written", "step_error_rate"),
            ("slip rate: answers with a wrong step written", "slip_rate"),
            ("catch rate: slipped answers with every wrong step corrected", "catch_rate"),
            ("genuine corrections: answers with one", "correction_rate")]
    lines = [f"# The aha moment: {' → '.join(names)}", "", settings, "", "| | " + " | ".join(names) + " |",
             "|---" * (len(names) + 1) + "|"]
    lines += [f"| {label} | " + " | ".join(with_interval(n, key) for n in names) + " |" for label, key in rows]
    lines += ["| counts: answers / worked / slipped / caught | " + " | ".join(
        f"{sums[n]['answers']} / {sums[n]['worked']} / {sums[n]['slipped']} / {sums[n]['caught']}" for n in names) + " |"]
    if len(names) > 1:
        lines += ["", "Paired differences (each model minus the one before it, the same questions; 95% interval):", "",
                  "| change | pass@1 | slip rate | genuine corrections |", "|---|---|---|---|"]
        for before, after in zip(names, names[1:]):
            cells = []
            for key in ("pass@1", "slip_rate", "correction_rate"):
                a, b = per_question_values(results[before], key), per_question_values(results[after], key)
                cells.append(format_difference(paired_interval([a[q] for q in a], [b[q] for q in a])))
            lines.append(f"| {after} − {before} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def build(out_dir: Path, seed: int, device, preset: str | None, base_steps: int | None,
          zero_args: list[str]) -> dict[str, Path]:
    """The slip-prone base (SLIP_MIX) and R1-Zero trained from it; each reused if it already finished."""
    base = out_dir / "slip_base" / "model.pt"
    if not base.exists():
        build_base(base.parent, preset, device, base_steps, seed, evaluate=False, mix=SLIP_MIX)
    zero = out_dir / "slip_zero"
    if not (zero / "model.pt").exists():
        code = train_zero.main(["--base", str(base), "--out-dir", str(zero), "--seed", str(seed), "--device", str(device),
                                *zero_args])
        if code:
            raise CheckpointError(f"train_zero.py stopped with exit code {code}")
    return {"slip-prone base": base, "R1-Zero from it": zero / "model.pt"}


def main(argv=None) -> int:
    parser = ArgumentParser(description="Does RL teach a model to catch its own slips? (R1 §2.2.4, the aha moment)")
    parser.add_argument("--measure", nargs="+", metavar="CKPT", help="read these checkpoints' answers, in order")
    parser.add_argument("--build", metavar="OUT_DIR", help="build a slip-prone base and R1-Zero from it here, then read both")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="model size of the slip-prone base (default: the device's)")
    parser.add_argument("--base-steps", type=int_range(1), help="pretraining steps of the slip-prone base (default: the preset's)")
    parser.add_argument("--zero-args", default="", help="extra train_zero.py flags for --build, one string: --zero-args=\"--steps 100\"")
    parser.add_argument("--split", choices=HELD_OUT_SPLITS, default="test")
    parser.add_argument("--problems", type=int_range(1, 1000), default=20, help="held-out questions per worked level")
    parser.add_argument("--k", type=int_range(1, 256), default=8, help="samples per question")
    parser.add_argument("--seed", type=SEED, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", help="also write the per-question counts here")
    args = parser.parse_args(argv)
    if bool(args.measure) == bool(args.build):
        return fail("give exactly one of --measure CKPT... and --build OUT_DIR")
    device = pick_device(args.device)
    try:
        if args.build:
            checkpoints = build(Path(args.build), args.seed, device, args.preset, args.base_steps, args.zero_args.split())
        else:
            checkpoints = {Path(c).parent.name if Path(c).name == "model.pt" else c: Path(c) for c in args.measure}
            for path in checkpoints.values():
                if not path.exists():
                    raise CheckpointError(f"{path} does not exist")
        results = {name: measure(path, args.split, args.problems, args.k, args.seed, device)
                   for name, path in checkpoints.items()}
    except CheckpointError as error:
        return fail(str(error))
    settings = (f"Held-out {args.split} questions of the worked levels (2-4): {args.problems} per task-level, k={args.k} "
                f"at temperature {EVAL_TEMPERATURE:g}, top-p {EVAL_TOP_P:g}; seed {args.seed}. Command: "
                f"`python experiments/aha_moment.py {' '.join(argv if argv is not None else sys.argv[1:])}`")
    text = report(results, settings)
    print(text)
    if args.build:
        (Path(args.build) / "report.md").write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
