"""The base model's pretraining corpus, and how every training example is formatted.

DeepSeek-V3-Base was pretrained on web text that already contains the raw material R1-Zero
later amplifies: people reasoning step by step, people guessing, people checking their work, in
several languages. Our synthetic corpus mirrors that mix (all knobs in `StyleMix`):

  direct     a short remark and an answer, no working. Written by a hurried writer who is right
             on easy problems and mostly wrong on hard ones (near misses) — guessing does not pay.
             Trivial questions (tasks.TRIVIAL_LEVEL: 3+4, 3*4, T and F) are mostly answered this
             way, and rightly, as people do.
  reasoned   the school algorithm step by step (tasks.write_solution); a few contain an
             uncorrected slip, a few notice a slip and correct it ("wait, ..."), a few end
             with a self-check ("let me check ...").
  languages  a question asked in English or Chinese is answered in its own language most of the
             time, sometimes in the other one, sometimes in both mixed sentence by sentence — as
             on the web.

Every example is rendered in the R1-Zero template (`render_prompt` + completion), so the base model
already "speaks" <think>/<answer> and RL can start from it. Read `StyleMix`, then `render_example`.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator

from r1mini.tasks import (TASK_NAMES, TRAIN_LEVELS, TRIVIAL_LEVEL, Problem, generate_problem, write_direct,
                          write_solution)

# A shortened form of R1-Zero's template (R1 v1, Table 1): same structure, fewer tokens, because a
# 2M-parameter model pays for every prompt token on a CPU.
PROMPT_TEMPLATE = "Assistant thinks in <think> </think>, then answers in <answer> </answer>.\nUser: {question}\nAssistant:"
COMPLETION_TEMPLATE = " <think> {reasoning} </think> <answer>{answer}</answer><|endoftext|>"


def render_prompt(question: str) -> str:
    return PROMPT_TEMPLATE.format(question=question)


def render_completion(reasoning: str, answer: str, summary: str = "") -> str:
    """The completion in the template; R1's readable format puts a summary for the reader between
    </think> and <answer> (R1 v1 §2.3.1). An empty reasoning gives `<think> </think>`: one space
    token, not the two the template would leave around nothing."""
    template = COMPLETION_TEMPLATE if reasoning else COMPLETION_TEMPLATE.replace("{reasoning} ", "")
    completion = template.format(reasoning=reasoning, answer=answer)
    return completion.replace("</think> ", f"</think> {summary} ", 1) if summary else completion


@dataclass
class StyleMix:
    # Defaults chosen with experiments/skill_probe.py (docs/design.md): more slips or direct answers
    # leave the base unable to do its own steps, and then RL has no good reasoning to amplify.
    direct: float = 0.3              # share of direct answers (the rest reason step by step) ...
    trivial_direct: float = 0.7      # ... and at the trivial level, where people just know the answer
    trivial_right: float = 0.95      # how often a direct answer at the trivial level is right
    slip_uncorrected: float = 0.04   # reasoned examples with an error that goes unnoticed
    slip_corrected: float = 0.04     # reasoned examples that catch and fix an error ("wait, ...")
    self_check: float = 0.12         # reasoned examples that re-verify a step after answering
    own_language: float = 0.7        # answered in the question's language / the other one / mixed
    other_language: float = 0.15


def direct_accuracy(task: str, level: int, mix: StyleMix = StyleMix()) -> float:
    """How often the hurried writer's direct answer is right: `mix.trivial_right` at the trivial
    level, 60% at level 2, 5% from level 5 (logic: a coin flip with a small edge)."""
    if level == TRIVIAL_LEVEL:
        return mix.trivial_right
    if task == "logic":
        return max(0.5, 0.8 - 0.05 * level)
    return max(0.05, 1.0 - 0.2 * level)


def pick_languages(rng: random.Random, mix: StyleMix, question_language: str) -> tuple[str, ...]:
    """The language(s) of an answer to a question in `question_language`; two = mixed."""
    roll = rng.random()
    if roll < mix.own_language:
        return (question_language,)
    other = "zh" if question_language == "en" else "en"
    return (other,) if roll < mix.own_language + mix.other_language else ("en", "zh")


def render_example(problem: Problem, rng: random.Random, mix: StyleMix = StyleMix()) -> tuple[str, str]:
    """(prompt, completion) for one corpus example in a randomly drawn style."""
    languages = pick_languages(rng, mix, problem.language)
    if rng.random() < (mix.trivial_direct if problem.level == TRIVIAL_LEVEL else mix.direct):
        remark, answer = write_direct(problem, rng, direct_accuracy(problem.task, problem.level, mix),
                                      rng.choice(languages))
        return render_prompt(problem.question), render_completion(remark, answer)
    roll = rng.random()
    slip = roll < mix.slip_uncorrected + mix.slip_corrected
    corrected = mix.slip_uncorrected <= roll < mix.slip_uncorrected + mix.slip_corrected
    self_check = (not slip) and roll < mix.slip_uncorrected + mix.slip_corrected + mix.self_check
    reasoning, answer = write_solution(problem, rng, languages, slip=slip, corrected=corrected, self_check=self_check)
    return render_prompt(problem.question), render_completion(reasoning, answer)


def sample_task_level(rng: random.Random, tasks=TASK_NAMES) -> tuple[str, int]:
    task = rng.choice(tuple(tasks))
    return task, rng.choice(TRAIN_LEVELS[task])


def pretraining_stream(seed: int, mix: StyleMix = StyleMix()) -> Iterator[tuple[str, str]]:
    """An endless, reproducible stream of (prompt, completion) pairs from the training split."""
    rng = random.Random(seed)
    while True:
        task, level = sample_task_level(rng)
        yield render_example(generate_problem(rng, task, level, "train"), rng, mix)


def tokenizer_training_texts(n: int = 3000, seed: int = 0) -> list[str]:
    """Sample documents the BPE vocabulary is learned from (`python -m r1mini.tokenizer --train`)."""
    stream = pretraining_stream(seed)
    return [prompt + completion for prompt, completion in (next(stream) for _ in range(n))]
