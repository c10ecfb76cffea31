"""Synthetic reasoning tasks: problems, exact verifiers and step-by-step solution writers.

R1's reasoning RL uses problems whose answers can be checked by a rule (R1 §2.2.2: "accuracy
rewards ... the model is required to provide the final answer in a specified format"). r1mini
uses three families that a ~2M-parameter model can learn on a CPU:

  add    a number of 1-n digits + one of 1-n digits, one has n     "57+384" (level 3)
  mul    an n-digit number × one digit 2-9                          "4817*6" (level 4)
  logic  a left-nested boolean chain of n operators                 "((T and F) or T) xor F" (level 3)

The level n is the difficulty: digits of the longer operand (add), of the multi-digit operand (mul),
number of operators (logic). Level 1, `TRIVIAL_LEVEL`, is the trivial end (single-digit sums and
products, one logic operator): questions people answer without working. `HARD_LEVELS` are never
used for training and measure generalisation.

A Problem keeps its canonical `expression` ("57+384": what the verifier, the traces and the
train/validation/test split read) apart from the `question` the model is asked, which is phrased in English or
Chinese (`PHRASINGS`): "57+384", "What is 57+384?" or "57+384等于多少？". `normalize_question` turns
what people type into one of these forms, or refuses it. Read in this order:
  1. Problem, `split_of` (train / validation / test by a hash that a+b and b+a share), and
     `generate_problem` (seeded)
  2. the trace functions: they run the school algorithm step by step, optionally with a *slip*
     (one wrong intermediate value that then propagates, as a careless human would)
  3. `write_solution`: renders a trace as reasoning text in English, Chinese or a mix of both,
     optionally with the slip noticed and corrected ("wait, ...") or with a self-check
  4. `verify`: the exact rule that decides whether an answer is right
  5. `normalize_question`: questions as people type them.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import random
import re
from dataclasses import dataclass

TASK_NAMES = ("add", "mul", "logic")
TRIVIAL_LEVEL = 1  # single-digit sums and products, single-operator logic: answered directly by most people
TRAIN_LEVELS = {task: (1, 2, 3, 4) for task in TASK_NAMES}
HARD_LEVELS = {task: (5, 6) for task in TASK_NAMES}
LANGUAGES = ("en", "zh")
PHRASINGS = ("bare", "en", "zh")  # "57+384" (counted as English), "What is 57+384?", "57+384等于多少？"
QUESTION_FORMS = {"bare": "{}", "en": "What is {}?", "zh": "{}等于多少？"}
LOGIC_QUESTION_FORMS = dict(QUESTION_FORMS, zh="{} 的结果是什么？")  # a truth value is a result, not an amount
EVAL_PHRASINGS = ("bare", "zh", "en", "zh")  # held-out problems: half Chinese, half English (both forms)
# Three splits, by a hash of the question's commutation-free key: of ten buckets one is the test split
# (reported only), one the validation split (every choice of a default), eight are for training.
SPLITS = ("train", "validation", "test")
HELD_OUT_SPLITS = ("test", "validation")  # what evaluations draw from: test is reported, validation chooses
SPLIT_BUCKETS = 10
TEST_BUCKET, VALIDATION_BUCKET = 0, 1
# The hash's salt. A new one draws a new test set, so that the questions on which earlier defaults
# were chosen (the old train/test split's test questions) are mostly not the ones now reported. It is
# the first of "split-1", "split-2", … under which every level has questions in all three splits:
# logic-1 has only 9 keys, and most salts leave it without a validation or a test question.
SPLIT_SALT = "split-10"


@dataclass(frozen=True)
class Problem:
    task: str
    level: int
    expression: str      # canonical problem text: "57+384", "4817*6", "(T and F) or T"
    answer: str          # canonical answer text: what `verify` compares against
    phrasing: str = "bare"  # how the question is asked: one of PHRASINGS

    @property
    def language(self) -> str:
        """The question's language, "en" or "zh" (the bare form counts as English)."""
        return "zh" if self.phrasing == "zh" else "en"

    @property
    def question(self) -> str:
        """The question as the model sees it, e.g. "57+384等于多少？"."""
        return (LOGIC_QUESTION_FORMS if self.task == "logic" else QUESTION_FORMS)[self.phrasing].format(self.expression)


