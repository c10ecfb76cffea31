"""Reward tests. The reward is what RL optimises, so it is tested like an attack surface: a suite of
adversarial completions that must all earn accuracy 0, next to the honest completions that earn 1."""
import random

import pytest

from r1mini.corpus import render_completion
from r1mini.rewards import (accuracy_reward, extract_answer, format_reward, language_consistency,
                            r1_zero_rewards, reasoning_text)
from r1mini.tasks import Problem, generate_problem, write_solution

PROBLEM = Problem("add", 3, "348+719", "1067")
ANSWER = PROBLEM.answer
EOT = "<|endoftext|>"
THINK = "8+9+0=17, write 7 carry 1. 4+1+1=6, write 6 carry 0. 3+7+0=10, write 0 carry 1. So the answer is 1067."
GOOD = f" <think> {THINK} </think> <answer>1067</answer>"

POSITIVE = [
    GOOD,
    GOOD + EOT,
    GOOD + EOT + "\n",
    GOOD + "\n\n",
    GOOD + " " + EOT,
    f"<think>{THINK}</think><answer>1067</answer>",
    f"<think>{THINK}</think>\n<answer> 1067 </answer>{EOT}",
    f"<think>{THINK}</think><answer>\n1067\n</answer>",
]

ADVERSARIAL = {
    # several answer blocks: the policy must commit to one answer
    "two blocks, same": f"<think>{THINK}</think> <answer>1067</answer> <answer>1067</answer>",
    "two blocks, wrong then right": f"<think>{THINK}</think> <answer>1066</answer> <answer>1067</answer>",
    "two blocks, right then wrong": f"<think>{THINK}</think> <answer>1067</answer> <answer>1066</answer>",
    "two blocks, empty then right": f"<think>{THINK}</think> <answer></answer><answer>1067</answer>",
    # the answer is not in the final answer block
    "answer outside the tags": f"<think>{THINK}</think> 1067",
    "answer after an empty block": f"<think>{THINK}</think> <answer></answer> 1067",
    "answer only inside think": f"<think>{THINK} <answer>1067</answer></think>",
    "answer block inside unclosed think": f"<think>{THINK} <answer>1067</answer>",
    "answer block inside think, think closed late": f"<think> <answer>1067</answer> </think>{EOT}",
    "answer block in a think opened after a stray close": f"<think>{THINK}</think></think><think> <answer>1067</answer>",
    "answer block in a think opened after a close": f"</think><think> <answer>1067</answer>",
    "end token inside think": f"<think>{THINK}{EOT}</think> <answer>1067</answer>",
    "no tags at all": "1067",
    "no tags, end token": "1067" + EOT,
    "nested answer tags": f"<think>{THINK}</think> <answer><answer>1067</answer></answer>",
    "repeated opening tag": f"<think>{THINK}</think> <answer><answer>1067</answer>",
    "missing opening tag": f"<think>{THINK}</think> 1067</answer>",
    "truncated: no closing tag": f"<think>{THINK}</think> <answer>1067",
    "truncated mid-tag": f"<think>{THINK}</think> <answer>1067</ans",
    "uppercase tags": f"<think>{THINK}</think> <ANSWER>1067</ANSWER>",
    "mixed-case tags": f"<think>{THINK}</think> <Answer>1067</Answer>",
    "spaced tags": f"<think>{THINK}</think> < answer >1067</ answer >",
    "think tags inside the answer": f"<think>{THINK}</think> <answer><think>1067</think></answer>",
    "think open inside the answer": f"<think>{THINK}</think> <answer>1067<think></answer>",
    # text after the answer block or around the end token
    "trailing text": f"<think>{THINK}</think> <answer>1067</answer> because I said so",
    "trailing text after end token": f"<think>{THINK}</think> <answer>1067</answer>{EOT} more text",
    "second answer after end token": f"<think>{THINK}</think> <answer>1066</answer>{EOT}<answer>1067</answer>",
    "end token inside the answer": f"<think>{THINK}</think> <answer>1067{EOT}</answer>",
    "two end tokens": f"<think>{THINK}</think> <answer>1067</answer>{EOT}{EOT}",
    # the question echoed
    "question echoed": f"<think>{THINK}</think> <answer>348+719</answer>",
    "question echoed with result": f"<think>{THINK}</think> <answer>348+719=1067</answer>",
    "first operand": f"<think>{THINK}</think> <answer>348</answer>",
    "second operand": f"<think>{THINK}</think> <answer>719</answer>",
    # number formats that are not the canonical answer
    "unicode fullwidth digits": f"<think>{THINK}</think> <answer>１０６７</answer>",
    "unicode arabic-indic digits": f"<think>{THINK}</think> <answer>١٠٦٧</answer>",
    "leading zero": f"<think>{THINK}</think> <answer>01067</answer>",
    "plus sign": f"<think>{THINK}</think> <answer>+1067</answer>",
    "decimal": f"<think>{THINK}</think> <answer>1067.0</answer>",
    "thousands separator": f"<think>{THINK}</think> <answer>1,067</answer>",
    "space inside": f"<think>{THINK}</think> <answer>10 67</answer>",
    "newline inside": f"<think>{THINK}</think> <answer>10\n67</answer>",
    "no-break space around": f"<think>{THINK}</think> <answer>\u00a01067\u00a0</answer>",
    "zero-width space": f"<think>{THINK}</think> <answer>\u200b1067</answer>",
    "exponent": f"<think>{THINK}</think> <answer>1.067e3</answer>",
    "enormous number": f"<think>{THINK}</think> <answer>{'9' * 5000}</answer>",
    "enormous number ending in the answer": f"<think>{THINK}</think> <answer>{'9' * 500}1067</answer>",
    "all digits": f"<think>{THINK}</think> <answer>0123456789</answer>",
    "correct number plus another": f"<think>{THINK}</think> <answer>1067 1066</answer>",
    "another number plus correct": f"<think>{THINK}</think> <answer>1066 or 1067</answer>",
    "answer with words": f"<think>{THINK}</think> <answer>The answer is 1067</answer>",
    "answer with a period": f"<think>{THINK}</think> <answer>1067.</answer>",
    "boxed": f"<think>{THINK}</think> <answer>\\boxed{{1067}}</answer>",
    "negative": f"<think>{THINK}</think> <answer>-1067</answer>",
    "empty answer": f"<think>{THINK}</think> <answer></answer>",
    "whitespace answer": f"<think>{THINK}</think> <answer>  \n</answer>",
    "wrong answer": f"<think>{THINK}</think> <answer>1066</answer>",
    "empty completion": "",
    "only end token": EOT,
}


