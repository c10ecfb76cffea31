"""Tests for exercise 11. They reach the functions only through `impl` (see exercises/conftest.py)."""
import random
from collections import Counter

import pytest

from exercises.framework import load
from r1mini.corpus import render_completion
from r1mini.r1_data import non_reasoning_example, readable_completion
from r1mini.tasks import TASK_NAMES, TRIVIAL_LEVEL, Problem, generate_problem, write_solution

REFERENCE = load("11_rejection_filters").reference
ADD = Problem("add", 3, "57+384", "441", "zh")


def candidates(seed=0, n=40):
    """Answers of every kind a sampler produces: readable, wrong, without summary, a step repeated,
    mixed languages, R1-Zero's template, cut off before the end token, brief trivial answers."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        p = generate_problem(rng, rng.choice(TASK_NAMES), rng.choice([1, 2, 3]))
        good = readable_completion(p, rng)
        head, _, tail = good.partition("</think>")
        first = next((s for s in head.split(" ") if "=" in s or "得" in s), None)
        out += [(p, good), (p, good.replace(f"<answer>{p.answer}</answer>", "<answer>0000</answer>")),
                (p, head + "</think> <answer>" + p.answer + "</answer><|endoftext|>"),
                (p, good.removesuffix("<|endoftext|>")),
                (p, render_completion(*write_solution(p, rng, ("en",)))),
                (p, render_completion(*write_solution(p, rng, ("en", "zh")), summary=f"So the answer is {p.answer}.")),
                (p, render_completion(*write_solution(p, rng, (p.language if p.language in ("en", "zh") else "en",),
                                                      slip=True, corrected=rng.random() < 0.5, self_check=True),
                                      summary=f"So the answer is {p.answer}."))]
        if first:
            out.append((p, good.replace(first, first + " " + first, 1)))
        if p.level == TRIVIAL_LEVEL:
            out.append((p, non_reasoning_example(p)))
    return out


def test_hand_cases(impl):
    readable = readable_completion(ADD, random.Random(0))
    assert impl.rejection_reason(ADD, readable) is None
    assert impl.rejection_reason(ADD, readable.replace("<answer>441", "<answer>442")) == "wrong"
    assert impl.rejection_reason(ADD, readable.replace("</think> 所以答案是441。", "</think>")) == "incomplete", \
        "a worked answer without R1's summary is incomplete (summary=True)"
    assert impl.rejection_reason(ADD, readable.replace("</think> 所以答案是441。", "</think>"), summary=False) is None
    assert impl.rejection_reason(ADD, readable.replace("十位：", "十位：5加8加1得14，写4进1。 十位：", 1)) == "repetitive"
    assert impl.rejection_reason(ADD, readable.replace("所以答案是441。", "So the answer is 441.")) == "language"
    trivial = Problem("add", TRIVIAL_LEVEL, "5+3", "8", "en")
    assert impl.rejection_reason(trivial, non_reasoning_example(trivial)) is None, \
        "a brief answer with an empty think: nothing to repeat, no language to get wrong"
    assert impl.rejection_reason(ADD, readable.removesuffix("<|endoftext|>"), sound_checks=True) == "incomplete"


@pytest.mark.parametrize("summary, sound_checks", [(True, False), (False, False), (True, True)])
def test_matches_the_reference_on_sampled_kinds_of_answers(impl, summary, sound_checks):
    seen = Counter()
    for problem, completion in candidates():
        want = REFERENCE.rejection_reason(problem, completion, summary, sound_checks)
        seen[want] += 1
        got = impl.rejection_reason(problem, completion, summary, sound_checks)
        assert got == want, f"{problem}: {completion!r}\ngot {got!r}, expected {want!r} (the FIRST filter it fails)"
    assert {None, "wrong", "repetitive", "language"} <= set(seen), seen  # the corpus exercises the filters


def test_deduplicate_keeps_distinct_answers_up_to_the_cap_in_order(impl):
    p, q = Problem("add", 2, "1+2", "3", "en"), Problem("add", 2, "4+5", "9", "en")
    pairs = [(p, "a"), (p, "a"), (q, "a"), (p, "b"), (p, "c"), (q, "b"), (p, "d"), (q, "a")]
    assert impl.deduplicate(pairs, 2) == [(p, "a"), (q, "a"), (p, "b"), (q, "b")]
    assert impl.deduplicate(pairs, 3) == [(p, "a"), (q, "a"), (p, "b"), (p, "c"), (q, "b")], \
        "a duplicate must not use up the question's cap"
    assert impl.deduplicate(pairs, 9) == REFERENCE.deduplicate(pairs, 9)


def test_deduplicate_matches_the_reference(impl):
    rng = random.Random(1)
    problems = [Problem("mul", 2, f"{i}*7", str(7 * i), "en") for i in range(4)]
    pairs = [(rng.choice(problems), rng.choice("abcdef")) for _ in range(60)]
    for cap in (1, 2, 4):
        assert impl.deduplicate(pairs, cap) == REFERENCE.deduplicate(pairs, cap), f"per_question={cap}"