def check_task_level(task: str, level: int | None = None) -> None:
    """Clear errors for unknown tasks or levels (used by every CLI)."""
    if task not in TASK_NAMES:
        raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASK_NAMES)}")
    if level is not None and level not in TRAIN_LEVELS[task] + HARD_LEVELS[task]:
        raise ValueError(f"task {task!r} has levels {TRAIN_LEVELS[task] + HARD_LEVELS[task]}, not {level}")


def split_key(task: str, expression: str) -> str:
    """The question with its symmetries taken out, so that twins fall on the same side of the split:
    "384+57" and "57+384" are one fact, as are "3*7" and "7*3", and "F and T" and "T and F" (the
    first two values of a logic chain commute under and/or/xor). Without it a held-out sum's
    commuted twin would be a training question eight times in ten."""
    if task in ("add", "mul"):
        sign = "+" if task == "add" else "*"
        a, b = sorted(expression.split(sign), key=int)
        return f"{a}{sign}{b}"
    values, ops = _parse_logic(expression)
    if ops:
        values[:2] = sorted(values[:2])
    return _logic_chain([_tf(v) for v in values], ops)


def split_of(task: str, expression: str) -> str:
    """"train", "validation" or "test": a hash of the split key decides, so the splits can never
    overlap whatever seeds the generators use, a question is on one side in every phrasing, and its
    commuted twin is on the same side. 64 bits of the hash, so that `% 10` is unbiased (one byte
    would give 26/256). The trivial levels are small: add-1 has 55 keys, mul-1 52, logic-1 9."""
    digest = hashlib.sha256(f"{SPLIT_SALT}|{task}|{split_key(task, expression)}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % SPLIT_BUCKETS
    return "test" if bucket == TEST_BUCKET else "validation" if bucket == VALIDATION_BUCKET else "train"


# ---------------------------------------------------------------- problem generators

def _random_number(rng: random.Random, n_digits: int) -> int:
    return rng.randint(10 ** (n_digits - 1) if n_digits > 1 else 0, 10 ** n_digits - 1)


LOGIC_OPS = ("and", "or", "xor")


def _apply_logic(op: str, x: bool, y: bool) -> bool:
    return {"and": x and y, "or": x or y, "xor": x != y}[op]


def _tf(value: bool) -> str:
    return "T" if value else "F"


def _logic_chain(values: list[str], ops: list[str]) -> str:
    """The canonical left-nested text: "((T and F) or T) xor F" (outermost brackets add nothing)."""
    text = values[0]
    for op, value in zip(ops, values[1:]):
        text = f"({text} {op} {value})"
    return text[1:-1] if ops else text


def _parse_logic(expression: str) -> tuple[list[bool], list[str]]:
    words = expression.replace("(", " ").replace(")", " ").split()
    values = [w == "T" for w in words[0::2]]
    return values, words[1::2]


def _raw_problem(rng: random.Random, task: str, level: int) -> Problem:
    if task == "add":  # the longer operand has `level` digits, the other 1 to `level`, in either order
        lengths = [level, rng.randint(1, level)]
        rng.shuffle(lengths)
        a, b = (_random_number(rng, n) for n in lengths)
        return Problem(task, level, f"{a}+{b}", str(a + b))
    if task == "mul":
        a, d = _random_number(rng, level), rng.randint(2, 9)
        return Problem(task, level, f"{a}*{d}", str(a * d))
    if task == "logic":
        values = [rng.random() < 0.5 for _ in range(level + 1)]
        ops = [rng.choice(LOGIC_OPS) for _ in range(level)]
        result = values[0]
        for op, value in zip(ops, values[1:]):
            result = _apply_logic(op, result, value)
        return Problem(task, level, _logic_chain([_tf(v) for v in values], ops), _tf(result))
    raise ValueError(f"unknown task {task!r}")


def generate_problem(rng: random.Random, task: str, level: int, split: str = "train") -> Problem:
    """One problem from `split` (one of SPLITS), drawn with `rng` (reproducible), in a random
    phrasing."""
    check_task_level(task, level)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    for _ in range(10_000):  # a level always has questions in every split (tests check it); never hang
        problem = _raw_problem(rng, task, level)
        if split_of(task, problem.expression) == split:
            return dataclasses.replace(problem, phrasing=rng.choice(PHRASINGS))
    raise ValueError(f"no {split} questions found for {task}-{level}")


def eval_problems(task: str, level: int, n: int, split: str = "test", seed: int = 1234) -> list[Problem]:
    """Up to n held-out problems of `split` ("test" or "validation") with distinct expressions (fewer
    when the level has fewer: add-1 has 100 questions in all, mul-1 80, logic-1 12), phrased in turn
    as EVAL_PHRASINGS says. The seed is fixed: every model and every pipeline seed is measured on the
    same questions, so two models can be compared paired."""
    if split not in HELD_OUT_SPLITS:
        raise ValueError(f"evaluation problems come from the validation or the test split, not {split!r}")
    rng, seen, problems = random.Random(f"{seed}-{task}-{level}"), set(), []
    for _ in range(50 * n):
        problem = generate_problem(rng, task, level, split=split)
        if problem.expression not in seen:
            seen.add(problem.expression)
            problems.append(dataclasses.replace(problem, phrasing=EVAL_PHRASINGS[len(problems) % len(EVAL_PHRASINGS)]))
            if len(problems) == n:
                break
    return problems


# ---------------------------------------------------------------- traces (the algorithm, step by step)
# A trace is a list of dicts, one per step, plus the final answer that the steps imply.
# `slip_step` replaces one intermediate value by a wrong one; later steps use the wrong value,
# so an uncorrected slip gives a consistent but wrong answer, like a real careless mistake.

def _digits_lsb_first(number: int) -> list[int]:
    return [int(ch) for ch in reversed(str(number))]


def _wrong_value(rng: random.Random, right: int, low: int, high: int) -> int:
    """A plausible slip: off by one (off by ten, i.e. a dropped carry, when one is out of range)."""
    candidates = [v for v in (right - 1, right + 1) if low <= v <= high]
    return rng.choice(candidates or [v for v in (right - 10, right + 10) if low <= v <= high])


def trace(problem: Problem, slip_step: int | None = None, rng: random.Random | None = None) -> tuple[list[dict], str]:
    rng = rng or random.Random(0)
    steps: list[dict] = []
    if problem.task == "add":
        a, b = (_digits_lsb_first(int(x)) for x in problem.expression.split("+"))
        carry, written = 0, []
        # the written method pads the shorter operand with 0s: "7+384" has the columns 7+4, 0+8, 0+3
        for i, (da, db) in enumerate(itertools.zip_longest(a, b, fillvalue=0)):
            right = da + db + carry
            total = _wrong_value(rng, right, 0, 19) if i == slip_step else right
            steps.append(dict(place=i, a=da, b=db, c=carry, s=total, right=right, d=total % 10, carry=total // 10))
            written.append(total % 10)
            carry = total // 10
        answer_digits = ([carry] if carry else []) + written[::-1]
    elif problem.task == "mul":
        a, m = (int(x) for x in problem.expression.split("*"))
        carry, written = 0, []
        for i, da in enumerate(_digits_lsb_first(a)):
            product = da * m
            right = product + carry
            total = _wrong_value(rng, right, product, product + 9) if i == slip_step else right
            steps.append(dict(place=i, a=da, m=m, p=product, c=carry, s=total, right=right, d=total % 10, carry=total // 10))
            written.append(total % 10)
            carry = total // 10
        answer_digits = ([carry] if carry else []) + written[::-1]
    elif problem.task == "logic":
        values, ops = _parse_logic(problem.expression)
        result = values[0]
        for i, (op, value) in enumerate(zip(ops, values[1:])):
            right = _apply_logic(op, result, value)
            new = (not right) if i == slip_step else right
            steps.append(dict(x=_tf(result), op=op, y=_tf(value), s=_tf(new), right=_tf(right)))
            result = new
        return steps, _tf(result)
    else:
        raise ValueError(f"unknown task {problem.task!r}")
    return steps, str(int("".join(map(str, answer_digits))))


# ---------------------------------------------------------------- rendering in two languages

# Arithmetic works column by column, and a small transformer cannot reliably find "the third digit
# from the right" of a number whose length varies (the issue-10 base, without place names, got 3% of
# 3-digit sums right). So the writer first spells each number out by place, the shorter one padded
# with 0s ("hundreds 0 tens 5 ones 7"), and names the place of every column it works on: the digits
# of a column are then found by *content* (the tokens after "tens"), which attention does well —
# the "index hints" of Zhou et al. 2023, "What algorithms can transformers learn?".
PLACE_NAMES = {"en": ("ones", "tens", "hundreds", "thousands", "ten-thousands", "hundred-thousands"),
               "zh": ("个位", "十位", "百位", "千位", "万位", "十万位")}
SPELLED_TEXT = {("add", "en"): "{a} plus {b}.", ("add", "zh"): "{a}加{b}。",
                ("mul", "en"): "{a} times {m}.", ("mul", "zh"): "{a}乘{m}。"}
STEP_TEXT = {
    ("add", "en"): "{place}: {a}+{b}+{c}={s:02d}, write {d} carry {carry}.",
    ("add", "zh"): "{place}：{a}加{b}加{c}得{s:02d}，写{d}进{carry}。",
    ("mul", "en"): "{place}: {a}*{m}={p:02d}, +{c}={s:02d}, write {d} carry {carry}.",
    ("mul", "zh"): "{place}：{a}乘{m}得{p:02d}，加{c}得{s:02d}，写{d}进{carry}。",
    ("logic", "en"): "{x} {op} {y} is {s}.",
    ("logic", "zh"): "{x} {op_zh} {y} 得 {s}。",
}
CORRECTION_TEXT = {  # shown right after a slipped step, before the step is redone
    ("add", "en"): "Wait, {a}+{b}+{c} is {right}, not {s}.",
    ("add", "zh"): "等等，{a}加{b}加{c}是{right}，不是{s}。",
    ("mul", "en"): "Wait, {p}+{c} is {right}, not {s}.",
    ("mul", "zh"): "等等，{p}加{c}是{right}，不是{s}。",
    ("logic", "en"): "Wait, {x} {op} {y} is {right}, not {s}.",
    ("logic", "zh"): "等等，{x} {op_zh} {y} 是 {right}，不是 {s}。",
}
CHECK_TEXT = {  # a self-check of one step after the answer line
    ("add", "en"): "Let me check the {place}: {a}+{b}+{c}={s:02d}. Yes.",
    ("add", "zh"): "检查一下{place}：{a}加{b}加{c}得{s:02d}。对。",
    ("mul", "en"): "Let me check the {place}: {a}*{m}={p:02d}. Yes.",
    ("mul", "zh"): "检查一下{place}：{a}乘{m}得{p:02d}。对。",
    ("logic", "en"): "Let me check: {x} {op} {y} is {s}. Yes.",
    ("logic", "zh"): "检查一下：{x} {op_zh} {y} 得 {s}。对。",
}
FINAL_TEXT = {"en": "So the answer is {answer}.", "zh": "所以答案是{answer}。"}
LOGIC_OPS_ZH = {"and": "与", "or": "或", "xor": "异或"}
DIRECT_TEXT = {"en": ("I know this one.", "This is easy.", "Quick answer."),
               "zh": ("这个简单。", "直接回答。", "我知道。")}


def _render(template: dict, task: str, lang: str, step: dict) -> str:
    fields = dict(step, op_zh=LOGIC_OPS_ZH.get(step.get("op", ""), ""))
    if "place" in step:
        fields["place"] = PLACE_NAMES[lang][step["place"]]
    return template[(task, lang)].format(**fields)


def spell_by_place(number: str, n_places: int, lang: str) -> str:
    """"57" over 3 places -> "hundreds 0 tens 5 ones 7" (Chinese: "百位0十位5个位7")."""
    digits = number.zfill(n_places)
    names = PLACE_NAMES[lang]
    pieces = [f"{names[n_places - 1 - i]}{'' if lang == 'zh' else ' '}{d}" for i, d in enumerate(digits)]
    return ("" if lang == "zh" else " ").join(pieces)


def write_spelled_operands(problem: Problem, lang: str) -> str:
    """The first sentence of a worked sum or product: its numbers spelled out by place."""
    if problem.task == "add":
        a, b = problem.expression.split("+")
        n = max(len(a), len(b))
        return SPELLED_TEXT[("add", lang)].format(a=spell_by_place(a, n, lang), b=spell_by_place(b, n, lang))
    a, m = problem.expression.split("*")
    return SPELLED_TEXT[("mul", lang)].format(a=spell_by_place(a, len(a), lang), m=m)


def write_solution(problem: Problem, rng: random.Random, languages: tuple[str, ...] = ("en",),
                   slip: bool = False, corrected: bool = False, self_check: bool = False) -> tuple[str, str]:
    """Reasoning text and the answer it arrives at.

    `languages`: one language, or several to mix — each sentence then picks one at random
    (the language mixing that R1-Zero shows). `slip`: one step gets a wrong value; if
    `corrected`, the writer notices at once ("wait, ...") and redoes the step, otherwise the
    error propagates to a wrong answer. `self_check`: re-verify one step after the answer line.
    """
    steps, _ = trace(problem)
    slip_steps = range(len(steps))
    if problem.task == "logic" and not corrected:  # a later "or T" / "and F" can absorb a slip:
        slip_steps = [i for i in slip_steps if trace(problem, i)[1] != problem.answer]  # keep ones that show
    slip_step = rng.choice(slip_steps) if slip else None
    if slip and not corrected:
        steps, answer = trace(problem, slip_step, rng)
    else:
        answer = problem.answer
    pick = lambda: rng.choice(languages)  # noqa: E731  (one language draw per sentence)
    sentences = [] if problem.task == "logic" else [write_spelled_operands(problem, pick())]
    for i, step in enumerate(steps):
        if i == slip_step and corrected:
            wrong_steps, _ = trace(problem, slip_step, rng)
            sentences.append(_render(STEP_TEXT, problem.task, pick(), wrong_steps[i]))
            sentences.append(_render(CORRECTION_TEXT, problem.task, pick(), wrong_steps[i]))
        sentences.append(_render(STEP_TEXT, problem.task, pick(), step))
    sentences.append(FINAL_TEXT[pick()].format(answer=answer))
    if self_check:
        sentences.append(_render(CHECK_TEXT, problem.task, pick(), rng.choice(steps)))
    return " ".join(sentences), answer


def write_direct(problem: Problem, rng: random.Random, p_correct: float, language: str = "en") -> tuple[str, str]:
    """A direct answer with no working, as a hurried writer would give: right with probability
    `p_correct`, otherwise a near miss (one digit changed, or the other truth value)."""
    answer = problem.answer
    if rng.random() >= p_correct:
        if problem.task == "logic":
            answer = "F" if answer == "T" else "T"
        else:
            digits = list(answer)
            i = rng.randrange(len(digits))
            choices = [d for d in "0123456789" if d != digits[i] and not (i == 0 and d == "0" and len(digits) > 1)]
            digits[i] = rng.choice(choices)
            answer = "".join(digits)
    return rng.choice(DIRECT_TEXT[language]), answer


# ---------------------------------------------------------------- verification

def normalize_answer(text: str) -> str:
    """An answer as every metric compares it (reward, pass@k, cons@k): surrounding spaces, tabs,
    carriage returns and newlines removed, nothing else. A Windows line ending around a right answer
    is still right; an ideographic space, a no-break space or a zero-width character is not
    whitespace here (str.strip would remove some of them, and a majority vote would then count an
    answer that the reward refuses)."""
    return text.strip(" \t\r\n")


def verify(answer_text: str, reference: str) -> bool:
    """The exact rule: the normalized answer must equal the canonical reference character for
    character. Leading zeros, signs, spaces inside, unicode digits, extra words or a second number
    all fail — there is no partial credit to exploit."""
    return normalize_answer(answer_text) == reference


# ---------------------------------------------------------------- questions as people type them

SUPPORTED_FORMS = ("supported: 57+384, 4817*6 (one factor a single digit 2-9) or (T and F) or T "
                   "(and/or/xor over T/F, brackets to the left); bare, as 'What is 57+384?' or as '57+384等于多少？'")
_LOGIC_WORDS = {"t": "T", "true": "T", "f": "F", "false": "F", "and": "and", "or": "or", "xor": "xor"}
_TOKEN = re.compile(r"[()]|[^\s()]+")


def _canonical_expression(text: str) -> tuple[str, str] | None:
    """(task, canonical expression) of an expression written loosely, or None if unsupported."""
    if m := re.fullmatch(r"([0-9]+)\s*([+*])\s*([0-9]+)", text):
        a, b = int(m[1]), int(m[3])
        if m[2] == "+":
            return "add", f"{a}+{b}"
        if not 2 <= b <= 9 and 2 <= a <= 9:  # "6*4817" is the question "4817*6"
            a, b = b, a
        return ("mul", f"{a}*{b}") if 2 <= b <= 9 else None
    words = [w if w in "()" else _LOGIC_WORDS.get(w.lower(), "?") for w in _TOKEN.findall(text)]
    atoms = [w for w in words if w not in "()"]
    values, ops = atoms[0::2], atoms[1::2]
    if not ops or len(values) != len(ops) + 1 or any(v not in ("T", "F") for v in values) \
            or any(op not in LOGIC_OPS for op in ops):
        return None
    chain = _logic_chain(values, ops)
    # the brackets must say what the canonical chain says: "T and F or T" is refused, not guessed
    return ("logic", chain) if words in (_TOKEN.findall(chain), ["(", *_TOKEN.findall(chain), ")"]) else None


def normalize_question(text: str) -> str:
    """The question in one of the forms the model was trained on, or a one-line ValueError that lists
    them. Accepted (README, "The tasks"): the bare expression, "What is <expression>?" (any case, "?"
    optional) and "<expression>等于多少？" / "<expression>的结果是什么？" (either suffix, "？" or "?" or
    none); spaces anywhere around operators and brackets; a trailing "=", "?" or "=?"; leading zeros
    ("007+3" is 7+3); a single-digit factor first ("6*4817"); for logic, t/f/true/false in any case
    and operators in any case. Anything else (12-3, 12*34, T nand F, T and F or T) is refused rather
    than answered as another question."""
    body, phrasing = text.strip(), "bare"
    if m := re.fullmatch(r"what\s+is\s+(.*)", body, re.IGNORECASE | re.DOTALL):
        body, phrasing = m[1], "en"
    elif m := re.fullmatch(r"(.*?)\s*(?:等于多少|的结果是什么)\s*[?？]?", body, re.DOTALL):
        body, phrasing = m[1], "zh"
    parsed = _canonical_expression(body.rstrip(" \t?？="))
    if parsed is None:
        raise ValueError(f"unsupported question {text!r}; {SUPPORTED_FORMS}")
    task, expression = parsed
    return Problem(task, 0, expression, "", phrasing).question
