"""The data of R1's two supervised stages, and the rule standing in for its helpfulness reward model
(DeepSeek-R1 v1 §2.3; v2 supplement B.3-B.5). train_r1.py calls these in the paper's order:

  1. cold start       `cold_start_example`: keep an R1-Zero answer only if its final answer is right
                      and it is readable (every sentence a template's, each column once, in order,
                      its conclusion the answer), then rewrite R1-Zero's own steps for a reader: in
                      the *question's* language, a caught slip kept, a template self-check, and a
                      summary after </think>;
  2. reasoning RL     `r1_rewards`: accuracy + readable format + language consistency (GRPO, grpo.py);
  3. rejection        `rejection_reason`: keep Dev2's answers that are right, complete (readable
     sampling         format), not repetitive and entirely in the question's language (optionally
                      also sound: `concludes_soundly`), at most a few per question;
                      `adaptive_trivial_example`: trivial questions answered directly, with an
                      empty think (the paper's "hello" gets no chain of thought), where Dev2 knows
                      the fact (`direct_answers_right`), else worked out;
  4. all-scenario RL  `helpfulness_rule`: right *and* brief on trivial questions.

Both sampling stages, and distillation's teacher data (distill.py), draw their questions with
`training_problems`, sample with `sample_answers` and cap repeats with `deduplicate`.

The paper rewrote R1-Zero's outputs with DeepSeek-V3 and human annotators, and filtered on the final
answer and readability, not on each step. Our reasoning is templated, so a rule can do both: read the
steps back (reasoning_steps.py), check that they read in order, and render the same steps again with
tasks.py's templates in the target language.
"""
from __future__ import annotations

import random
from collections import Counter

import torch

from r1mini.corpus import render_completion, render_prompt
from r1mini.evaluate import sample_responses
from r1mini.reasoning_steps import (CHECK_OPENINGS, FINAL, Reading, concludes_right, parse_reasoning, parse_step,
                                    read_reasoning, reads_in_order, sentences)
from r1mini.rewards import (END_OF_TEXT, accuracy_reward, format_reward, language_consistency, language_reward,
                            reasoning_text, summary_text, thinks)
from r1mini.sampler import generate
from r1mini.tasks import (CHECK_TEXT, CORRECTION_TEXT, FINAL_TEXT, STEP_TEXT, TRAIN_LEVELS, TRIVIAL_LEVEL, Problem,
                          _render, generate_problem, trace, verify, write_spelled_operands)

# The summary after </think> is the conclusion line again, for the reader: a model this small copies a
# sentence it already writes reliably, while a new sentence ("Summary: 57+384 = 441.", spelled letter
# by letter by our vocabulary) came out garbled in the first run and dragged the answer after it.
SUMMARY_TEXT = FINAL_TEXT


def concludes_soundly(problem: Problem, reasoning: str, summary: str) -> bool:
    """What the structure test does not read: each self-check re-checks one of this problem's own
    steps, right, as tasks.CHECK_TEXT writes it (in either language; the language filter comes next);
    every "wait" is a genuine correction (a wrong step, named, then redone right:
    reasoning_steps.read_reasoning); exactly one conclusion, and it and the summary (if any) state the
    answer. Without it, rejection sampling keeps Dev2 answers whose check quotes no step of the
    problem, a step under another column's name, or a false one: 1,026 of the 2,786 reasoning answers
    of the Dev3 data of the run in docs/results.md."""
    reading = read_reasoning(problem.task, reasoning)
    if reading.other_waits or len(reading.conclusions) != 1 or not concludes_right(problem, reading):
        return False
    expected, _ = trace(problem)
    squeeze = lambda text: text.replace(" ", "")  # noqa: E731  (the splitter drops the space after "12.")
    own_checks = {squeeze(_render(CHECK_TEXT, problem.task, language, step)) for step in expected for language in ("en", "zh")}
    parts, i = sentences(reasoning), 0
    while i < len(parts):
        if parts[i].startswith(CHECK_OPENINGS):  # a check is two sentences: the step, "Yes."
            if squeeze("".join(parts[i:i + 2])) not in own_checks:
                return False
            i += 2
            continue
        if parts[i] in ("Yes.", "对。"):
            return False
        i += 1
    return not summary or bool((match := FINAL.match(summary)) and verify(match["en"] or match["zh"], problem.answer))


def readable_reasoning(problem: Problem, rng: random.Random, reading: Reading | None = None) -> str:
    """The rewrite: the steps of `reading` (R1-Zero's, read back by reasoning_steps, a corrected slip
    with its "wait" included) rendered in the question's language, then the conclusion, then one
    template self-check of a standing step (written by this rule, not by the model: the evaluation
    counts it apart from genuine corrections). Without a reading, the clean algorithm's steps (tests
    use it as a readable answer)."""
    language = problem.language
    written = reading.written if reading else trace(problem)[0]
    parts = [] if problem.task == "logic" else [write_spelled_operands(problem, language)]
    column, standing = 0, []
    for step in written:
        step = dict(step, place=column) if problem.task != "logic" else step  # R1-Zero may drop the place name
        parts.append(_render(STEP_TEXT, problem.task, language, step))
        if reading and "right" in step:  # a slip R1-Zero caught: keep its "wait", then the redo follows
            parts.append(_render(CORRECTION_TEXT, problem.task, language, step))
            continue
        standing.append(step)
        column += 1
    parts.append(FINAL_TEXT[language].format(answer=problem.answer))
    parts.append(_render(CHECK_TEXT, problem.task, language, rng.choice(standing)))
    return " ".join(parts)


