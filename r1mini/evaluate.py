"""Evaluation as in DeepSeek-R1 §3: sample k answers per question at temperature 0.6, top-p 0.95.

  pass@1  mean correctness over the k samples (then over questions)
  cons@k  majority vote over the k extracted answers (self-consistency); a tie for the most votes
          is no majority and counts as wrong, so the result never depends on sample order
  pass@k  at least one of the k samples is right (unbiased estimator with n = k)

pass@1 and cons@k carry a 95% interval from a bootstrap over questions (intervals.py: a question's k
samples are correlated, so questions, not samples, are resampled), and the result keeps each
question's outcome so that two models on the same questions can be compared paired.

Besides accuracy it measures what the paper's plots show about *how* the model answers: response
length, share of responses that reason step by step (vs. answer directly) and the accuracy of
each style, the rate of reflection phrases ("wait", "check", "等等", …) and, apart, of template
self-checks ("Let me check ... Yes.") and of genuine corrections (a wrong step, "wait", the step redone
right: reasoning_steps.py), the agreement rate (the think's conclusion, R1's summary and the <answer>
state the same number, over responses that state it more than once), the format rate, and the
reasoning's language measured against the *question's* language (asked in English or Chinese, half
each): consistency, the share reasoning only in it, mixing. "overall" covers the training levels;
"hard" the harder-than-training levels (generalisation); "by_language" the training levels per
question language. Greedy decoding is not used: a base model that answers either
directly or step by step is a distribution, and the paper's protocol is sampling.

CLI:  python -m r1mini.evaluate --ckpt runs/base/model.pt [--json out.json]
"""
from __future__ import annotations

import json
import math
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import torch
from tqdm import tqdm

from r1mini.checkpoint import CheckpointError, load_checkpoint
from r1mini.config import pick_device
from r1mini.corpus import render_prompt
from r1mini.flags import SEED, ArgumentParser, check_writable, fail, float_range, int_range, parse_tasks
from r1mini.intervals import bootstrap_interval, format_interval
from r1mini.reasoning_steps import agreement, read_reasoning
from r1mini.rewards import (accuracy_reward, extract_answer, format_reward, language_consistency,
                            language_word_counts, reasoning_text, summary_text, thinks)
from r1mini.sampler import generate
from r1mini.tasks import (HARD_LEVELS, HELD_OUT_SPLITS, LANGUAGES, TASK_NAMES, TRAIN_LEVELS, TRIVIAL_LEVEL, Problem,
                          eval_problems, normalize_answer)

# The evaluation protocol, in one place (R1 v1 §3): k samples per question at this temperature and
# top-p, each answer at most this many tokens (a clean 4-digit product's solution is ~150).
EVAL_TEMPERATURE = 0.6
EVAL_TOP_P = 0.95
EVAL_MAX_NEW_TOKENS = 192

REFLECTION = re.compile(r"\b(?:wait|check|verify)\b|等等|检查|验证", re.IGNORECASE)
# one *computed* step of any task, in either language — an operation with its result, so a think
# that only repeats the question ("12+34") is not reasoning: "5+3+0=08", "5加3加0得08", "7*6=42",
# "7乘6得42", "T and F is F", "T 与 F 得 F"
REASONING_STEP = re.compile(r"\d(?:\s*(?:[+*]|加|乘)\s*\d+)+\s*(?:=|得)\s*\d"
                            r"|\b[TF] (?:and|or|xor|与|或|异或) [TF] (?:is|得) [TF]\b")


