"""The data of R1's two supervised stages, and the rule standing in for its helpfulness reward model
(DeepSeek-R1 v1 §2.3; v2 supplement B.3-B.5). train_r1.py calls these in the paper's order:

  1. cold start       `cold_start_example`: keep an R1-Zero answer only if it is verified right and
                      readable (every step parsed, each column worked exactly once, one language),
                      then rewrite it for a reader: the reasoning in the *question's* language, a
                      self-check, and a summary after </think>;
  2. reasoning RL     `r1_rewards`: accuracy + readable format + language consistency (GRPO, grpo.py);
  3. rejection        `rejection_reason`: keep Dev2's answers that are right, complete (readable
     sampling         format), not repetitive and entirely in the question's language (optionally
                      also sound: `concludes_soundly`), at most a few per question;
                      `non_reasoning_example`: trivial questions answered directly, with an empty
                      think (the paper's "hello" gets no chain of thought);
  4. all-scenario RL  `helpfulness_rule`: right *and* brief on trivial questions.

Both sampling stages, and distillation's teacher data (distill.py), draw their questions with
`training_problems`, sample with `sample_answers` and cap repeats with `deduplicate`.

The paper rewrote R1-Zero's outputs with DeepSeek-V3 and human annotators; our reasoning is
templated, so a rule can do it: parse the steps (`parse_reasoning`), check them against the school
algorithm, and render the same steps again with tasks.py's templates in the target language.
"""
from __future__ import annotations

import random
import re
from collections import Counter

from r1mini.corpus import render_completion, render_prompt
from r1mini.evaluate import sample_responses
from r1mini.rewards import (END_OF_TEXT, accuracy_reward, format_reward, language_consistency, language_reward,
                            language_word_counts, reasoning_text, summary_text, thinks)
from r1mini.tasks import (CHECK_TEXT, FINAL_TEXT, LOGIC_OPS_ZH, STEP_TEXT, TRAIN_LEVELS, TRIVIAL_LEVEL, Problem, _render,
                          generate_problem, trace, verify, write_spelled_operands)

# One regex per step template of tasks.STEP_TEXT (either language), place name optional: R1-Zero
# may drop it. The named groups are the trace fields that decide whether a step is right.
_PLACE = r"(?:[a-z-]+: |[\u4e00-\u9fff]+位：)?"
STEP_PATTERNS = {
    "add": [re.compile(_PLACE + r"(?P<a>\d)\+(?P<b>\d)\+(?P<c>\d)=(?P<s>\d+), write (?P<d>\d) carry (?P<carry>\d)\."),
            re.compile(_PLACE + r"(?P<a>\d)加(?P<b>\d)加(?P<c>\d)得(?P<s>\d+)，写(?P<d>\d)进(?P<carry>\d)。")],
    "mul": [re.compile(_PLACE + r"(?P<a>\d)\*(?P<m>\d)=(?P<p>\d+), \+(?P<c>\d)=(?P<s>\d+), write (?P<d>\d) carry (?P<carry>\d)\."),
            re.compile(_PLACE + r"(?P<a>\d)乘(?P<m>\d)得(?P<p>\d+)，加(?P<c>\d)得(?P<s>\d+)，写(?P<d>\d)进(?P<carry>\d)。")],
    "logic": [re.compile(r"(?P<x>[TF]) (?P<op>and|or|xor) (?P<y>[TF]) is (?P<s>[TF])\."),
              re.compile(r"(?P<x>[TF]) (?P<op>与|或|异或) (?P<y>[TF]) 得 (?P<s>[TF])。")],
}
_OPS_FROM_ZH = {zh: en for en, zh in LOGIC_OPS_ZH.items()}
_SENTENCE_END = re.compile(r"(?<=[.。])\s*")
_CHECK_OR_WAIT = re.compile(r"^(?:Let me check|检查一下|Wait|等等)|^(?:Yes\.|对。)$")
_SPELLED = re.compile(r"^(?:[a-z -]+ \d)+ (?:plus|times) .*\.$|^(?:[\u4e00-\u9fff]+位\d)+[加乘].*。$")
CHECK_OPENINGS = ("Let me check", "检查一下")  # how tasks.CHECK_TEXT's self-check starts, per language
_FINAL = re.compile(r"^(?:So the answer is (?P<en>\S+)\.|所以答案是(?P<zh>\S+)。)$")