def test_suite_is_big_and_distinct():
    assert len(set(ADVERSARIAL.values())) == len(ADVERSARIAL) >= 30


@pytest.mark.parametrize("completion", POSITIVE)
def test_honest_answers_earn_one(completion):
    assert accuracy_reward(completion, ANSWER) == 1.0


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_completions_earn_zero(name):
    completion = ADVERSARIAL[name]
    assert accuracy_reward(completion, ANSWER) == 0.0, name
    assert r1_zero_rewards(completion, PROBLEM)["accuracy"] == 0.0


def test_logic_answers_are_exact():
    good = "<think> T and F is F. F or T is T. </think> <answer>T</answer>" + EOT
    assert accuracy_reward(good, "T") == 1.0
    for bad in ("t", "true", "True", "T F", "TT", "1", "F", "T."):
        assert accuracy_reward(good.replace("<answer>T<", f"<answer>{bad}<"), "T") == 0.0, bad


def test_extract_answer():
    assert extract_answer(GOOD + EOT) == "1067"
    assert extract_answer(f"<think>{THINK}</think><answer> 1067 </answer>") == " 1067 "
    assert extract_answer(ADVERSARIAL["two blocks, same"]) is None
    assert extract_answer(ADVERSARIAL["trailing text"]) is None
    # think tags in the answer would fail `verify` anyway; extract_answer (used for majority votes)
    # refuses them itself
    assert extract_answer(ADVERSARIAL["think tags inside the answer"]) is None
    assert extract_answer(ADVERSARIAL["think open inside the answer"]) is None
    assert extract_answer(ADVERSARIAL["answer block in a think opened after a close"]) is None
    assert extract_answer(ADVERSARIAL["truncated: no closing tag"]) is None


# ---------------------------------------------------------------- the corpus and the rewards agree

@pytest.mark.parametrize("task", ["add", "mul", "logic"])
@pytest.mark.parametrize("languages", [("en",), ("zh",), ("en", "zh")])
def test_corpus_rendering_earns_full_reward(task, languages, tokenizer):
    rng = random.Random(f"corpus-{task}-{languages}")
    for level in (2, 4):
        problem = generate_problem(rng, task, level)
        reasoning, answer = write_solution(problem, rng, languages)
        completion = render_completion(reasoning, answer)
        # exactly what the model would emit and the rollout would decode
        decoded = tokenizer.decode(tokenizer.encode(completion))
        for text in (completion, decoded):
            assert accuracy_reward(text, problem.answer) == 1.0
            assert format_reward(text) == 1.0
            assert r1_zero_rewards(text, problem) == {"accuracy": 1.0, "format": 1.0}
        consistency = language_consistency(completion, "en")
        if languages == ("en",):
            assert consistency == 1.0
        if languages == ("zh",):
            assert language_consistency(completion, "zh") == 1.0 and consistency == 0.0


def test_corpus_rendering_of_a_wrong_answer_earns_format_only():
    rng = random.Random(0)
    problem = generate_problem(rng, "add", 4)
    reasoning, answer = write_solution(problem, rng, ("en",), slip=True)
    completion = render_completion(reasoning, answer)
    assert answer != problem.answer
    assert r1_zero_rewards(completion, problem) == {"accuracy": 0.0, "format": 1.0}