def response_metrics(completion: str, answer: str, language: str, task: str) -> dict:
    """Everything we measure about one sampled response to a `task` question asked in `language`."""
    reasoning = reasoning_text(completion)
    reading = read_reasoning(task, reasoning)
    words = language_word_counts(reasoning)
    # An answer with an empty think (R1's answer to a trivial question) has no reasoning language:
    # it is left out of the language rates rather than counted as the wrong language.
    consistency = language_consistency(completion, language) if thinks(completion) else None
    return {
        "correct": accuracy_reward(completion, answer),
        "format": format_reward(completion, summary=True, empty_think=True),  # R1's readable format and empty think pass
        "summary": float(bool(summary_text(completion))),   # R1's summary for the reader is present
        "reasoned": float(bool(REASONING_STEP.search(reasoning))),
        "reflection": float(bool(REFLECTION.search(reasoning))),
        "template_check": float(reading.template_checks > 0),        # "Let me check ... Yes."
        "genuine_correction": float(reading.genuine_corrections > 0),  # a wrong step, "wait", redone right
        "agreement": agreement(completion, task),  # think's conclusion, summary and answer state one number
        "language_consistency": consistency,
        "own_language": None if consistency is None else float(consistency == 1.0),  # every word in the question's language
        "mixed": float(words["en"] > 0 and words["zh"] > 0),
        "answer": extract_answer(completion),
    }


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct (Chen et al. 2021)."""
    return 1.0 if n - c < k else 1.0 - math.comb(n - c, k) / math.comb(n, k)


def majority_answer(answers: list[str | None]) -> str | None:
    """The answer most samples agree on, normalised as the verifier does; None when there is no
    answer at all or the top count is tied."""
    votes = Counter(a for a in (normalize_answer(a) for a in answers if a is not None) if a)
    ranked = votes.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def _mean(values) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def summarize(records: list[dict], k: int) -> dict:
    """Aggregate per-response records (each with 'question', 'reference', metrics, 'length').
    pass@1 and cons@k come with a 95% interval from a question-level bootstrap (intervals.py): a
    question's k samples are resampled together, its share right for pass@1, its vote for cons@k."""
    by_question = defaultdict(list)
    for r in records:
        by_question[r["question"]].append(r)
    cons, passk, share_right = [], [], []
    for rows in by_question.values():
        right, vote_right = question_outcome(rows)
        cons.append(float(vote_right))
        passk.append(pass_at_k(len(rows), right, k))
        share_right.append(right / len(rows))
    reasoned = [r for r in records if r["reasoned"]]
    direct = [r for r in records if not r["reasoned"]]
    return {
        "n_problems": len(by_question), "k": k,
        "pass@1": _mean(r["correct"] for r in records),
        "cons@k": _mean(cons), "pass@k": _mean(passk),
        "pass@1_ci": _interval(share_right), "cons@k_ci": _interval(cons),
        "mean_length": _mean(r["length"] for r in records),
        "format_rate": _mean(r["format"] for r in records),
        "summary_rate": _mean(r["summary"] for r in records),
        "reasoned_rate": _mean(r["reasoned"] for r in records),
        "reasoned_accuracy": _mean(r["correct"] for r in reasoned),
        "direct_accuracy": _mean(r["correct"] for r in direct),
        "reflection_rate": _mean(r["reflection"] for r in records),
        "template_check_rate": _mean(r["template_check"] for r in records),
        "correction_rate": _mean(r["genuine_correction"] for r in records),
        "agreement_rate": _mean(r["agreement"] for r in records if r["agreement"] is not None),
        "language_consistency": _mean(r["language_consistency"] for r in records if r["language_consistency"] is not None),
        "own_language_rate": _mean(r["own_language"] for r in records if r["own_language"] is not None),
        "mixing_rate": _mean(r["mixed"] for r in records),
    }


def _interval(per_question_values: list[float]) -> list[float] | None:
    """bootstrap_interval as a JSON list, [lo, hi]; None with no questions."""
    interval = bootstrap_interval(per_question_values)
    return list(interval) if interval else None


def question_outcome(rows: list[dict]) -> tuple[int, bool]:
    """(how many of one question's samples were right, whether their majority vote was)."""
    return int(sum(r["correct"] for r in rows)), majority_answer([r["answer"] for r in rows]) == rows[0]["reference"]


def question_outcomes(records: list[dict]) -> list[dict]:
    """One entry per question: its task, level, language and text, how many of its samples were
    right and whether their vote was (1/0). Kept in the result so that two models evaluated on the
    same questions can be compared question by question (intervals.paired_difference)."""
    by_question = defaultdict(list)
    for r in records:
        by_question[(r["task"], r["level"], r["question"])].append(r)
    entries = []
    for (task, level, question), rows in by_question.items():
        right, vote_right = question_outcome(rows)
        entries.append({"task": task, "level": level, "language": rows[0]["language"], "question": question,
                        "correct": right, "cons": int(vote_right)})
    return entries


def by_language(records: list[dict], k: int) -> dict:
    """One summary per question language; its language metrics compare the reasoning with that
    language (records carry 'language', the question's)."""
    return {lang: summarize([r for r in records if r["language"] == lang], k) for lang in LANGUAGES}


