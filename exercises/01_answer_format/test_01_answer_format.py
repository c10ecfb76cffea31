"""Tests for exercise 01. They reach the functions only through `impl` (see exercises/conftest.py).

A policy probes every loophole of its reward: each adversarial completion below was (or could be)
found by RL, and must get no answer and no format reward."""
import random

import pytest

from exercises.framework import load

REFERENCE = load("01_answer_format").reference
EOT = "<|endoftext|>"
GOOD = "<think>7 plus 5 is 12.</think><answer>12</answer>"

# (completion, what is wrong with it)
ADVERSARIAL = [
    ("<think>x</think><answer>1</answer><answer>2</answer>", "two answer blocks"),
    ("<think>x</think><answer>12</answer> and also 13", "text after </answer>"),
    ("<think>x</think><answer>12", "a truncated answer block"),
    ("<think>x is <answer>12</answer>", "the answer inside an unclosed think"),
    ("<think>x</think><answer><think>12</think></answer>", "think tags inside the answer"),
    ("<think>x</think>" + EOT + "<answer>12</answer>", "an end-of-text token in the middle"),
    ("<think>a</think></think><answer>1</answer>", "a stray </think>"),
    ("<think>a</think><think>b<answer>1</answer>", "a second, unclosed think"),
    ("Sure! <think>x</think><answer>12</answer>", "text before <think>"),
    ("\x1c<think>x</think><answer>12</answer>", "an invisible separator (\\x1c) before <think>"),
    ("<think>x</think><answer>12</answer>\u3000", "an ideographic space after </answer>"),
    ("<think></think><answer>12</answer>", "an empty think"),
    ("<think>\u200b</think><answer>12</answer>", "a think holding only a zero-width space"),
    ("<think>.</think><answer>12</answer>", "a think holding only a dot"),
    ("<think>x</think><answer> </answer>", "an empty answer"),
    ("<think>x</think> So it is 12. <answer>12</answer>", "a summary between </think> and <answer> (R1-Zero's template has none)"),
    ("<answer>12</answer>", "no think at all"),
    ("<think>x</think><answer>1<answer>2</answer></answer>", "nested answer tags"),
]


def test_a_good_completion(impl):
    for text in (GOOD, GOOD + EOT, "\n " + GOOD + "\r\n" + EOT + "\n"):
        assert impl.extract_answer(text) == "12", repr(text)
        assert impl.format_reward(text) == 1.0, f"format 1.0 expected for {text!r}"
    assert impl.extract_answer("<think>x</think><answer> 12 \n</answer>") == " 12 \n", "return the content unstripped"


@pytest.mark.parametrize("text, why", ADVERSARIAL, ids=[why for _, why in ADVERSARIAL])
def test_adversarial_completions_score_zero(impl, text, why):
    assert impl.format_reward(text) == 0.0, f"format reward 0 expected: {why}"
    assert impl.extract_answer(text) == REFERENCE.extract_answer(text), \
        f"extract_answer({text!r}) should be {REFERENCE.extract_answer(text)!r} ({why})"
    assert impl.format_reward(GOOD) == 1.0


def test_summary_and_empty_think_options(impl):
    summary = "<think>7 plus 5 is 12.</think>\nThe sum is 12.\n<answer>12</answer>"
    assert impl.format_reward(summary) == 0.0 and impl.format_reward(summary, summary=True) == 1.0
    empty = "<think> </think><answer>12</answer>"
    assert impl.format_reward(empty) == 0.0 and impl.format_reward(empty, empty_think=True) == 1.0
    assert impl.format_reward("<think>\u200b</think><answer>12</answer>", empty_think=True) == 0.0, \
        "empty_think accepts an empty think, not an invisible one"
    assert impl.extract_answer(summary) == "12"


def test_matches_the_reference_on_random_tag_soup(impl):
    """2000 random strings of tags, words, spaces and end tokens; each function must agree with the reference."""
    pieces = ["<think>", "</think>", "<answer>", "</answer>", "12", "x", " ", "\n", EOT, "\u200b", ".", "\x1c"]
    rng = random.Random(0)
    texts = [GOOD] + ["".join(rng.choice(pieces) for _ in range(rng.randint(2, 9))) for _ in range(1000)]
    texts += ["<think>" + rng.choice(["x", "", " ", ".", "12"]) + "</think>" + rng.choice(["", " ", "so", "\n"]) +
              "<answer>" + rng.choice(["12", "", " ", "x y"]) + "</answer>" + rng.choice(["", EOT, " " + EOT, "x", "\u3000"])
              for _ in range(1000)]
    for text in texts:
        assert impl.extract_answer(text) == REFERENCE.extract_answer(text), f"extract_answer({text!r})"
        for summary in (False, True):
            for empty_think in (False, True):
                assert impl.format_reward(text, summary, empty_think) == REFERENCE.format_reward(text, summary, empty_think), \
                    f"format_reward({text!r}, summary={summary}, empty_think={empty_think})"
