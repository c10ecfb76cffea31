"""Task tests: every generated answer is right (recomputed independently), the train/validation/test
splits are disjoint, stable and put a question's commuted twin on its side, the solution writers say what they should (right steps, padded columns, slips that
propagate, corrections), `verify` has no loopholes, and `normalize_question` accepts what people type
or refuses it with the list of supported forms."""
import dataclasses
import itertools
import random
import re

import pytest

from r1mini import tasks
from r1mini.tasks import (HARD_LEVELS, LOGIC_OPS, PHRASINGS, SUPPORTED_FORMS, TASK_NAMES, TRAIN_LEVELS,
                          SPLITS, TRIVIAL_LEVEL, Problem, check_task_level, eval_problems, generate_problem,
                          normalize_question, split_key, split_of, trace, verify, write_direct, write_solution)

ALL_PAIRS = [(t, lv) for t in TASK_NAMES for lv in TRAIN_LEVELS[t] + HARD_LEVELS[t]]
LANGUAGE_SETS = [("en",), ("zh",), ("en", "zh")]


# ---------------------------------------------------------------- an independent reference solver

QUESTION_FORMS = {("bare", False): "{}", ("en", False): "What is {}?", ("zh", False): "{}等于多少？",
                  ("bare", True): "{}", ("en", True): "What is {}?", ("zh", True): "{} 的结果是什么？"}
NUMBER = r"(0|[1-9]\d*)"  # canonical: no leading zeros


def reference_answer(problem: Problem) -> str:
    """Recompute the answer from the expression alone, checking the documented formats of the
    expression and of the question."""
    q, level = problem.expression, problem.level
    assert problem.question == QUESTION_FORMS[problem.phrasing, problem.task == "logic"].format(q)
    assert problem.language == ("zh" if problem.phrasing == "zh" else "en")
    if problem.task == "add":
        m = re.fullmatch(rf"{NUMBER}\+{NUMBER}", q)
        assert m, q
        assert max(len(m[1]), len(m[2])) == level, q  # the longer operand has `level` digits
        return str(int(m[1]) + int(m[2]))
    if problem.task == "mul":
        m = re.fullmatch(rf"{NUMBER}\*([2-9])", q)
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
    assert reference_answer(Problem("add", 3, "7+384", "?", "zh")) == "391"
    assert reference_answer(Problem("add", 1, "0+0", "?", "en")) == "0"
    assert reference_answer(Problem("mul", 1, "0*7", "?")) == "0"
    assert reference_answer(Problem("logic", 1, "F xor T", "?", "zh")) == "T"
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
        return [generate_problem(rng, t, lv, split) for t, lv in ALL_PAIRS for split in SPLITS]
    assert draw(7) == draw(7)
    assert draw(7) != draw(8)
    assert eval_problems("add", 3, 20, seed=5) == eval_problems("add", 3, 20, seed=5)
    assert eval_problems("add", 3, 20, seed=5) != eval_problems("add", 3, 20, seed=6)


@pytest.mark.parametrize("task,level", ALL_PAIRS)
def test_the_three_splits_are_disjoint(task, level):
    rng = random.Random(f"split-{task}-{level}")
    drawn = {split: [generate_problem(rng, task, level, split) for _ in range(400 if split == "train" else 100)]
             for split in SPLITS}
    assert all({p.phrasing for p in problems} == set(PHRASINGS) for problems in drawn.values())
    # disjoint by expression and by key: no question (nor its twin) is on two sides in any phrasing
    for split, problems in drawn.items():
        assert all(split_of(task, p.expression) == split for p in problems)
    keys = {split: {split_key(task, p.expression) for p in problems} for split, problems in drawn.items()}
    assert not keys["train"] & keys["validation"] and not keys["train"] & keys["test"]
    assert not keys["validation"] & keys["test"]


def _twins(rng: random.Random, task: str) -> tuple[str, str]:
    """A question and its twin by symmetry, written differently."""
    if task in ("add", "mul"):
        sign = "+" if task == "add" else "*"
        a, b = rng.randint(0, 99999), rng.randint(0, 99999)
        return f"{a}{sign}{b}", f"{b}{sign}{a}"
    ops = [rng.choice(LOGIC_OPS) for _ in range(rng.randint(1, 4))]
    values = [rng.choice("TF") for _ in range(len(ops) + 1)]
    swapped = [values[1], values[0], *values[2:]]
    chain = tasks._logic_chain
    return chain(values, ops), chain(swapped, ops)


