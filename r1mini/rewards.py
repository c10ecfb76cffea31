"""Rule-based rewards (DeepSeek-R1 §2.2.2 and §2.3.2).

R1-Zero is trained with two rewards only — *accuracy* (is the final answer right, by an exact rule)
and *format* (is the reasoning inside <think>…</think>, followed by <answer>…</answer>). R1 adds a
*language-consistency* reward: the share of reasoning words in the target language. There is no
neural reward model: the paper avoids it because a policy learns to hack it.

A policy probes every loophole of its reward, so the parsing is strict and lives in one place,
`extract_answer`. Read it first; the three rewards follow.
"""
from __future__ import annotations

import re

from r1mini.tasks import verify

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
END_OF_TEXT = "<|endoftext|>"

_FORMAT = re.compile(r"\s*<think>(?P<think>.*?)</think>\s*<answer>(?P<answer>.*?)</answer>\s*", re.DOTALL)
_ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")      # single letters are logic values (T/F), not words
_CHINESE_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")  # a run of Han characters ~ one word


def _strip_end(completion: str) -> str | None:
    """The completion without its final end-of-text token; None if an end token sits elsewhere."""
    text = completion.rstrip()
    if text.endswith(END_OF_TEXT):
        text = text[: -len(END_OF_TEXT)].rstrip()
    return None if END_OF_TEXT in text else text


def extract_answer(completion: str) -> str | None:
    """The content of the single <answer> block that ends the completion, or None.

    None when: no block or several, text after </answer>, a truncated block, the block inside an
    unclosed <think>, or think tags inside the answer."""
    text = _strip_end(completion)
    if text is None or text.count(ANSWER_OPEN) != 1 or text.count(ANSWER_CLOSE) != 1:
        return None
    if not text.endswith(ANSWER_CLOSE):
        return None
    start = text.index(ANSWER_OPEN)
    before, content = text[:start], text[start + len(ANSWER_OPEN): -len(ANSWER_CLOSE)]
    if THINK_OPEN in content or THINK_CLOSE in content:
        return None
    if (before.count(THINK_OPEN) != before.count(THINK_CLOSE)  # answer inside an open <think>
            or before.rfind(THINK_OPEN) > before.rfind(THINK_CLOSE)):  # ... also after a stray </think>
        return None
    return content


def accuracy_reward(completion: str, answer: str) -> float:
    """1.0 iff the single final answer block passes the task's exact verifier."""
    content = extract_answer(completion)
    return float(content is not None and verify(content, answer))


def format_reward(completion: str) -> float:
    """1.0 iff the completion is `<think> non-empty </think> <answer> non-empty </answer>`, each tag
    exactly once, with nothing but whitespace (and the end token) around it."""
    text = _strip_end(completion)
    if text is None or any(text.count(tag) != 1 for tag in (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)):
        return 0.0
    match = _FORMAT.fullmatch(text)
    return float(bool(match and match["think"].strip() and match["answer"].strip()))


def reasoning_text(completion: str) -> str:
    """The chain of thought: the <think> content, or everything before <answer> if untagged."""
    start = completion.find(THINK_OPEN)
    start = 0 if start < 0 else start + len(THINK_OPEN)
    end = completion.find(THINK_CLOSE, start)
    if end < 0:
        end = completion.find(ANSWER_OPEN, start)
    return completion[start:] if end < 0 else completion[start:end]


def language_word_counts(text: str) -> dict[str, int]:
    return {"en": len(_ENGLISH_WORD.findall(text)), "zh": len(_CHINESE_WORD.findall(text))}


def language_consistency(completion: str, target: str = "en") -> float:
    """Share of the reasoning's words that are in the `target` language (R1 §2.3.2).
    Reasoning with no words at all (only digits and symbols) counts as consistent."""
    counts = language_word_counts(reasoning_text(completion))
    if target not in counts:
        raise ValueError(f"unknown language {target!r}; choose from {sorted(counts)}")
    total = sum(counts.values())
    return 1.0 if total == 0 else counts[target] / total


def r1_zero_rewards(completion: str, problem) -> dict[str, float]:
    """R1-Zero's reward: accuracy + format, nothing else (R1 §2.2.2)."""
    return {"accuracy": accuracy_reward(completion, problem.answer), "format": format_reward(completion)}
