"""Reading a chain of thought back into the school algorithm's steps: what R1's rewriter and filters
parse (DeepSeek-R1 v1 §2.3.1 and §2.3.3) and what the evaluation counts about *how* a model reasons
(the "aha moment" of §2.2.4: does it catch its own slips?).

Our reasoning is templated (tasks.STEP_TEXT), so a regex per template reads every sentence back. A
sentence is one of:

  spelled      the numbers by place, restating the question ("tens 5 ones 7 plus ...")
  step         one column (or operator) worked: its operands and result, e.g. "tens: 5+8+1=14, write 4 carry 1."
  correction   "Wait, 5+8+1 is 14, not 15." (tasks.CORRECTION_TEXT), then the step redone
  check        "Let me check the tens: 5+8+1=14. Yes." (tasks.CHECK_TEXT): a self-check after the answer
  final        "So the answer is 441." (the think's conclusion)
  other        anything no template writes: garbled or unreadable text

Two kinds of reflection are told apart, because only one can be learned:
  a *template check* re-states a step and says "Yes." — R1's rewriter writes one into every
    cold-start answer, so its rate after the cold start measures the rewriter, not the model;
  a *genuine correction* is a step whose own arithmetic is wrong, then a "wait" naming the wrong
    and the right value, then the step redone right. That is a model catching a slip.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from r1mini.rewards import extract_answer, reasoning_text, summary_text
from r1mini.tasks import LOGIC_OPS_ZH, PLACE_NAMES, Problem, normalize_answer, trace, verify

# One regex per step template of tasks.STEP_TEXT (either language), place name optional: R1-Zero
# may drop it. The named groups are the trace fields that decide whether a step is right.
_PLACE = r"(?:(?P<place>[a-z-]+): |(?P<place_zh>[\u4e00-\u9fff]+位)：)?"
STEP_PATTERNS = {
    "add": [re.compile(_PLACE + r"(?P<a>\d)\+(?P<b>\d)\+(?P<c>\d)=(?P<s>\d+), write (?P<d>\d) carry (?P<carry>\d)\."),
            re.compile(_PLACE + r"(?P<a>\d)加(?P<b>\d)加(?P<c>\d)得(?P<s>\d+)，写(?P<d>\d)进(?P<carry>\d)。")],
    "mul": [re.compile(_PLACE + r"(?P<a>\d)\*(?P<m>\d)=(?P<p>\d+), \+(?P<c>\d)=(?P<s>\d+), write (?P<d>\d) carry (?P<carry>\d)\."),
            re.compile(_PLACE + r"(?P<a>\d)乘(?P<m>\d)得(?P<p>\d+)，加(?P<c>\d)得(?P<s>\d+)，写(?P<d>\d)进(?P<carry>\d)。")],
    "logic": [re.compile(r"(?P<x>[TF]) (?P<op>and|or|xor) (?P<y>[TF]) is (?P<s>[TF])\."),
              re.compile(r"(?P<x>[TF]) (?P<op>与|或|异或) (?P<y>[TF]) 得 (?P<s>[TF])。")],
}
# tasks.CORRECTION_TEXT read back: what was recomputed, the right value, the wrong one.
CORRECTION_PATTERNS = [re.compile(r"Wait, (?P<what>.+) is (?P<right>\w+), not (?P<wrong>\w+)\."),
                       re.compile(r"等等，(?P<what>.+?) ?是 ?(?P<right>\w+)，不是 ?(?P<wrong>\w+)。")]
_OPS_FROM_ZH = {zh: en for en, zh in LOGIC_OPS_ZH.items()}
_PLACE_INDEX = {name: i for names in PLACE_NAMES.values() for i, name in enumerate(names)}
_SENTENCE_END = re.compile(r"(?<=[.。])\s*")
CHECK_OPENINGS = ("Let me check", "检查一下")  # how tasks.CHECK_TEXT's self-check starts, per language
_CONFIRMATION = ("Yes.", "对。")             # ... and how it ends
_WAIT = ("Wait", "等等")
_SPELLED = re.compile(r"^(?:[a-z -]+ \d)+ (?:plus|times) .*\.$|^(?:[\u4e00-\u9fff]+位\d)+[加乘].*。$")
FINAL = re.compile(r"^(?:So the answer is (?P<en>\S+)\.|所以答案是(?P<zh>\S+)。)$")
# the operands that name a column (or operator): a step and its redo share them
_OPERANDS = {"add": ("a", "b", "c"), "mul": ("a", "m", "c"), "logic": ("x", "op", "y")}


def sentences(reasoning: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(reasoning.strip()) if s]


def parse_step(task: str, sentence: str) -> dict | None:
    """A step sentence as {field: int or str} (place as its column index, None if not named), or None."""
    match = next((m for pattern in STEP_PATTERNS[task] if (m := pattern.fullmatch(sentence))), None)
    if not match:
        return None
    fields = match.groupdict()
    place = fields.pop("place", None) or fields.pop("place_zh", None)
    fields.pop("place_zh", None)
    step = {k: (int(v) if v.isdigit() else _OPS_FROM_ZH.get(v, v)) for k, v in fields.items()}
    if task != "logic":
        step["place"] = _PLACE_INDEX.get(place) if place else None
    return step


def step_is_right(task: str, step: dict) -> bool:
    """Whether a step's own arithmetic holds (its operands give its result), whatever the problem:
    the test a reader applies to one line, and the one a "wait" answers."""
    if task == "add":
        s = step["a"] + step["b"] + step["c"]
    elif task == "mul":
        if step["p"] != step["a"] * step["m"]:
            return False
        s = step["p"] + step["c"]
    else:
        x, y = step["x"] == "T", step["y"] == "T"
        s = {"and": x and y, "or": x or y, "xor": x != y}[step["op"]]
        return step["s"] == ("T" if s else "F")
    return step["s"] == s and step["d"] == s % 10 and step["carry"] == s // 10


@dataclass
class Reading:
    """A chain of thought read back. `steps` are the steps that stand: a step followed by a
    correction and its redo is replaced by the redo. `kinds` counts sentences by kind."""
    steps: list[dict] = field(default_factory=list)
    written: list[dict] = field(default_factory=list)  # every step as written; a corrected one has "right"
    kinds: Counter = field(default_factory=Counter)
    genuine_corrections: int = 0   # a wrong step, a "wait" naming its wrong value, the step redone right
    other_waits: int = 0           # a "wait" after a right step, or one that no redo follows
    template_checks: int = 0       # "Let me check ... Yes."
    conclusions: list[str] = field(default_factory=list)  # the answers the think's conclusions state


def read_reasoning(task: str, reasoning: str) -> Reading:
    """Parse a chain of thought sentence by sentence (see the module docstring for the kinds)."""
    reading, parts, i = Reading(), sentences(reasoning), 0
    while i < len(parts):
        sentence = parts[i]
        step = parse_step(task, sentence)
        if step is not None:
            reading.kinds["step"] += 1
            reading.steps.append(step)
            reading.written.append(step)
        elif sentence.startswith(CHECK_OPENINGS):
            reading.kinds["check"] += 1
            reading.template_checks += 1
            if i + 1 < len(parts) and parts[i + 1] in _CONFIRMATION:
                i += 1  # "Yes." belongs to the check
        elif sentence.startswith(_WAIT):
            reading.kinds["correction"] += 1
            after_a_step = i > 0 and parse_step(task, parts[i - 1]) is not None
            if not (after_a_step and _read_correction(task, sentence, parts[i + 1] if i + 1 < len(parts) else "", reading)):
                reading.other_waits += 1
        elif sentence in _CONFIRMATION:
            reading.kinds["check"] += 1  # a "Yes." with no check before it: nothing verified
        elif _SPELLED.match(sentence):
            reading.kinds["spelled"] += 1
        elif match := FINAL.match(sentence):
            reading.kinds["final"] += 1
            reading.conclusions.append(match["en"] or match["zh"])
        else:
            reading.kinds["other"] += 1
        i += 1
    return reading


def _read_correction(task: str, sentence: str, next_sentence: str, reading: Reading) -> bool:
    """A "wait" right after a step is a genuine correction when that step is wrong, it names its
    wrong value and the right one, and the next sentence redoes the same column with the right value.
    Then the wrong step is dropped from reading.steps (the redo will stand in its place)."""
    match = next((m for pattern in CORRECTION_PATTERNS if (m := pattern.fullmatch(sentence))), None)
    before, redo = (reading.steps[-1] if reading.steps else None), parse_step(task, next_sentence)
    if not (match and before and redo) or step_is_right(task, before) or not step_is_right(task, redo):
        return False
    same_column = all(before[k] == redo[k] for k in _OPERANDS[task])
    if not (same_column and _same_value(match["wrong"], before["s"]) and _same_value(match["right"], redo["s"])):
        return False
    reading.steps.pop()
    reading.written[-1] = dict(before, right=redo["s"])  # tasks.CORRECTION_TEXT's field for the right value
    reading.genuine_corrections += 1
    return True


def _same_value(text: str, value) -> bool:
    return text == str(value) or (text.isdigit() and isinstance(value, int) and int(text) == value)


def reads_in_order(problem: Problem, steps: list[dict]) -> bool:
    """The standing steps are the algorithm's in *structure*: one per column (or operator), in order,
    each column's place (where named) the right one. The values are not compared with the answer
    key: a reader can see a skipped or repeated column, not a wrong sum (that is the final answer's job)."""
    expected, _ = trace(problem)
    if len(steps) != len(expected):
        return False
    if problem.task == "logic":
        return all(got["op"] == want["op"] for got, want in zip(steps, expected))
    return all(got["place"] in (None, i) for i, got in enumerate(steps))


def works_the_algorithm(problem: Problem, steps: list[dict]) -> bool:
    """The steps are exactly the school algorithm's: every column (or operator) once, in order, each
    right by the answer key. Stricter than `reads_in_order`: step-level supervision, which the paper's
    filters did not have; the exercises and --sound-checks use it."""
    expected, _ = trace(problem)
    return len(steps) == len(expected) and all(
        all(want[key] == (str(value) if isinstance(want[key], str) else value)
            for key, value in got.items() if value is not None)
        for got, want in zip(steps, expected))


def stated_answers(completion: str, task: str) -> list[str]:
    """Every place the response states its answer: the think's conclusions, R1's summary (when it is
    a conclusion line) and the <answer> block, in that order, normalised as the verifier does."""
    stated = read_reasoning(task, reasoning_text(completion)).conclusions
    if match := FINAL.match(summary_text(completion)):
        stated.append(match["en"] or match["zh"])
    answer = extract_answer(completion)
    if answer is not None:
        stated.append(answer)
    return [normalize_answer(a) for a in stated]


def agreement(completion: str, task: str) -> float | None:
    """1.0 if every place that states the answer states the same one, 0.0 if two differ; None when
    it is stated once or not at all (nothing to agree with: a direct answer)."""
    stated = stated_answers(completion, task)
    return None if len(stated) < 2 else float(len(set(stated)) == 1)


def concludes_right(problem: Problem, reading: Reading) -> bool:
    """At least one conclusion, and every conclusion states the right answer."""
    return bool(reading.conclusions) and all(verify(c, problem.answer) for c in reading.conclusions)


def parse_reasoning(task: str, reasoning: str) -> tuple[list[dict], Counter]:
    """(the standing steps, the count of sentences by kind): the two things the filters read."""
    reading = read_reasoning(task, reasoning)
    return reading.steps, reading.kinds