# ---------------------------------------------------------------- format

@pytest.mark.parametrize("completion", POSITIVE)
def test_format_accepts_the_template(completion):
    assert format_reward(completion) == 1.0


FORMAT_BAD = {
    "empty think": "<think></think> <answer>1067</answer>",
    "whitespace think": "<think> \n </think> <answer>1067</answer>",
    "missing think": "<answer>1067</answer>",
    "missing think close": f"<think>{THINK} <answer>1067</answer>",
    "missing think open": f"{THINK}</think> <answer>1067</answer>",
    "answer before think": f"<answer>1067</answer> <think>{THINK}</think>",
    "answer inside think": f"<think>{THINK} <answer>1067</answer></think>",
    "duplicated think": f"<think>{THINK}</think> <think>{THINK}</think> <answer>1067</answer>",
    "duplicated answer": f"<think>{THINK}</think> <answer>1067</answer> <answer>1067</answer>",
    "duplicated think open": f"<think><think>{THINK}</think> <answer>1067</answer>",
    "text before think": f"Sure! <think>{THINK}</think> <answer>1067</answer>",
    "text between": f"<think>{THINK}</think> so <answer>1067</answer>",
    "trailing text": f"<think>{THINK}</think> <answer>1067</answer> done",
    "trailing text after end token": f"<think>{THINK}</think> <answer>1067</answer>{EOT} done",
    "empty answer": f"<think>{THINK}</think> <answer></answer>",
    "whitespace answer": f"<think>{THINK}</think> <answer> </answer>",
    "no answer": f"<think>{THINK}</think>",
    "truncated": f"<think>{THINK}</think> <answer>1067",
    "uppercase": f"<THINK>{THINK}</THINK> <ANSWER>1067</ANSWER>",
    "empty": "",
}


@pytest.mark.parametrize("name", list(FORMAT_BAD))
def test_format_rejects(name):
    assert format_reward(FORMAT_BAD[name]) == 0.0, name


def test_format_does_not_check_correctness():
    assert format_reward(f"<think>{THINK}</think> <answer>1066</answer>") == 1.0


# ---------------------------------------------------------------- language consistency

def wrap(reasoning: str) -> str:
    return f"<think>{reasoning}</think> <answer>1067</answer>"


def test_language_consistency_pure_and_mixed():
    english = "First add the units, write seven and carry one."
    chinese = "先加个位，写七进一。"
    assert language_consistency(wrap(english)) == 1.0
    assert language_consistency(wrap(chinese)) == 0.0
    assert language_consistency(wrap(chinese), "zh") == 1.0
    assert language_consistency(wrap(english), "zh") == 0.0
    mixed = language_consistency(wrap(english + " " + chinese))
    assert 0.0 < mixed < 1.0
    # exact share: 3 English words ("add", "the", "units") vs Han runs 先加个位 and 写七进一 (2 "words")
    assert language_consistency(wrap("add the units 先加个位，写七进一")) == pytest.approx(3 / 5)
    assert language_consistency(wrap("add the units 先加个位，写七进一"), "zh") == pytest.approx(2 / 5)


def test_language_consistency_digits_symbols_and_single_letters():
    assert language_consistency(wrap("8+9+0=17, 4+1+1=6, 3+7+0=10")) == 1.0
    assert language_consistency(wrap("8+9+0=17"), "zh") == 1.0  # no words at all: consistent
    # T and F are logic values, not English words: a Chinese logic trace stays fully Chinese
    logic_zh = "T 与 F 得 F。 F 或 T 得 T。"
    assert language_consistency(wrap(logic_zh), "zh") == 1.0
    assert language_consistency(wrap("T F T F 得"), "zh") == 1.0


def test_language_consistency_reads_only_the_reasoning():
    completion = "<think>先加个位</think> <answer>the answer is words</answer>"
    assert reasoning_text(completion) == "先加个位"
    assert language_consistency(completion, "zh") == 1.0
    # no <think>: everything before <answer> is the reasoning
    assert language_consistency("add the units <answer>先加个位</answer>") == 1.0
    assert language_consistency("先加个位 <answer>add the units</answer>") == 0.0


def test_language_consistency_unknown_target_raises():
    with pytest.raises(ValueError):
        language_consistency(wrap("hello there"), "fr")


def test_r1_zero_rewards_has_exactly_accuracy_and_format():
    rewards = r1_zero_rewards(GOOD + EOT, PROBLEM)
    assert rewards == {"accuracy": 1.0, "format": 1.0}
    assert r1_zero_rewards(f"<think>{THINK}</think> 1067", PROBLEM) == {"accuracy": 0.0, "format": 0.0}
    assert r1_zero_rewards("<think></think> <answer>1067</answer>", PROBLEM) == {"accuracy": 1.0, "format": 0.0}
