"""reasoning_steps.py: a chain of thought read back into steps, template checks told from genuine
corrections, and the agreement of the places that state the answer."""
import random

import pytest

from r1mini.corpus import render_completion
from r1mini.reasoning_steps import (agreement, read_reasoning, reads_in_order, step_is_right, stated_answers,
                                    works_the_algorithm)
from r1mini.tasks import TASK_NAMES, TRAIN_LEVELS, Problem, generate_problem, trace, write_solution


@pytest.mark.parametrize("task", TASK_NAMES)
def test_every_corpus_solution_reads_back_with_its_corrections_and_checks_counted(task):
    rng = random.Random(task)
    for _ in range(200):
        problem = generate_problem(rng, task, rng.choice(TRAIN_LEVELS[task][1:]), "train")
        languages = rng.choice([("en",), ("zh",), ("en", "zh")])
        slip, corrected, check = rng.random() < 0.5, rng.random() < 0.5, rng.random() < 0.5
        reasoning, answer = write_solution(problem, rng, languages, slip=slip, corrected=corrected,
                                           self_check=check and not slip)
        reading = read_reasoning(task, reasoning)
        assert reading.kinds["other"] == 0 and reading.other_waits == 0, reasoning
        assert reading.genuine_corrections == int(slip and corrected), reasoning
        assert reading.template_checks == int(check and not slip), reasoning
        assert reading.conclusions == [answer]
        assert reads_in_order(problem, reading.steps), reasoning  # a caught slip is not a repeated column
        # the standing steps are the algorithm's exactly unless a slip went uncaught
        assert works_the_algorithm(problem, reading.steps) == (not slip or corrected), reasoning


def test_a_wait_is_genuine_only_after_a_wrong_step_and_before_its_right_redo():
    ones_wrong = "ones: 7+4+0=12, write 2 carry 1."
    ones_right = "ones: 7+4+0=11, write 1 carry 1."
    cases = {
        f"{ones_wrong} Wait, 7+4+0 is 11, not 12. {ones_right}": (1, 0, 1),
        f"{ones_right} Wait, 7+4+0 is 11, not 12. {ones_right}": (0, 1, 2),   # a false alarm: nothing was wrong
        f"{ones_wrong} Wait, 7+4+0 is 11, not 12.": (0, 1, 1),                # no redo
        f"{ones_wrong} Wait, 7+4+0 is 13, not 12. ones: 7+4+0=13, write 3 carry 1.": (0, 1, 2),  # "redone" wrong
        f"{ones_wrong} Wait, 5+8+1 is 14, not 12. tens: 5+8+1=14, write 4 carry 1.": (0, 1, 2),  # another column
        f"{ones_wrong} So the answer is 2. Wait, 7+4+0 is 11, not 12. {ones_right}": (0, 1, 2),  # not right after it
    }
    for reasoning, (genuine, other, standing) in cases.items():
        reading = read_reasoning("add", reasoning)
        assert (reading.genuine_corrections, reading.other_waits, len(reading.steps)) == (genuine, other, standing), reasoning
    chinese = "个位：7加4加0得12，写2进1。 等等，7加4加0是11，不是12。 个位：7加4加0得11，写1进1。"
    assert read_reasoning("add", chinese).genuine_corrections == 1
    logic = "T xor T is T. Wait, T xor T is F, not T. T xor T is F. F or F is F."
    assert read_reasoning("logic", logic).genuine_corrections == 1


def test_step_is_right_reads_the_steps_own_arithmetic():
    assert step_is_right("add", {"a": 5, "b": 8, "c": 1, "s": 14, "d": 4, "carry": 1})
    assert not step_is_right("add", {"a": 5, "b": 8, "c": 1, "s": 15, "d": 5, "carry": 1})
    assert not step_is_right("add", {"a": 5, "b": 8, "c": 1, "s": 14, "d": 4, "carry": 0})  # carry dropped
    assert step_is_right("mul", {"a": 7, "m": 6, "p": 42, "c": 3, "s": 45, "d": 5, "carry": 4})
    assert not step_is_right("mul", {"a": 7, "m": 6, "p": 43, "c": 2, "s": 45, "d": 5, "carry": 4})
    assert step_is_right("logic", {"x": "T", "op": "xor", "y": "T", "s": "F"})
    assert not step_is_right("logic", {"x": "T", "op": "or", "y": "F", "s": "F"})


def test_reads_in_order_sees_structure_not_values():
    problem = Problem("add", 3, "57+384", "441", "en")
    steps = [dict(s) for s in trace(problem)[0]]
    assert reads_in_order(problem, steps)
    steps[1]["s"] = 15   # a wrong sum is the final answer's business, not the reader's
    assert reads_in_order(problem, steps) and not works_the_algorithm(problem, steps)
    assert not reads_in_order(problem, steps[:2])                      # a column skipped
    assert not reads_in_order(problem, [steps[1], steps[0], steps[2]])  # out of place
    unnamed = [dict(s, place=None) for s in steps]                      # R1-Zero may drop the place names
    assert reads_in_order(problem, unnamed)


def test_agreement_compares_every_place_that_states_the_answer():
    clean = render_completion("ones: 1+2+0=03, write 3 carry 0. So the answer is 3.", "3", "So the answer is 3.")
    assert stated_answers(clean, "add") == ["3", "3", "3"] and agreement(clean, "add") == 1.0
    # R1's failure the issue quotes: the think, the summary and the answer each say another number
    split = render_completion("所以答案是28012。", "28822", "所以答案是28802。")
    assert stated_answers(split, "mul") == ["28012", "28802", "28822"] and agreement(split, "mul") == 0.0
    assert agreement(render_completion("So the answer is 3.", "4"), "add") == 0.0
    assert agreement(render_completion("", "3"), "add") is None                 # a direct answer: stated once
    assert agreement(render_completion("I know this one.", "3"), "add") is None
