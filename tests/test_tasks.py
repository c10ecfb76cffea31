"""Task tests: every generated answer is right (recomputed independently), the train/test split is
disjoint, the solution writers say what they should (right steps, slips that propagate, corrections)
and `verify` has no loopholes."""
import itertools
import random
import re

import pytest

from r1mini import tasks
from r1mini.tasks import (HARD_LEVELS, LOGIC_OPS, TASK_NAMES, TRAIN_LEVELS, Problem, check_task_level,
                          generate_problem, is_test_question, verify, write_direct, write_solution)

# NB: never `from r1mini.tasks import test_problems` here: pytest would collect it as a test.

ALL_PAIRS = [(t, lv) for t in TASK_NAMES for lv in TRAIN_LEVELS[t] + HARD_LEVELS[t]]
LANGUAGE_SETS = [("en",), ("zh",), ("en", "zh")]


# ---------------------------------------------------------------- an independent reference solver

def reference_answer(problem: Problem) -> str:
    """Recompute the answer from the question text alone, checking the documented format."""
    q, level = problem.question, problem.level
    if problem.task == "add":
        m = re.fullmatch(r"([1-9]\d*)\+([1-9]\d*)", q)
        assert m, q
        assert len(m[1]) == len(m[2]) == level, q  # both operands have exactly `level` digits
        return str(int(m[1]) + int(m[2]))
    if problem.task == "mul":
        m = re.fullmatch(r"([1-9]\d*)\*([2-9])", q)
        assert m, q
        assert len(m[1]) == level, q
        return str(int(m[1]) * int(m[2]))
    assert problem.task == "logic"
    assert re.fullmatch(r"[TF() ]*(?:(?:and|or|xor)[TF() ]*)*", q), q
    assert len(re.findall(r"\b(?:and|or|xor)\b", q)) == level, q
    expr = q.replace("T", "True").replace("F", "False").replace("xor", "!=")
    value = eval(expr, {"__builtins__": {}})  # noqa: S307 (format checked above)
    assert isinstance(value, bool)
    return "T" if value else "F"


def test_reference_solver_on_known_examples():
    assert reference_answer(Problem("add", 3, "348+719", "?")) == "1067"
    assert reference_answer(Problem("mul", 4, "4817*6", "?")) == "28902"
    assert reference_answer(Problem("logic", 3, "((T and F) or T) xor F", "?")) == "T"
    assert reference_answer(Problem("logic", 2, "(T xor T) or F", "?")) == "F"
    assert reference_answer(Problem("logic", 2, "(F or T) and F", "?")) == "F"


@pytest.mark.parametrize("task,level", ALL_PAIRS)
def test_generated_answers_are_right(task, level):
    rng = random.Random(f"answers-{task}-{level}")
    for split in ("train", "test"):
        for _ in range(60):
            p = generate_problem(rng, task, level, split)
            assert (p.task, p.level) == (task, level)
            assert p.answer == reference_answer(p), p


def test_generation_is_reproducible_and_seed_dependent():
    def draw(seed):
        rng = random.Random(seed)
        return [generate_problem(rng, t, lv, split) for t, lv in ALL_PAIRS for split in ("train", "test")]
    assert draw(7) == draw(7)
    assert draw(7) != draw(8)
    assert tasks.test_problems("add", 3, 20, seed=5) == tasks.test_problems("add", 3, 20, seed=5)
    assert tasks.test_problems("add", 3, 20, seed=5) != tasks.test_problems("add", 3, 20, seed=6)


@pytest.mark.parametrize("task,level", ALL_PAIRS)
def test_train_and_test_splits_are_disjoint(task, level):
    rng = random.Random(f"split-{task}-{level}")
    train = {generate_problem(rng, task, level, "train").question for _ in range(400)}
    test = {generate_problem(rng, task, level, "test").question for _ in range(100)}
    assert train and test
    assert not train & test
    assert not any(is_test_question(task, q) for q in train)
    assert all(is_test_question(task, q) for q in test)


def test_test_fraction_is_about_one_in_ten():
    rng = random.Random(0)
    questions = {f"{rng.randint(1000, 9999)}+{rng.randint(1000, 9999)}" for _ in range(5000)}
    share = sum(is_test_question("add", q) for q in questions) / len(questions)
    assert 0.07 < share < 0.13


