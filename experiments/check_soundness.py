"""Are a model's self-checks checks? The share of its worked answers whose "Let me check …" quotes one
of the problem's own steps, right (`r1_data.concludes_soundly`, the rejection filter's test).

    python experiments/check_soundness.py --ckpt runs/r1/model.pt runs/r1/dev2/model.pt

Samples the held-out questions of the worked levels (2-4 digits / operators; evaluate's protocol:
k answers at temperature 0.6, top-p 0.95) and reports, per checkpoint, over the right answers
that think: the share with a self-check, and of those the share whose check is one of the
problem's steps with its right value, under its own column's name, and whose one conclusion and
summary state the answer.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from r1mini.checkpoint import CheckpointError, load_checkpoint  # noqa: E402
from r1mini.evaluate import EVAL_MAX_NEW_TOKENS, sample_responses  # noqa: E402
from r1mini.flags import ArgumentParser, fail, int_range  # noqa: E402
from r1mini.r1_data import CHECK_OPENINGS, concludes_soundly  # noqa: E402
from r1mini.rewards import reasoning_text, summary_text, thinks  # noqa: E402
from r1mini.tasks import TASK_NAMES, TRAIN_LEVELS, TRIVIAL_LEVEL, eval_problems  # noqa: E402

def soundness(records: list[dict], problems: dict) -> dict:
    """Counts over the right answers that think: with a self-check, and with a sound one."""
    worked = [r for r in records if r["correct"] and thinks(r["completion"])]
    checked = [r for r in worked if any(opening in reasoning_text(r["completion"]) for opening in CHECK_OPENINGS)]
    sound = [r for r in checked if concludes_soundly(problems[r["question"]], reasoning_text(r["completion"]),
                                                     summary_text(r["completion"]))]
    return {"right answers that think": len(worked), "with a self-check": len(checked), "sound": len(sound)}


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", nargs="+", required=True, help="checkpoints to compare")
    parser.add_argument("--problems", type=int_range(1, 100), default=20, help="held-out questions per level")
    parser.add_argument("--k", type=int_range(1, 64), default=4, help="answers per question")
    args = parser.parse_args(argv)
    problems = [p for task in TASK_NAMES for level in TRAIN_LEVELS[task] if level != TRIVIAL_LEVEL
                for p in eval_problems(task, level, args.problems)]
    by_question = {p.question: p for p in problems}
    print(f"{len(problems)} held-out questions of the worked levels x {args.k} answers, T 0.6, top-p 0.95")
    print("| checkpoint | right answers that think | with a self-check | sound (share of those) |\n|---|---|---|---|")
    for path in args.ckpt:
        try:
            model, tokenizer, _ = load_checkpoint(path, "cpu")
        except CheckpointError as error:
            return fail(str(error))
        records = sample_responses(model, tokenizer, problems, args.k, 0.6, 0.95, EVAL_MAX_NEW_TOKENS,
                                   batch_size=256, seed=0, desc=path)
        counts = soundness(records, by_question)
        share = counts["sound"] / max(1, counts["with a self-check"])
        print(f"| {path} | {counts['right answers that think']} | {counts['with a self-check']} | "
              f"{counts['sound']} ({share:.3f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
