"""Reward tests. The reward is what RL optimises, so it is tested like an attack surface: a suite of
adversarial completions that must all earn accuracy 0, next to the honest completions that earn 1."""
import random

import pytest

from r1mini.corpus import render_completion
from r1mini.rewards import (accuracy_reward, extract_answer, format_reward, language_consistency,
                            language_word_counts, r1_zero_rewards, reasoning_text)
from r1mini.tasks import Problem, generate_problem, normalize_answer, verify, write_solution

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
    # Windows line endings are tolerated everywhere whitespace is
    f"<think>{THINK}</think>\r\n<answer>1067\r\n</answer>\r\n",
    f"<think>{THINK}</think><answer>1067\r</answer>{EOT}\r\n",
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
    "ideographic space around": f"<think>{THINK}</think> <answer>\u30001067\u3000</answer>",
    "ideographic space after": f"<think>{THINK}</think> <answer>1067\u3000</answer>",
    "next line (U+0085) after": f"<think>{THINK}</think> <answer>1067\x85</answer>",
    "line separator after": f"<think>{THINK}</think> <answer>1067\u2028</answer>",
    "file separator after": f"<think>{THINK}</think> <answer>1067\x1c</answer>",
    "byte-order mark before": f"<think>{THINK}</think> <answer>\ufeff1067</answer>",
    "ideographic space after the block": f"<think>{THINK}</think> <answer>1067</answer>\u3000",
    "line separator after the end token": f"<think>{THINK}</think> <answer>1067</answer>{EOT}\u2028",
    "ideographic space before the end token": f"<think>{THINK}</think> <answer>1067</answer>\u3000{EOT}",
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


@pytest.mark.parametrize("text, right", [
    ("46", True), (" 46 ", True), ("46\r", True), ("46\r\n", True), ("\t46\n", True), ("\r\n46\r\n", True),
    ("46\u3000", False), ("\u300046", False), ("46\u00a0", False), ("46\x85", False), ("46\u2028", False),
    ("46\x1c", False), ("46\u200b", False), ("\ufeff46", False), ("4 6", False), ("46\r4", False),
])
def test_verify_normalizes_only_space_tab_and_line_endings(text, right):
    assert verify(text, "46") is right
    assert (normalize_answer(text) == "46") is right
    # the reward and the vote both go through normalize_answer, so they agree on every case
    assert accuracy_reward(f"<think>{THINK}</think> <answer>{text}</answer>", "46") == float(right)


def test_normalize_answer_strips_only_the_ends():
    assert normalize_answer(" \t\r\n46\r\n\t ") == "46"
    assert normalize_answer("\u300046\u3000") == "\u300046\u3000"
    assert normalize_answer("T and\r\nF") == "T and\r\nF"
    assert normalize_answer(" \r\n ") == ""


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
    # a think (or answer) that is empty to a reader: no letter or digit in it
    "zero-width space think": "<think>\u200b</think> <answer>1067</answer>",
    "byte-order mark think": "<think>\ufeff</think> <answer>1067</answer>",
    "period think": "<think>.</think> <answer>1067</answer>",
    "spaced period think": "<think> . </think> <answer>1067</answer>",
    "punctuation think": "<think> ...!?，。 </think> <answer>1067</answer>",
    "ideographic space think": "<think>\u3000</think> <answer>1067</answer>",
    "zero-width joiner and no-break space think": "<think>\u200d\u00a0\u2060</think> <answer>1067</answer>",
    "zero-width space answer": f"<think>{THINK}</think> <answer>\u200b</answer>",
    "period answer": f"<think>{THINK}</think> <answer>.</answer>",
    # only space, tab and newline (and \r of \r\n) count as whitespace around the tags
    "ideographic space before think": f"\u3000<think>{THINK}</think> <answer>1067</answer>",
    "ideographic space between": f"<think>{THINK}</think>\u3000<answer>1067</answer>",
    "ideographic space after answer": f"<think>{THINK}</think> <answer>1067</answer>\u3000",
    "ideographic space after end token": f"<think>{THINK}</think> <answer>1067</answer>{EOT}\u3000",
    "ideographic space before end token": f"<think>{THINK}</think> <answer>1067</answer>\u3000{EOT}",
    "file separator between": f"<think>{THINK}</think>\x1c<answer>1067</answer>",
    "unit separator between": f"<think>{THINK}</think>\x1f<answer>1067</answer>",
    "group separator after": f"<think>{THINK}</think> <answer>1067</answer>\x1d",
    "record separator before": f"\x1e<think>{THINK}</think> <answer>1067</answer>",
    "next line (U+0085) between": f"<think>{THINK}</think>\x85<answer>1067</answer>",
    "line separator between": f"<think>{THINK}</think>\u2028<answer>1067</answer>",
    "paragraph separator after": f"<think>{THINK}</think> <answer>1067</answer>\u2029",
    "no-break space between": f"<think>{THINK}</think>\u00a0<answer>1067</answer>",
    "vertical tab between": f"<think>{THINK}</think>\x0b<answer>1067</answer>",
    "form feed between": f"<think>{THINK}</think>\x0c<answer>1067</answer>",
}