@pytest.mark.parametrize("task", TASK_NAMES)
def test_a_question_and_its_commuted_twin_fall_on_the_same_side(task):
    rng = random.Random(task)
    for _ in range(2000):
        question, twin = _twins(rng, task)
        assert split_key(task, question) == split_key(task, twin)
        assert split_of(task, question) == split_of(task, twin)
    # and the key keeps different facts apart: it only removes the symmetry
    assert split_key("add", "57+384") != split_key("add", "57+385")
    assert split_key("logic", "(T and F) or T") != split_key("logic", "(T or F) and T")
    assert split_key("logic", "(T and F) or T") != split_key("logic", "(T and T) or F")


def test_twins_of_held_out_questions_are_never_trained_on():
    # under the old split (a hash of the expression as written) 19 of 20 held-out sums had a
    # training twin; now none has
    for split in ("test", "validation"):
        for level in (2, 3, 4):
            for p in eval_problems("add", level, 20, split):
                a, b = p.expression.split("+")
                assert split_of("add", f"{b}+{a}") == split


def test_the_splits_are_one_in_ten_each_and_stable():
    rng = random.Random(0)
    questions = {f"{rng.randint(1000, 9999)}+{rng.randint(1000, 9999)}" for _ in range(5000)}
    for split, low, high in (("test", 0.07, 0.13), ("validation", 0.07, 0.13), ("train", 0.75, 0.85)):
        assert low < sum(split_of("add", q) == split for q in questions) / len(questions) < high
    # A hash, not Python's salted hash(): the same on every machine and in every run. These are
    # today's values; a change of the split changes every reported number and must be deliberate.
    counts = {task: [sum(split_of(task, e) == s for e in all_expressions(task, 1)) for s in SPLITS]
              for task in TASK_NAMES}
    assert counts == {"add": [82, 13, 5], "mul": [58, 15, 7], "logic": [9, 2, 1]}


def all_expressions(task: str, level: int) -> set[str]:
    """Every expression of a small level, written out by hand (independently of the generator)."""
    if task == "add":
        assert level == 1
        return {f"{a}+{b}" for a in range(10) for b in range(10)}
    if task == "mul":
        assert level == 1
        return {f"{a}*{d}" for a in range(10) for d in range(2, 10)}
    chains = set()
    for values in itertools.product("TF", repeat=level + 1):
        for ops in itertools.product(LOGIC_OPS, repeat=level):
            text = values[0]
            for op, value in zip(ops, values[1:]):
                text = f"({text} {op} {value})"
            chains.add(text[1:-1])
    return chains


SMALL_LEVELS = [("add", 1), ("mul", 1), ("logic", 1), ("logic", 2), ("logic", 3)]


@pytest.mark.parametrize("split", ("test", "validation"))
@pytest.mark.parametrize("task,level", ALL_PAIRS)
def test_eval_problems_are_distinct_held_out_right_and_in_both_languages(task, level, split):
    problems = eval_problems(task, level, 25, split)
    expressions = [p.expression for p in problems]
    assert len(expressions) == len(set(expressions))
    assert all(split_of(task, e) == split for e in expressions)
    assert all(p.answer == reference_answer(p) and p.level == level for p in problems)
    held_out = sum(split_of(task, e) == split for e in all_expressions(task, level)) \
        if (task, level) in SMALL_LEVELS else 25
    assert len(problems) == min(25, held_out)
    # half in Chinese, half in English (bare and "What is" in turn), in a fixed order
    assert [p.phrasing for p in problems] == [("bare", "zh", "en", "zh")[i % 4] for i in range(len(problems))]


@pytest.mark.parametrize("split", ("test", "validation"))
@pytest.mark.parametrize("task,level", SMALL_LEVELS)
def test_eval_problems_returns_all_of_a_small_level(task, level, split):
    # e.g. logic-1 has only 2 * 3 * 2 = 12 questions; eval_problems finds exactly its held-out ones, fast
    held_out = {e for e in all_expressions(task, level) if split_of(task, e) == split}
    got = eval_problems(task, level, 100, split)  # asks for more than there are
    assert {p.expression for p in got} == held_out
    assert len(got) == len(held_out) >= 1  # every level has questions in every split
    if len(got) >= 2:
        assert {p.language for p in got} == {"en", "zh"}


def test_eval_problems_refuse_the_training_split():
    with pytest.raises(ValueError, match="validation or the test"):
        eval_problems("add", 3, 5, "train")