def sample_responses(model, tokenizer, problems: list[Problem], k: int, temperature: float, top_p: float,
                     max_new_tokens: int, batch_size: int, seed: int, desc: str = "eval") -> list[dict]:
    """k sampled responses per problem, each with its metrics."""
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    jobs = [p for p in problems for _ in range(k)]
    records = []
    for start in tqdm(range(0, len(jobs), batch_size), desc=desc, leave=False, dynamic_ncols=True):
        chunk = jobs[start: start + batch_size]
        prompts = [tokenizer.encode(render_prompt(p.question)) for p in chunk]
        outputs = generate(model, prompts, max_new_tokens, temperature=temperature, top_p=top_p,
                           stop_tokens=(tokenizer.eot_id,), pad_id=tokenizer.pad_id, generator=generator)
        for problem, tokens in zip(chunk, outputs):
            completion = tokenizer.decode(tokens)
            records.append({"task": problem.task, "level": problem.level, "question": problem.question,
                            "language": problem.language, "reference": problem.answer, "completion": completion,
                            "length": len(tokens), **response_metrics(completion, problem.answer, problem.language, problem.task)})
    return records


# Room for R1's readable answers (a self-check and a summary) on the longest training questions:
# train_r1.py and distill.py evaluate with it, train_zero.py too by default (160 + 32): one measurement.
def evaluate_model(model, tokenizer, tasks=TASK_NAMES, n_problems: int = 20, k: int = 8,
                   temperature: float = EVAL_TEMPERATURE, top_p: float = EVAL_TOP_P, max_new_tokens: int = EVAL_MAX_NEW_TOKENS,
                   include_hard: bool = True, batch_size: int = 256, seed: int = 0, split: str = "test",
                   return_records: bool = False) -> dict:
    """Held-out evaluation on the `split` ("test": what reports show; "validation": what chooses a
    default, a step count, a threshold): {"settings", "overall" (training levels), "hard", "by_task", "by_level",
    "by_language" (training levels, per question language), "trivial" (the trivial level),
    "nontrivial" (the other training levels) and "questions" (question_outcomes: each question's
    count of right samples and its vote)}."""
    problems = []
    for task in tasks:
        levels = TRAIN_LEVELS[task] + (HARD_LEVELS[task] if include_hard else ())
        for level in levels:
            problems += eval_problems(task, level, n_problems, split)
    records = sample_responses(model, tokenizer, problems, k, temperature, top_p, max_new_tokens, batch_size, seed)
    in_dist = [r for r in records if r["level"] in TRAIN_LEVELS[r["task"]]]
    hard = [r for r in records if r["level"] in HARD_LEVELS[r["task"]]]
    result = {
        "settings": {"k": k, "temperature": temperature, "top_p": top_p, "n_problems_per_level": n_problems,
                     "max_new_tokens": max_new_tokens, "seed": seed, "split": split},
        "overall": summarize(in_dist, k),
        "hard": summarize(hard, k) if hard else None,
        "by_task": {t: summarize([r for r in in_dist if r["task"] == t], k) for t in tasks},
        "by_level": {f"{t}-{lv}": summarize([r for r in records if r["task"] == t and r["level"] == lv], k)
                     for t in tasks for lv in TRAIN_LEVELS[t] + (HARD_LEVELS[t] if include_hard else ())},
        "by_language": by_language(in_dist, k),
        "trivial": summarize([r for r in records if r["level"] == TRIVIAL_LEVEL], k),
        "nontrivial": summarize([r for r in in_dist if r["level"] != TRIVIAL_LEVEL], k),
        "questions": question_outcomes(records),
    }
    if return_records:
        result["records"] = records
    return result


def measures_the_same(result: dict, tasks, n_problems: int, k: int, seed: int, max_new_tokens: int, split: str) -> bool:
    """Whether an earlier evaluate_model result (from an eval.json) used these tasks, split and settings,
    at the standard temperature and top-p, and `is_current`: then evaluating the same checkpoint again
    repeats it."""
    return result.get("settings") == {"k": k, "temperature": EVAL_TEMPERATURE, "top_p": EVAL_TOP_P, "n_problems_per_level": n_problems,
                                      "max_new_tokens": max_new_tokens, "seed": seed, "split": split} \
        and list(result.get("by_task", {})) == list(tasks) and is_current(result)


def is_current(result: dict) -> bool:
    """Whether an earlier result has what this version measures: each question's outcome (for the
    paired differences) and the reading of the reasoning (template checks, genuine corrections,
    agreement). An older one is evaluated again rather than shown with rows missing."""
    return "questions" in result and "agreement_rate" in result.get("overall", {})


def add_eval_args(parser: ArgumentParser) -> None:
    """The final held-out evaluation's flags, the same in every script."""
    g = parser.add_argument_group("evaluation")
    g.add_argument("--eval-problems", type=int_range(1, 1000), default=20, help="held-out problems per task-level")
    g.add_argument("--eval-k", type=int_range(1, 256), default=8, help="samples per held-out problem")
    g.add_argument("--eval-max-new-tokens", type=int_range(1), default=EVAL_MAX_NEW_TOKENS,
                   help="answer budget of the evaluations")
    g.add_argument("--eval-split", choices=HELD_OUT_SPLITS, default="test",
                   help="held-out split of the final evaluation: validation when the run chooses a default")