@pytest.mark.parametrize("name", list(FORMAT_BAD))
def test_format_rejects(name):
    assert format_reward(FORMAT_BAD[name]) == 0.0, name


def test_format_does_not_check_correctness():
    assert format_reward(f"<think>{THINK}</think> <answer>1066</answer>") == 1.0


@pytest.mark.parametrize("think", ["T", "7", "x", "进", "T and F", "8+9=17", "\u200b7\u200b", "Ж"])
def test_format_accepts_any_think_with_a_letter_or_digit(think):
    assert format_reward(f"<think>{think}</think> <answer>1067</answer>") == 1.0


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
    # exact share: 3 English words ("add", "the", "units") vs 8 Han characters (one word each)
    assert language_consistency(wrap("add the units 先加个位，写七进一")) == pytest.approx(3 / 11)
    assert language_consistency(wrap("add the units 先加个位，写七进一"), "zh") == pytest.approx(8 / 11)


def test_language_consistency_digits_symbols_and_single_letters():
    # no words at all is no evidence of either language: 0, not a free 1 for writing no words
    assert language_consistency(wrap("8+9+0=17, 4+1+1=6, 3+7+0=10")) == 0.0
    assert language_consistency(wrap("8+9+0=17"), "zh") == 0.0
    # T and F are logic values, not English words: a Chinese logic trace stays fully Chinese
    logic_zh = "T 与 F 得 F。 F 或 T 得 T。"
    assert language_consistency(wrap(logic_zh), "zh") == 1.0
    assert language_consistency(wrap("T F T F 得"), "zh") == 1.0


# (reasoning, {"en": share, "zh": share}): the language-consistency reward's attack surface
LANGUAGE_CASES = {
    "pure English": ("add the units and carry one", {"en": 1.0, "zh": 0.0}),
    "pure Chinese": ("先加个位，写七进一", {"en": 0.0, "zh": 1.0}),
    "mixed": ("carry one 进一", {"en": 2 / 4, "zh": 2 / 4}),
    "no reasoning": ("", {"en": 0.0, "zh": 0.0}),
    "whitespace only": (" \n\u3000 ", {"en": 0.0, "zh": 0.0}),
    "digits only": ("8+9+0=17", {"en": 0.0, "zh": 0.0}),
    "symbols and logic values only": ("(T and F) -> F; T|F", {"en": 1 / 1, "zh": 0.0}),
    "single letters only": ("T F T x y", {"en": 0.0, "zh": 0.0}),
    "Russian with one English word": ("Сначала сложим единицы и перенос one", {"en": 1 / 6, "zh": 0.0}),
    "Russian only": ("сложим единицы", {"en": 0.0, "zh": 0.0}),
    "Greek with one English word": ("πρώτα τις μονάδες carry", {"en": 1 / 4, "zh": 0.0}),
    "kana with one English word": ("これはテストです carry", {"en": 1 / 9, "zh": 0.0}),
    "halfwidth katakana with one English word": ("ｶﾀｶﾅ carry", {"en": 1 / 5, "zh": 0.0}),
    "Japanese kanji and kana": ("位を足す", {"en": 0.0, "zh": 2 / 4}),
    "Hangul with one English word": ("먼저 일의 자리를 carry", {"en": 1 / 4, "zh": 0.0}),
    "fullwidth Latin is not English": ("ｃａｒｒｙ ｏｎｅ", {"en": 0.0, "zh": 0.0}),
    "accented Latin is not English": ("café naïve", {"en": 0.0, "zh": 0.0}),
    "extension B ideographs": ("\U00020000\U0002a6d6 一", {"en": 0.0, "zh": 1.0}),
    "extension B ideographs with one English word": ("\U00020000\U00020001\U00020002 aa", {"en": 1 / 4, "zh": 3 / 4}),
    "extension G ideographs": ("\U00030000\U00030001 aa", {"en": 1 / 3, "zh": 2 / 3}),
    "compatibility ideographs": ("\uf900\ufa0e\ufad9 aa", {"en": 1 / 4, "zh": 3 / 4}),
    "ideographic zero": ("一〇〇", {"en": 0.0, "zh": 1.0}),
    "Chinese padded with aa": ("先加个位 aa aa", {"en": 2 / 6, "zh": 4 / 6}),
    "Chinese padded with glued aa": ("先加个位aa", {"en": 1 / 5, "zh": 4 / 5}),
}