def test_the_trivial_level_is_level_one_and_trained():
    assert TRIVIAL_LEVEL == 1
    assert all(TRAIN_LEVELS[task] == (1, 2, 3, 4) and HARD_LEVELS[task] == (5, 6) for task in TASK_NAMES)
    rng = random.Random(0)
    for task in TASK_NAMES:
        problems = [generate_problem(rng, task, TRIVIAL_LEVEL) for _ in range(300)]
        assert {len(trace(p)[0]) for p in problems} == {1}  # a single step: a table fact, one operator
    seen = {generate_problem(rng, "add", 1).expression for _ in range(3000)}
    assert seen == {e for e in all_expressions("add", 1) if split_of("add", e) == "train"}  # 0 included


def test_addition_covers_every_combination_of_lengths():
    rng = random.Random(1)
    for level in TRAIN_LEVELS["add"] + HARD_LEVELS["add"]:
        lengths = {tuple(len(x) for x in generate_problem(rng, "add", level).expression.split("+"))
                   for _ in range(400)}
        assert lengths == {(level, n) for n in range(1, level + 1)} | {(n, level) for n in range(1, level + 1)}


@pytest.mark.parametrize("task,level", [("div", 2), ("add", 0), ("add", 7), ("mul", 7), ("logic", 9),
                                        ("logic", 0), ("", None), ("ADD", None)])
def test_check_task_level_rejects_unknown(task, level):
    with pytest.raises(ValueError):
        check_task_level(task, level)


def test_check_task_level_accepts_known_and_generate_checks_split():
    for task, level in ALL_PAIRS:
        check_task_level(task, level)
        check_task_level(task)
    with pytest.raises(ValueError, match="split must be one of"):
        generate_problem(random.Random(0), "add", 3, split="valid")
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
    task, q = problem.task, problem.expression
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
    if task == "add":  # the shorter operand's missing digits are written as 0
        a, b = (x[::-1] for x in q.split("+"))
        assert [(s["a"], s["b"]) for s in steps] == list(itertools.zip_longest(a, b, fillvalue="0"))
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
                assert re.fullmatch(NUMBER, answer)


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
                    assert re.fullmatch(NUMBER, answer) and len(answer) == len(p.answer)
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


# ---------------------------------------------------------------- hand-worked cases

@pytest.mark.parametrize("expression, columns, answer", [
    ("7+384", [(7, 4, 0, 11), (0, 8, 1, 9), (0, 3, 0, 3)], "391"),          # the shorter operand first
    ("384+7", [(4, 7, 0, 11), (8, 0, 1, 9), (3, 0, 0, 3)], "391"),          # ... or second
    ("999+1", [(9, 1, 0, 10), (9, 0, 1, 10), (9, 0, 1, 10)], "1000"),       # carries into a new column
    ("5+5", [(5, 5, 0, 10)], "10"),                                         # ... at the trivial level too
    ("0+0", [(0, 0, 0, 0)], "0"),
    ("4812+59", [(2, 9, 0, 11), (1, 5, 1, 7), (8, 0, 0, 8), (4, 0, 0, 4)], "4871"),
])
def test_addition_trace_by_hand(expression, columns, answer):
    steps, result = trace(Problem("add", 0, expression, answer))
    assert [(s["a"], s["b"], s["c"], s["s"]) for s in steps] == columns
    assert result == answer == str(eval(expression))  # noqa: S307 (our own literal)


@pytest.mark.parametrize("expression, columns, answer", [
    ("0*7", [(0, 0, 0, 0)], "0"), ("9*9", [(9, 81, 0, 81)], "81"), ("3*2", [(3, 6, 0, 6)], "6"),
    ("1234*9", [(4, 36, 0, 36), (3, 27, 3, 30), (2, 18, 3, 21), (1, 9, 2, 11)], "11106"),
])
def test_multiplication_trace_by_hand(expression, columns, answer):
    steps, result = trace(Problem("mul", 0, expression, answer))
    assert [(s["a"], s["p"], s["c"], s["s"]) for s in steps] == columns
    assert result == answer


@pytest.mark.parametrize("expression, answer", [("T and F", "F"), ("F or F", "F"), ("T xor T", "F"),
                                                ("F xor T", "T"), ("T or F", "T"), ("T and T", "T")])
def test_single_operator_logic_by_hand(expression, answer):
    steps, result = trace(Problem("logic", 1, expression, answer))
    x, op, y = expression.split()
    assert steps == [dict(x=x, op=op, y=y, s=answer, right=answer)] and result == answer