def test_split_depends_on_task_too():
    # the hash covers the task name: the same text may land in different splits for different tasks
    rng = random.Random(1)
    questions = [f"{rng.randint(10, 99)}+{rng.randint(10, 99)}" for _ in range(300)]
    assert any(is_test_question("add", q) != is_test_question("mul", q) for q in questions)


@pytest.mark.parametrize("task,level", ALL_PAIRS)
def test_test_problems_are_distinct_held_out_and_right(task, level):
    problems = tasks.test_problems(task, level, 25)
    questions = [p.question for p in problems]
    assert len(questions) == len(set(questions))
    assert all(is_test_question(task, q) for q in questions)
    assert all(p.answer == reference_answer(p) and p.level == level for p in problems)
    if not (task == "logic" and level == 2):  # 6 held-out questions in all (see below); level 3 has 30
        assert len(problems) == 25


def test_test_problems_returns_all_of_a_small_level():
    # logic level 2 has only 2**3 * 3**2 = 72 questions; test_problems finds exactly its test ones
    everything = set()
    for values in itertools.product("TF", repeat=3):
        for ops in itertools.product(LOGIC_OPS, repeat=2):
            everything.add(f"({values[0]} {ops[0]} {values[1]}) {ops[1]} {values[2]}")
    held_out = {q for q in everything if is_test_question("logic", q)}
    got = tasks.test_problems("logic", 2, 10)  # asks for more than there are
    assert {p.question for p in got} == held_out
    assert len(got) == len(held_out) > 0


@pytest.mark.parametrize("task,level", [("div", 2), ("add", 1), ("add", 8), ("mul", 7), ("logic", 9),
                                        ("logic", 0), ("", None), ("ADD", None)])
def test_check_task_level_rejects_unknown(task, level):
    with pytest.raises(ValueError):
        check_task_level(task, level)


def test_check_task_level_accepts_known_and_generate_checks_split():
    for task, level in ALL_PAIRS:
        check_task_level(task, level)
        check_task_level(task)
    with pytest.raises(ValueError):
        generate_problem(random.Random(0), "add", 3, split="validation")
    with pytest.raises(ValueError):
        generate_problem(random.Random(0), "sub", 3)


# ---------------------------------------------------------------- the solution writers

STEP_PATTERNS = {  # one regex per (task, language); groups as named in tasks.STEP_TEXT
    "add": [r"(?P<a>\d)\+(?P<b>\d)\+(?P<c>\d)=(?P<s>\d+), write (?P<d>\d) carry (?P<carry>\d)\.",
            r"(?P<a>\d)加(?P<b>\d)加(?P<c>\d)得(?P<s>\d+)，写(?P<d>\d)进(?P<carry>\d)。"],
    "mul": [r"(?P<a>\d)\*(?P<m>\d)=(?P<p>\d+), \+(?P<c>\d)=(?P<s>\d+), write (?P<d>\d) carry (?P<carry>\d)\.",
            r"(?P<a>\d)乘(?P<m>\d)得(?P<p>\d+)，加(?P<c>\d)得(?P<s>\d+)，写(?P<d>\d)进(?P<carry>\d)。"],
    "logic": [r"(?P<x>[TF]) (?P<op>and|or|xor) (?P<y>[TF]) is (?P<s>[TF])\.",
              r"(?P<x>[TF]) (?P<op>与|或|异或) (?P<y>[TF]) 得 (?P<s>[TF])。"],
}
FINAL_PATTERN = r"(?:So the answer is (?P<en>\S+)\.|所以答案是(?P<zh>\S+)。)"
LOGIC_ZH = {"与": "and", "或": "or", "异或": "xor"}


def parse_steps(task: str, text: str) -> list[dict]:
    """The steps as written, in order, whatever language each sentence is in (each step also
    records where it starts and ends in the text)."""
    found = []
    for pattern in STEP_PATTERNS[task]:
        found += [dict(m.groupdict(), start=m.start(), end=m.end()) for m in re.finditer(pattern, text)]
    steps = sorted(found, key=lambda step: step["start"])
    for step in steps:
        if "op" in step:
            step["op"] = LOGIC_ZH.get(step["op"], step["op"])
    return steps


def final_answer(text: str) -> str:
    matches = list(re.finditer(FINAL_PATTERN, text))
    assert len(matches) == 1, text
    return matches[0]["en"] or matches[0]["zh"]