# The summary after </think> is the conclusion line again, for the reader: a model this small copies a
# sentence it already writes reliably, while a new sentence ("Summary: 57+384 = 441.", spelled letter
# by letter by our vocabulary) came out garbled in the first run and dragged the answer after it.
SUMMARY_TEXT = FINAL_TEXT


def sentences(reasoning: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(reasoning.strip()) if s]


def parse_reasoning(task: str, reasoning: str) -> tuple[list[dict], Counter]:
    """The computed steps of a chain of thought, in order, as {field: int or str} dicts, and a count
    of its sentences by kind: step, spelled (the numbers by place), final, check (a self-check or a
    "wait"), other (anything the templates cannot produce: garbled or unreadable text)."""
    steps, kinds = [], Counter()
    for sentence in sentences(reasoning):
        if _CHECK_OR_WAIT.match(sentence):
            kinds["check"] += 1
            continue
        match = next((m for pattern in STEP_PATTERNS[task] if (m := pattern.fullmatch(sentence))), None)
        if match:
            steps.append({k: (int(v) if v.isdigit() else _OPS_FROM_ZH.get(v, v)) for k, v in match.groupdict().items()})
            kinds["step"] += 1
        elif _SPELLED.match(sentence):
            kinds["spelled"] += 1
        elif _FINAL.match(sentence):
            kinds["final"] += 1
        else:
            kinds["other"] += 1
    return steps, kinds


def works_the_algorithm(problem: Problem, steps: list[dict]) -> bool:
    """The parsed steps are exactly the school algorithm's: every column (or operator) once, in
    order, each right. This is the 'no repetition, nothing skipped' test of both filters."""
    expected, _ = trace(problem)
    return len(steps) == len(expected) and all(
        all(want[key] == (str(value) if isinstance(want[key], str) else value) for key, value in got.items())
        for got, want in zip(steps, expected))


def concludes_soundly(problem: Problem, reasoning: str, summary: str) -> bool:
    """What the step test does not read: each self-check re-checks one of this problem's own steps,
    right, as tasks.CHECK_TEXT writes it (in either language; the language filter comes next); no
    "wait" (a clean answer has no slip to catch); exactly one conclusion, and it and the summary
    (if any) state the answer. Without it, rejection sampling keeps Dev2 answers whose check quotes
    no step of the problem, a step under another column's name, or a false one: 1,026 of the 2,786
    reasoning answers of the Dev3 data of the run in docs/results.md."""
    expected, _ = trace(problem)
    squeeze = lambda text: text.replace(" ", "")  # noqa: E731  (the splitter drops the space after "12.")
    own_checks = {squeeze(_render(CHECK_TEXT, problem.task, language, step)) for step in expected for language in ("en", "zh")}
    parts, conclusions, i = sentences(reasoning), 0, 0
    while i < len(parts):
        if parts[i].startswith(CHECK_OPENINGS):  # a check is two sentences: the step, "Yes."
            if squeeze("".join(parts[i:i + 2])) not in own_checks:
                return False
            i += 2
            continue
        if parts[i].startswith(("Wait", "等等")) or parts[i] in ("Yes.", "对。"):
            return False
        if match := _FINAL.match(parts[i]):
            conclusions += 1
            if not verify(match["en"] or match["zh"], problem.answer):
                return False
        i += 1
    if summary and not ((match := _FINAL.match(summary)) and verify(match["en"] or match["zh"], problem.answer)):
        return False
    return conclusions == 1


def readable_reasoning(problem: Problem, rng: random.Random) -> str:
    """The rewrite: the worked solution in the question's language, with one self-check."""
    language, (steps, answer) = problem.language, trace(problem)
    parts = [] if problem.task == "logic" else [write_spelled_operands(problem, language)]
    parts += [_render(STEP_TEXT, problem.task, language, step) for step in steps]
    parts.append(FINAL_TEXT[language].format(answer=answer))
    parts.append(_render(CHECK_TEXT, problem.task, language, rng.choice(steps)))
    return " ".join(parts)


def readable_completion(problem: Problem, rng: random.Random) -> str:
    """R1's readable format: reasoning, then a summary for the reader, then the answer."""
    summary = SUMMARY_TEXT[problem.language].format(answer=problem.answer)
    return render_completion(readable_reasoning(problem, rng), problem.answer, summary)


