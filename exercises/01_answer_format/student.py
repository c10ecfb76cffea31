"""Exercise 01: answer extraction and the format reward (R1 §2.2.2). Write the bodies; keep the signatures."""
from __future__ import annotations

import re

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
END_OF_TEXT = "<|endoftext|>"
SPACE = " \t\r\n"  # the only whitespace allowed around tags and the final end token (not str.isspace: see README)


def extract_answer(completion: str) -> str | None:
    """The content of the single <answer> block that ends the completion, or None.

    None when: no block or several, text after </answer>, a truncated block, the block inside an
    unclosed <think>, or think tags inside the answer."""
    raise NotImplementedError("exercise 01: write extract_answer (see exercises/01_answer_format/README.md)")


def format_reward(completion: str, summary: bool = False, empty_think: bool = False) -> float:
    """1.0 iff the completion is `<think> content </think> <answer> content </answer>`, each tag
    exactly once, with nothing but spaces, tabs, newlines, carriage returns (and the end token)
    around it. Content means at least one letter or digit, see `_has_content`.

    summary=True is R1's readable format (R1 v1 §2.3.1, "|special_token|<reasoning>|special_token|
    <summary>"): a summary for the reader between </think> and <answer> is then allowed (not
    required: a trivial question needs none). empty_think=True also accepts an empty think: R1's
    answer to a trivial question (the paper's "hello" gets no chain of thought)."""
    raise NotImplementedError("exercise 01: write format_reward (see exercises/01_answer_format/README.md)")