def step_is_right(task: str, step: dict) -> bool:
    if task == "add":
        return int(step["s"]) == int(step["a"]) + int(step["b"]) + int(step["c"])
    if task == "mul":
        return int(step["p"]) == int(step["a"]) * int(step["m"]) and int(step["s"]) == int(step["p"]) + int(step["c"])
    value = {"and": lambda x, y: x and y, "or": lambda x, y: x or y, "xor": lambda x, y: x != y}[step["op"]](
        step["x"] == "T", step["y"] == "T")
    return step["s"] == ("T" if value else "F")


def implied_answer(problem: Problem, steps: list[dict]) -> str:
    """Check that the written steps chain together (each uses the previous carry / value and the
    question's digits), and return the answer they imply."""
    task, q = problem.task, problem.question
    if task == "logic":
        values = re.findall(r"[TF]", q)
        ops = re.findall(r"and|or|xor", q)
        assert len(steps) == len(ops)
        assert steps[0]["x"] == values[0]
        for i, step in enumerate(steps):
            assert (step["op"], step["y"]) == (ops[i], values[i + 1])
            if i:
                assert step["x"] == steps[i - 1]["s"]  # a slip propagates: the next step uses it
        return steps[-1]["s"]
    if task == "add":
        a, b = (x[::-1] for x in q.split("+"))
        assert [(s["a"], s["b"]) for s in steps] == list(zip(a, b))
    else:
        a, m = q.split("*")
        assert [(s["a"], s["m"]) for s in steps] == [(d, m) for d in a[::-1]]
    carry = 0
    for step in steps:
        assert int(step["c"]) == carry
        assert (int(step["d"]), int(step["carry"])) == divmod(int(step["s"]), 10)[::-1]
        carry = int(step["carry"])
    digits = "".join(s["d"] for s in reversed(steps))
    return str(int((str(carry) if carry else "") + digits))


@pytest.mark.parametrize("task", TASK_NAMES)
@pytest.mark.parametrize("languages", LANGUAGE_SETS)
def test_write_solution_without_slip_is_right_and_in_its_languages(task, languages):
    rng = random.Random(f"sol-{task}-{languages}")
    seen_en = seen_zh = False
    for level in TRAIN_LEVELS[task] + HARD_LEVELS[task]:
        for _ in range(15):
            p = generate_problem(rng, task, level)
            text, answer = write_solution(p, rng, languages)
            assert answer == p.answer
            steps = parse_steps(task, text)
            assert len(steps) == level, text
            assert all(step_is_right(task, s) for s in steps), text
            assert implied_answer(p, steps) == p.answer
            assert final_answer(text) == p.answer
            assert "Wait" not in text and "等等" not in text
            has_zh = bool(re.search(r"[\u4e00-\u9fff]", text))
            has_en = bool(re.search(r"[A-Za-z]{2,}", text))
            if languages == ("en",):
                assert not has_zh, text
            if languages == ("zh",):
                assert not has_en, text  # the logic operators are written 与/或/异或 too
            seen_en |= has_en
            seen_zh |= has_zh
    if languages == ("en", "zh"):
        assert seen_en and seen_zh  # a mixed writer really mixes


@pytest.mark.parametrize("task", TASK_NAMES)
@pytest.mark.parametrize("languages", LANGUAGE_SETS)
def test_uncorrected_slip_gives_a_wrong_answer_consistent_with_the_steps(task, languages):
    rng = random.Random(f"slip-{task}-{languages}")
    for level in TRAIN_LEVELS[task] + HARD_LEVELS[task]:
        for _ in range(15):
            p = generate_problem(rng, task, level)
            text, answer = write_solution(p, rng, languages, slip=True, corrected=False)
            assert answer != p.answer, (p, text)
            steps = parse_steps(task, text)
            assert sum(not step_is_right(task, s) for s in steps) == 1, text  # exactly one slip
            assert implied_answer(p, steps) == answer  # ... which propagates consistently
            assert final_answer(text) == answer
            assert "Wait" not in text and "等等" not in text
            if task != "logic":
                assert re.fullmatch(r"[1-9]\d*", answer)