def cold_start_example(problem: Problem, zero_completion: str, rng: random.Random) -> tuple[str | None, str]:
    """(cold-start completion, "kept") for an R1-Zero answer that passes, or (None, reason it failed):
    wrong, format, unreadable (a sentence no template makes), repetitive (steps skipped, repeated or
    wrong), mixed (both languages). The rewrite re-renders the steps it has just checked against
    the algorithm, so it keeps R1-Zero's working and changes only how it reads."""
    if not accuracy_reward(zero_completion, problem.answer):
        return None, "wrong"
    if not format_reward(zero_completion):
        return None, "format"
    reasoning = reasoning_text(zero_completion)
    steps, kinds = parse_reasoning(problem.task, reasoning)
    if kinds["other"]:
        return None, "unreadable"
    if not works_the_algorithm(problem, steps):
        return None, "repetitive"
    words = language_word_counts(reasoning)
    if words["en"] and words["zh"] or words["other"]:
        return None, "mixed"
    return readable_completion(problem, rng), "kept"


def rejection_reason(problem: Problem, completion: str, summary: bool = True, sound_checks: bool = False) -> str | None:
    """Why rejection sampling drops a Dev2 answer (the first filter it fails), or None to keep it:
    wrong; incomplete (not the readable format, or a worked answer without its summary — with
    summary=False, as distillation from R1-Zero needs, just not the template); repetitive (its steps
    are not the algorithm's, each column once); language (a word outside the question's language).
    With sound_checks also: incomplete if cut off before its end-of-text, and unsound if its
    self-check, conclusion or summary fails `concludes_soundly` (train_r1.py --sound-checks; off by
    default, because at this scale it costs accuracy: docs/design.md, "R1")."""
    if not accuracy_reward(completion, problem.answer):
        return "wrong"
    if sound_checks and not completion.endswith(END_OF_TEXT):  # cut off by max_new_tokens: SFT would teach not to stop
        return "incomplete"
    reasoning = reasoning_text(completion)
    steps, kinds = parse_reasoning(problem.task, reasoning)
    worked = problem.level != TRIVIAL_LEVEL or not is_brief(completion)
    if not summary and not format_reward(completion, summary=True, empty_think=problem.level == TRIVIAL_LEVEL):
        return "incomplete"
    if summary and (not readable_format(completion, problem) or (worked and not summary_text(completion))):
        return "incomplete"
    if worked and (kinds["other"] or not works_the_algorithm(problem, steps)):
        return "repetitive"
    if sound_checks and worked and not concludes_soundly(problem, reasoning, summary_text(completion)):
        return "unsound"
    if thinks(completion) and language_consistency(completion, problem.language) < 1.0:  # no think: no language
        return "language"
    return None


def readable_format(completion: str, problem: Problem) -> float:
    """R1's format reward: the template, and a summary after any answer that works the question out
    (a one-sentence answer, as to a trivial question, needs none; a trivial question may also be
    answered with an empty think). Without the second half, RL is free to drop the summary, which
    costs tokens and earns nothing."""
    if not format_reward(completion, summary=True, empty_think=problem.level == TRIVIAL_LEVEL):
        return 0.0
    return float(bool(summary_text(completion)) or is_brief(completion))


def r1_rewards(completion: str, problem: Problem, language: bool = True) -> dict[str, float]:
    """R1's reasoning-RL reward (R1 v1 §2.3.2): accuracy + readable format + language consistency
    with the *question's* language, summed as the paper does (language=False: the ablation)."""
    rewards = {"accuracy": accuracy_reward(completion, problem.answer), "format": readable_format(completion, problem)}
    return {**rewards, **language_reward(completion, problem)} if language else rewards


def non_reasoning_example(problem: Problem) -> str:
    """A trivial question answered as the paper answers "hello": no chain of thought, just the answer
    (an empty think, `<think> </think>`). experiments/trivial_probe.py compared this with a one-sentence
    think: as accurate on held-out trivial questions (0.73 vs 0.59 for `7+8 is 15.`), at 9 tokens
    instead of 17."""
    return render_completion("", problem.answer)


def is_brief(completion: str) -> bool:
    """At most one sentence of reasoning (none at all included): what a trivial question deserves,
    with no summary needed."""
    return len(sentences(reasoning_text(completion))) <= 1