@pytest.mark.parametrize("name", list(LANGUAGE_CASES))
def test_language_consistency_cases(name):
    reasoning, shares = LANGUAGE_CASES[name]
    for target, share in shares.items():
        assert language_consistency(wrap(reasoning), target) == pytest.approx(share), (name, target)


def test_language_word_counts_keys_and_units():
    assert language_word_counts("carry one 进一 сложим これ") == {"en": 2, "zh": 2, "other": 3}
    assert language_word_counts("") == {"en": 0, "zh": 0, "other": 0}


@pytest.mark.parametrize("base, target", [("先加个位，写七进一。", "zh"), ("add the units, carry one.", "en"),
                                          ("加 units 进", "zh"), ("加 units 进", "en")])
def test_only_target_language_filler_raises_the_share(base, target):
    """Appending filler of the other language (or another script) can only lower the target's share;
    only target-language filler raises it. With a Han *run* as one word, "aa" padding would outweigh
    a whole Chinese sentence."""
    fillers = {"en": " aa", "zh": "进", "other": " да"}
    share = language_consistency(wrap(base), target)
    for name, filler in fillers.items():
        padded = [language_consistency(wrap(base + filler * n), target) for n in range(1, 12)]
        for before, after in zip([share] + padded, padded):
            if name != target:
                assert after < before, name
            else:  # strictly up, until the reasoning is all in the target language
                assert after > before or before == after == 1.0, name


def test_language_consistency_reads_only_the_reasoning():
    completion = "<think>先加个位</think> <answer>the answer is words</answer>"
    assert reasoning_text(completion) == "先加个位"
    assert language_consistency(completion, "zh") == 1.0
    # no <think>: everything before <answer> is the reasoning
    assert language_consistency("add the units <answer>先加个位</answer>") == 1.0
    assert language_consistency("先加个位 <answer>add the units</answer>") == 0.0


def test_special_tokens_are_not_words_of_the_reasoning():
    """A think that never closed runs to the decoded end-of-text (or padding): "endoftext" is no
    English word, so a Chinese answer that ran out stays entirely Chinese."""
    assert language_word_counts(reasoning_text("<think>先加个位<|endoftext|>")) == {"en": 0, "zh": 4, "other": 0}
    assert language_consistency("<think>先加个位<|pad|><|pad|>", "zh") == 1.0
    assert language_consistency("<think><|endoftext|>", "en") == 0.0  # no words at all
    assert reasoning_text("<think>add<|endoftext|>the units</think>").split() == ["add", "the", "units"]


def test_language_consistency_unknown_target_raises():
    with pytest.raises(ValueError):
        language_consistency(wrap("hello there"), "fr")


def test_r1_zero_rewards_has_exactly_accuracy_and_format():
    rewards = r1_zero_rewards(GOOD + EOT, PROBLEM)
    assert rewards == {"accuracy": 1.0, "format": 1.0}
    assert r1_zero_rewards(f"<think>{THINK}</think> 1067", PROBLEM) == {"accuracy": 0.0, "format": 0.0}
    assert r1_zero_rewards("<think></think> <answer>1067</answer>", PROBLEM) == {"accuracy": 1.0, "format": 0.0}


def test_r1_zero_language_ablation_adds_the_question_language_term_on_reasoning_questions():
    zh = Problem("add", 3, "348+719", "1067", phrasing="zh")
    english = render_completion("8 plus 9 is 17, write 7 carry 1.", "1067")
    assert r1_zero_rewards(english, PROBLEM, language=True) == {"accuracy": 1.0, "format": 1.0, "language": 1.0}
    assert r1_zero_rewards(english, zh, language=True) == {"accuracy": 1.0, "format": 1.0, "language": 0.0}
    assert r1_zero_rewards(english, zh) == {"accuracy": 1.0, "format": 1.0}  # off by default: R1-Zero has none
    trivial = Problem("add", 1, "7+8", "15", phrasing="zh")
    assert r1_zero_rewards(render_completion("7+8 is 15.", "15"), trivial, language=True) == {"accuracy": 1.0, "format": 1.0}


@pytest.mark.parametrize("think, accepted", [("", True), ("  \n\t", True), ("\u200b", False), (".", False), ("7+8=15.", True)])
def test_an_empty_think_passes_only_where_r1_allows_it(think, accepted):
    completion = f"<think> {think} </think> <answer>15</answer>"
    assert format_reward(completion, summary=True, empty_think=True) == float(accepted)
    assert format_reward(completion) == float(bool(think.strip()) and accepted)  # R1-Zero's template wants a think