def readable_completion(problem: Problem, rng: random.Random, reading: Reading | None = None) -> str:
    """R1's readable format: reasoning, then a summary for the reader, then the answer."""
    summary = SUMMARY_TEXT[problem.language].format(answer=problem.answer)
    return render_completion(readable_reasoning(problem, rng, reading), problem.answer, summary)


def cold_start_example(problem: Problem, zero_completion: str, rng: random.Random) -> tuple[str | None, str]:
    """(cold-start completion, "kept") for an R1-Zero answer that passes, or (None, reason it failed).
    The filters read what the paper's did, the final answer and readability (R1 v1 §2.3.1), never
    the answer key's steps: wrong (the answer), format (R1-Zero's template), unreadable (a sentence
    no template makes, or a "wait" that corrects nothing), out of order (a column skipped, repeated or
    out of place), disagrees (the think concludes another answer). Then the rewrite re-renders
    R1-Zero's own steps, a corrected slip included, in the question's language: an answer R1-Zero
    reasoned in the other language, or in both, is translated rather than dropped."""
    if not accuracy_reward(zero_completion, problem.answer):
        return None, "wrong"
    if not format_reward(zero_completion):
        return None, "format"
    reading = read_reasoning(problem.task, reasoning_text(zero_completion))
    if reading.kinds["other"] or reading.other_waits:
        return None, "unreadable"
    if not reads_in_order(problem, reading.steps):
        return None, "out of order"
    if not concludes_right(problem, reading):
        return None, "disagrees"
    return readable_completion(problem, rng, reading), "kept"


def rejection_reason(problem: Problem, completion: str, summary: bool = True, sound_checks: bool = False) -> str | None:
    """Why rejection sampling drops a Dev2 answer (the first filter it fails), or None to keep it:
    wrong; incomplete (not the readable format, or a worked answer without its summary — with
    summary=False, as distillation from R1-Zero needs, just not the template); repetitive (a
    sentence no template makes, or steps that do not read in order: a column skipped or repeated;
    a slip caught with a "wait" and redone is kept, reasoning_steps.read_reasoning); language (a word outside the question's language).
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
    if worked and (kinds["other"] or not reads_in_order(problem, steps)):
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


DIRECT_PREFIX = render_completion("", "").split("</answer>")[0]  # " <think> </think> <answer>": asked directly


def direct_answers_right(model, tokenizer, problems: list[Problem], samples: int, temperature: float,
                         seed: int) -> list[int]:
    """How many of `samples` direct answers to each problem are right: the model is given the empty
    think and the opening <answer> tag, and writes only the answer. What a model gets right this way
    it knows; what it does not, it has to work out."""
    prefix = tokenizer.encode(DIRECT_PREFIX)
    prompts = [tokenizer.encode(render_prompt(p.question)) + prefix for p in problems for _ in range(samples)]
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    outputs = []
    for start in range(0, len(prompts), 512):
        outputs += generate(model, prompts[start:start + 512], 12, temperature=temperature, stop_tokens=(tokenizer.eot_id,),
                            pad_id=tokenizer.pad_id, generator=generator)
    right = [accuracy_reward(DIRECT_PREFIX + tokenizer.decode(tokens), p.answer)
             for p, tokens in zip((p for p in problems for _ in range(samples)), outputs)]
    return [int(sum(right[i * samples:(i + 1) * samples])) for i in range(len(problems))]


def adaptive_trivial_example(problem: Problem, direct_right: int, samples: int,
                             worked_answers: list[str]) -> tuple[str | None, str]:
    """The non-reasoning data's rule for thinking only when needed: (completion, kind) for a trivial
    question. If the model got every one of its `samples` direct answers right, it knows the fact:
    answer directly (an empty think). Otherwise it must work the question out: the first of its own
    worked answers (`worked_answers`, sampled normally) that passes the rejection filters and does
    reason; (None, "dropped") if none does. The paper's R1 skips the chain of thought only for what
    needs none; a fact the model cannot recall is not such a question."""
    if direct_right == samples:
        return non_reasoning_example(problem), "direct"
    for completion in worked_answers:
        if not is_brief(completion) and rejection_reason(problem, completion) is None:
            return completion, "worked"
    return None, "dropped"


def one_step_example(problem: Problem, worked_answers: list[str]) -> str | None:
    """A trivial question worked out in one short sentence (train_r1.py --trivial-form step): the
    column step of the first of the model's own worked answers that passes the rejection filters,
    alone in the think and without its last clause ("ones: 7*8=56, +0=56." from "ones: 7*8=56,
    +0=56, write 6 carry 5."). Brief, so no summary; None if none passes.

    Why this much of the step: on the validation split (docs/design.md) the whole step made R1 as
    accurate as R1-Zero but as long; cut to its first clause ("ones: 7*8=56.") R1 often answered
    another number than the one its think had just computed; this cut kept the accuracy."""
    for completion in worked_answers:
        if is_brief(completion) or rejection_reason(problem, completion) is not None:
            continue
        steps = [s for s in sentences(reasoning_text(completion)) if parse_step(problem.task, s) is not None]
        if len(steps) == 1:
            return render_completion(without_last_clause(steps[0]), problem.answer)
    return None


def without_last_clause(sentence: str) -> str:
    """A step without its last comma's clause, ended as its language ends a sentence: the column
    bookkeeping ("write 6 carry 5"), which a one-digit question does not need. "ones: 7*8=56,
    +0=56, write 6 carry 5." -> "ones: 7*8=56, +0=56."; "个位：7乘8得56，加0得56，写6进5。" ->
    "个位：7乘8得56，加0得56。"; a step with no comma ("T and F is F.") is kept whole."""
    for comma, stop in ((", ", "."), ("，", "。")):
        if comma in sentence:
            return sentence.rsplit(comma, 1)[0] + stop
    return sentence


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