def helpfulness_rule(completion: str, problem: Problem) -> dict[str, float]:
    """Stands in for the paper's helpfulness reward model in the last RL stage (v2 B.5: a neural
    model trained on preference pairs, switched on only for the final 400 steps because it was
    hacked otherwise). A neural reward model is exactly what this project avoids (R1 §2.2.2: it is
    hacked, and it costs a model); at toy scale "helpful" on a trivial question means right and
    brief, which a rule can check: 1.0 for a right answer whose think is at most one sentence (an
    empty think, as R1's non-reasoning data answers, included), else 0. Other
    questions get 0 (constant within a group, so no advantage)."""
    if problem.level != TRIVIAL_LEVEL:
        return {"helpful": 0.0}
    return {"helpful": float(is_brief(completion) and accuracy_reward(completion, problem.answer) == 1.0)}


def encode_examples(tokenizer, pairs: list[tuple[Problem, str]]) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, completion ids) for SFT from (problem, completion text) pairs."""
    return [(tokenizer.encode(render_prompt(p.question)), tokenizer.encode(c)) for p, c in pairs]


def training_problems(seed: int, tasks, n: int, purpose: str, include_trivial: bool = True,
                      only_trivial: bool = False) -> list[Problem]:
    """n training-split questions over the tasks and their training levels, reproducible per purpose."""
    rng = random.Random(f"{seed}-{purpose}")
    pairs = [(t, lv) for t in tasks for lv in TRAIN_LEVELS[t]]
    if only_trivial:
        pairs = [(t, lv) for t, lv in pairs if lv == TRIVIAL_LEVEL]
    elif not include_trivial:
        pairs = [(t, lv) for t, lv in pairs if lv != TRIVIAL_LEVEL]
    return [generate_problem(rng, *rng.choice(pairs), "train") for _ in range(n)]


def sample_answers(model, tokenizer, problems: list[Problem], samples: int, temperature: float,
                   max_new_tokens: int, seed: int) -> list[tuple[Problem, str]]:
    """(problem, completion text) for `samples` answers per question (evaluate's sampler, top-p 1)."""
    records = sample_responses(model, tokenizer, problems, samples, temperature, 1.0, max_new_tokens,
                               batch_size=256, seed=seed, desc="sampling")
    return [(problem, record["completion"]) for problem, record in
            zip((p for p in problems for _ in range(samples)), records)]


def deduplicate(pairs: list[tuple[Problem, str]], per_question: int) -> list[tuple[Problem, str]]:
    """Distinct completions, at most `per_question` per question (in the order sampled)."""
    seen, count, out = set(), Counter(), []
    for problem, completion in pairs:
        if (problem.question, completion) not in seen and count[problem.question] < per_question:
            seen.add((problem.question, completion))
            count[problem.question] += 1
            out.append((problem, completion))
    return out


def filter_answers(answers: list[tuple[Problem, str]], per_question: int, summary: bool = True,
                   sound_checks: bool = False) -> tuple[list[tuple[Problem, str]], dict]:
    """Rejection sampling's filter (R1's Dev3 data, and distillation's teacher data): keep the answers
    `rejection_reason` accepts, distinct and at most `per_question` per question. Returns (kept,
    counts): what each filter removed and the keep rate per level; a level never solved drops out."""
    kept, removed, per_level = [], Counter(), {}
    for problem, completion in answers:
        reason = rejection_reason(problem, completion, summary, sound_checks)
        removed[reason or "kept"] += 1
        per_level.setdefault(f"{problem.task}-{problem.level}", [0, 0])[0] += 1
        if reason is None:
            kept.append((problem, completion))
            per_level[f"{problem.task}-{problem.level}"][1] += 1
    kept = deduplicate(kept, per_question)
    return kept, {
        "answers sampled": len(answers), "questions": len({p.question for p, _ in answers}),
        **{f"removed: {k}": v for k, v in sorted(removed.items()) if k != "kept"},
        "kept after dedup and per-question cap": len(kept),
        "pass rate per level (passed the filters / sampled)": {level: round(n_kept / n, 3)
                                                               for level, (n, n_kept) in sorted(per_level.items())},
        "levels with no kept answer (they leave the SFT set)": sorted(lv for lv, (_, n_kept) in per_level.items() if not n_kept)}