@pytest.mark.parametrize("task", TASK_NAMES)
@pytest.mark.parametrize("languages", LANGUAGE_SETS)
def test_corrected_slip_says_wait_and_ends_right(task, languages):
    rng = random.Random(f"fix-{task}-{languages}")
    for level in TRAIN_LEVELS[task]:
        for _ in range(15):
            p = generate_problem(rng, task, level)
            text, answer = write_solution(p, rng, languages, slip=True, corrected=True)
            assert answer == p.answer
            assert final_answer(text) == p.answer
            assert ("Wait," in text) or ("等等，" in text)
            steps = parse_steps(task, text)
            wrong = [i for i, s in enumerate(steps) if not step_is_right(task, s)]
            assert len(wrong) == 1 and len(steps) == level + 1, text
            # the correction sits right between the wrong step and its redone version
            corrections = [m.start() for m in re.finditer(r"Wait, |等等，", text)]
            assert len(corrections) == 1
            assert steps[wrong[0]]["end"] < corrections[0] < steps[wrong[0] + 1]["start"]
            operands = {"add": ("a", "b", "c"), "mul": ("a", "m", "c"), "logic": ("x", "op", "y")}[task]
            redone, slipped = steps[wrong[0] + 1], steps[wrong[0]]
            assert [redone[k] for k in operands] == [slipped[k] for k in operands]  # same step, redone
            kept = steps[: wrong[0]] + steps[wrong[0] + 1:]
            assert all(step_is_right(task, s) for s in kept)
            assert implied_answer(p, kept) == p.answer


def test_self_check_comes_after_the_answer():
    rng = random.Random(3)
    for task in TASK_NAMES:
        p = generate_problem(rng, task, 3)
        text, answer = write_solution(p, rng, ("en",), self_check=True)
        assert answer == p.answer
        assert text.index("So the answer is") < text.index("Let me check")
        text, _ = write_solution(p, rng, ("zh",), self_check=True)
        assert text.index("所以答案是") < text.index("检查一下")


def test_write_solution_is_reproducible():
    p = generate_problem(random.Random(0), "mul", 4)
    a = write_solution(p, random.Random(9), ("en", "zh"), slip=True)
    b = write_solution(p, random.Random(9), ("en", "zh"), slip=True)
    assert a == b


@pytest.mark.parametrize("task", TASK_NAMES)
def test_write_direct(task):
    rng = random.Random(f"direct-{task}")
    for level in TRAIN_LEVELS[task]:
        for _ in range(20):
            p = generate_problem(rng, task, level)
            for language in ("en", "zh"):
                remark, answer = write_direct(p, rng, 1.0, language)
                assert answer == p.answer and remark in tasks.DIRECT_TEXT[language]
                remark, answer = write_direct(p, rng, 0.0, language)
                assert answer != p.answer and remark in tasks.DIRECT_TEXT[language]
                assert not verify(answer, p.answer)
                if task == "logic":
                    assert answer in ("T", "F")
                else:  # a near miss: same length, one digit changed, still a canonical number
                    assert re.fullmatch(r"[1-9]\d*", answer) and len(answer) == len(p.answer)
                    assert sum(x != y for x, y in zip(answer, p.answer)) == 1


def test_write_direct_is_right_about_p_correct_of_the_time():
    rng = random.Random(0)
    p = Problem("add", 3, "348+719", "1067")
    right = sum(write_direct(p, rng, 0.3)[1] == "1067" for _ in range(2000))
    assert 0.25 < right / 2000 < 0.35


# ---------------------------------------------------------------- verify

@pytest.mark.parametrize("text", ["58", " 58", "58 ", "\n58\n", "\t58"])
def test_verify_accepts_surrounding_whitespace(text):
    assert verify(text, "58")


@pytest.mark.parametrize("text", ["", " ", "\n\t ", "058", "0058", "+58", "58.0", "58.", "5 8", "５８", "٥٨",
                                  "58 59", "58\n59", "59", "57", "-58", "58e0", "5_8", "0x3a", "fifty-eight",
                                  "58" + "0" * 500, "9" * 10000, "58\x00", "\u200b58", "58\u00a0"])
def test_verify_rejects(text):
    assert not verify(text, "58")


@pytest.mark.parametrize("text", ["t", "true", "True", "TRUE", "1", "T T", "TF", "T.", "F", "yes", ""])
def test_verify_logic_rejects(text):
    assert not verify(text, "T")
    assert verify(" T\n", "T")