def test_solution_writer_pads_the_missing_digits_in_both_languages():
    problem = Problem("add", 3, "7+384", "391")
    assert write_solution(problem, random.Random(0), ("en",))[0] == (
        "hundreds 0 tens 0 ones 7 plus hundreds 3 tens 8 ones 4. "
        "ones: 7+4+0=11, write 1 carry 1. tens: 0+8+1=09, write 9 carry 0. hundreds: 0+3+0=03, write 3 carry 0. "
        "So the answer is 391.")
    assert write_solution(problem, random.Random(0), ("zh",))[0] == (
        "百位0十位0个位7加百位3十位8个位4。 "
        "个位：7加4加0得11，写1进1。 十位：0加8加1得09，写9进0。 百位：0加3加0得03，写3进0。 所以答案是391。")
    assert write_solution(Problem("add", 2, "95+7", "102"), random.Random(0), ("en",))[0] == (
        "tens 9 ones 5 plus tens 0 ones 7. "
        "ones: 5+7+0=12, write 2 carry 1. tens: 9+0+1=10, write 0 carry 1. So the answer is 102.")  # the new column


def test_products_are_spelled_by_place_and_every_column_names_its_place():
    assert write_solution(Problem("mul", 3, "507*8", "4056"), random.Random(0), ("en",))[0] == (
        "hundreds 5 tens 0 ones 7 times 8. ones: 7*8=56, +0=56, write 6 carry 5. "
        "tens: 0*8=00, +5=05, write 5 carry 0. hundreds: 5*8=40, +0=40, write 0 carry 4. So the answer is 4056.")
    assert write_solution(Problem("mul", 2, "19*3", "57"), random.Random(0), ("zh",))[0] == (
        "十位1个位9乘3。 个位：9乘3得27，加0得27，写7进2。 十位：1乘3得03，加2得05，写5进0。 所以答案是57。")


# ---------------------------------------------------------------- questions as people type them

@pytest.mark.parametrize("task,level", ALL_PAIRS)
def test_every_phrasing_is_a_fixed_point_of_normalize_question(task, level):
    rng = random.Random(f"phrasing-{task}-{level}")
    for _ in range(20):
        problem = generate_problem(rng, task, level)
        for phrasing in PHRASINGS:
            question = dataclasses.replace(problem, phrasing=phrasing).question
            assert normalize_question(question) == question


@pytest.mark.parametrize("typed, normalized", [
    ("57+384", "57+384"), ("12 + 35", "12+35"), ("  12 +35 ", "12+35"), ("12+35=", "12+35"), ("12+35?", "12+35"),
    ("12 + 35 = ?", "12+35"), ("What is 12+35?", "What is 12+35?"), ("what is 12 + 35", "What is 12+35?"),
    ("WHAT IS 12+35 ?", "What is 12+35?"), ("12+35等于多少？", "12+35等于多少？"), ("12+35等于多少?", "12+35等于多少？"),
    ("12 + 35 等于多少", "12+35等于多少？"), ("007+3", "7+3"), ("4817*6", "4817*6"), ("6 * 4817", "4817*6"),
    ("What is 3*4?", "What is 3*4?"), ("0*7", "0*7"), ("7*0", "0*7"), ("123456789+1", "123456789+1"),
    ("t and f", "T and F"), ("True AND False", "T and F"), ("(T and F)", "T and F"), ("(t and f)or true", "(T and F) or T"),
    ("((T and F) or T) xor F", "((T and F) or T) xor F"), ("What is T xor F?", "What is T xor F?"),
    ("T and F 的结果是什么？", "T and F 的结果是什么？"), ("T and F的结果是什么?", "T and F 的结果是什么？"),
    ("T and F 等于多少", "T and F 的结果是什么？"), ("12+35的结果是什么？", "12+35等于多少？"),
])
def test_normalize_question_accepts_what_people_type(typed, normalized):
    assert normalize_question(typed) == normalized
    assert normalize_question(normalized) == normalized


@pytest.mark.parametrize("typed", ["12-3", "12*34", "12*1", "1*1", "12/3", "12x3", "12+", "+12", "12", "1+2+3",
                                   "-1+2", "1.5+2", "１２+3", "T nand F", "T and", "T", "not T", "T and F or T",
                                   "T and (F or T)", "(T and F) or T)", "T and F and", "maybe", "", "what is",
                                   "What is 12+35等于多少？", "12+35 please"])
def test_normalize_question_refuses_the_rest_with_the_supported_forms(typed):
    with pytest.raises(ValueError) as refused:
        normalize_question(typed)
    message = str(refused.value)
    assert "\n" not in message and SUPPORTED_FORMS in message and repr(typed) in message