def protocol(n_problems: int, k: int, split: str = "test") -> str:
    """The evaluation protocol in words, for the reports."""
    return (f"Held-out {split} problems: {n_problems} per task-level, k={k} samples at temperature "
            f"{EVAL_TEMPERATURE:g}, top-p {EVAL_TOP_P:g}.")


COLUMNS = [("pass@1", "pass@1"), ("cons@k", "cons@k"), ("format_rate", "format"), ("mean_length", "length"),
           ("reasoned_rate", "reasoned"), ("reasoned_accuracy", "acc|reasoned"), ("direct_accuracy", "acc|direct"),
           ("reflection_rate", "reflect"), ("template_check_rate", "tmpl-check"), ("correction_rate", "corrects"),
           ("agreement_rate", "agree"), ("mixing_rate", "lang-mix"), ("own_language_rate", "own-lang")]


def _cell(summary: dict, key: str) -> str:
    """One number of a summary; pass@1 and cons@k with their interval when the summary has one (a
    result written before the intervals has none)."""
    value = summary[key]
    if value is None:
        return "–"
    return f"{value:.1f}" if key == "mean_length" else format_interval(value, summary.get(f"{key}_ci"))


def format_table(result: dict) -> str:
    """A markdown table: one row per task-level, then the in-distribution and hard summaries, then the
    in-distribution questions per question language; n is the number of questions of the row, and
    pass@1 and cons@k carry their 95% interval over questions."""
    k = result["settings"]["k"]
    header = "| set | n | " + " | ".join(name.replace("k", str(k)) if name == "cons@k" else name for _, name in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 2)]
    rows = list(result["by_level"].items()) + [("**in-distribution**", result["overall"])]
    if result.get("hard"):
        rows.append(("**harder than training**", result["hard"]))
    rows += [(f"**asked in {lang}**", summary) for lang, summary in result.get("by_language", {}).items()]
    for name, summary in rows:
        lines.append(f"| {name} | {summary['n_problems']} | " + " | ".join(_cell(summary, key) for key, _ in COLUMNS) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = ArgumentParser(description="Evaluate a checkpoint on held-out problems (R1 §3 protocol).")
    parser.add_argument("--ckpt", required=True, help="path to a model.pt written by any stage")
    parser.add_argument("--tasks", default=",".join(TASK_NAMES), help="comma-separated task names")
    parser.add_argument("--n-problems", type=int_range(1, 1000), default=20, help="held-out problems per task and level "
                        "(fewer when a level has fewer distinct test questions)")
    parser.add_argument("--k", type=int_range(1, 256), default=8, help="samples per problem (pass@1 averages them, cons@k votes)")
    parser.add_argument("--temperature", type=float_range(0.01, 100), default=EVAL_TEMPERATURE)
    parser.add_argument("--top-p", type=float_range(0, 1, low_open=True), default=EVAL_TOP_P)
    parser.add_argument("--max-new-tokens", type=int_range(1), default=EVAL_MAX_NEW_TOKENS)
    parser.add_argument("--no-hard", action="store_true", help="skip the harder-than-training levels")
    parser.add_argument("--split", choices=HELD_OUT_SPLITS, default="test",
                        help="held-out split: validation to choose a setting, test to report")
    parser.add_argument("--seed", type=SEED, default=0)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument("--json", help="also write the results as JSON to this path")
    args = parser.parse_args(argv)
    try:
        tasks = parse_tasks(args.tasks)
        if args.json:
            check_writable(args.json, "--json")  # before the evaluation, which may take an hour
        model, tokenizer, meta = load_checkpoint(args.ckpt, pick_device(args.device))
        if args.max_new_tokens > model.cfg.max_seq_len - 64:
            raise ValueError(f"--max-new-tokens must be at most {model.cfg.max_seq_len - 64} for this model")
    except (ValueError, CheckpointError) as error:
        return fail(str(error))
    result = evaluate_model(model, tokenizer, tasks, args.n_problems, args.k, args.temperature, args.top_p,
                            args.max_new_tokens, include_hard=not args.no_hard, seed=args.seed, split=args.split)
    print(f"{args.ckpt} ({meta.get('stage', '?')}), {args.split} split, k={args.k}, temperature {args.temperature}, top-p {args.top_p}")
    print(format_table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
