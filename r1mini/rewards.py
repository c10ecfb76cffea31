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

from r1mini.tasks import TRIVIAL_LEVEL, verify

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
END_OF_TEXT, PAD = "<|endoftext|>", "<|pad|>"

# Whitespace allowed around the tags: space, tab, newline, and \r so that Windows line endings
# (\r\n) pass. Not \s: it also accepts \x1c-\x1f, \x85, \u2028, \u3000 and friends, invisible
# padding the policy could emit. The same set `tasks.normalize_answer` strips around an answer.
_SPACE = " \t\r\n"
_GAP = f"[{_SPACE}]*"
_FORMAT = re.compile(f"{_GAP}<think>(?P<think>.*?)</think>(?P<summary>.*?)<answer>(?P<answer>.*?)</answer>{_GAP}",
                     re.DOTALL)
# Language words (see language_word_counts). Han: CJK unified ideographs (extension A, the main
# block, extensions B to I), the compatibility ideographs and 〇 (ideographic zero).
_HAN = ("\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
        "\U00020000-\U0002ebef\U0002f800-\U0002fa1f\U00030000-\U000323af")
_KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"  # hiragana, katakana, halfwidth katakana
_LETTER_RUN = re.compile(r"[^\W\d_]+")                 # letters of any script, no digits
_HAN_CHAR, _KANA_CHAR = re.compile(f"[{_HAN}]"), re.compile(f"[{_KANA}]")
_CHARACTER_SCRIPT = re.compile(f"[{_HAN}{_KANA}]")      # scripts written without spaces


def _strip_end(completion: str) -> str | None:
    """The completion without its final end-of-text token; None if an end token sits elsewhere."""
    text = completion.rstrip(_SPACE)
    if text.endswith(END_OF_TEXT):
        text = text[: -len(END_OF_TEXT)].rstrip(_SPACE)
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


def _has_content(text: str) -> bool:
    """At least one letter or digit of any script (Han included; T/F are letters). A think made of
    a zero-width space, a byte-order mark or a lone "." is empty to a reader, so it is empty here."""
    return any(ch.isalnum() for ch in text)


def format_reward(completion: str, summary: bool = False, empty_think: bool = False) -> float:
    """1.0 iff the completion is `<think> content </think> <answer> content </answer>`, each tag
    exactly once, with nothing but spaces, tabs, newlines, carriage returns (and the end token)
    around it. Content means at least one letter or digit, see `_has_content`.

    summary=True is R1's readable format (R1 v1 §2.3.1, "|special_token|<reasoning>|special_token|
    <summary>"): a summary for the reader between </think> and <answer> is then allowed (not
    required: a trivial question needs none). empty_think=True also accepts an empty think: R1's
    answer to a trivial question (the paper's "hello" gets no chain of thought)."""
    text = _strip_end(completion)
    if text is None or any(text.count(tag) != 1 for tag in (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)):
        return 0.0
    match = _FORMAT.fullmatch(text)
    if not match:
        return 0.0
    think, answer = match["think"], match["answer"]
    think_ok = _has_content(think) or (empty_think and not think.strip(_SPACE))
    if not (think_ok and _has_content(answer)):
        return 0.0
    return float(summary or not match["summary"].strip(_SPACE))


def summary_text(completion: str) -> str:
    """The text between </think> and <answer> (R1's summary), stripped; "" when there is none."""
    match = _FORMAT.fullmatch(_strip_end(completion) or "")
    return match["summary"].strip(_SPACE) if match else ""


def reasoning_text(completion: str) -> str:
    """The chain of thought: the <think> content, or everything before <answer> if untagged. The
    end-of-text and padding tokens' text is not the model's words: an unclosed think that ran to the
    end would otherwise count "endoftext" as an English word."""
    for token in (END_OF_TEXT, PAD):
        completion = completion.replace(token, " ")
    start = completion.find(THINK_OPEN)
    start = 0 if start < 0 else start + len(THINK_OPEN)
    end = completion.find(THINK_CLOSE, start)
    if end < 0:
        end = completion.find(ANSWER_OPEN, start)
    return completion[start:] if end < 0 else completion[start:end]


def thinks(completion: str) -> bool:
    """Whether the reasoning holds anything but spaces: False for the empty think that R1 gives a
    trivial question (format_reward's `empty_think`); such an answer has no reasoning language."""
    return bool(reasoning_text(completion).strip(_SPACE))


def language_word_counts(text: str) -> dict[str, int]:
    """Words per language: {"en": n, "zh": n, "other": n}. The unit is what a reader counts as a
    word in each writing system, so that one language's filler cannot outweigh the other cheaply:

      en     a run of 2+ ASCII letters ("carry"); single letters are logic values (T/F) or
             variables, not words
      zh     each Han character (Chinese has no spaces: "进位" is two units, not one run)
      other  each kana character (also written without spaces), and each letter run in any other
             script: Cyrillic, Greek, Hangul, accented or fullwidth Latin ("café", "ｃａｒｒｙ")
    """
    counts = {"en": 0, "zh": 0, "other": 0}
    for run in _LETTER_RUN.findall(text):
        counts["zh"] += len(_HAN_CHAR.findall(run))
        counts["other"] += len(_KANA_CHAR.findall(run))
        for piece in _CHARACTER_SCRIPT.split(run):
            if not piece.isascii():
                counts["other"] += 1
            elif len(piece) >= 2:
                counts["en"] += 1
    return counts


def language_consistency(completion: str, target: str = "en") -> float:
    """Share of the reasoning's words that are in the `target` language, "en" or "zh" (R1 §2.3.2),
    with words counted as in `language_word_counts` (words of other scripts count against both).
    Reasoning with no words at all (only digits and symbols) scores 0.0: it is no evidence of the
    target language, and 1.0 would pay the policy to stop writing words."""
    counts = language_word_counts(reasoning_text(completion))
    if target not in ("en", "zh"):
        raise ValueError(f"unknown language {target!r}; choose from ['en', 'zh']")
    total = sum(counts.values())
    return 0.0 if total == 0 else counts[target] / total


def language_reward(completion: str, problem) -> dict[str, float]:
    """R1's language-consistency term (§2.3.2), the question's language as target: {"language": share}.
    None ({}) on trivial questions: the reward is about reasoning, and they are the non-reasoning data,
    answered without a think (in the paper's last stage reward models score such prompts, not it)."""
    if problem.level == TRIVIAL_LEVEL:
        return {}
    return {"language": language_consistency(completion, problem.language)}


def r1_zero_rewards(completion: str, problem, language: bool = False) -> dict[str, float]:
    """R1-Zero's reward: accuracy + format, nothing else (R1 §2.2.2). language=True adds R1's
    language-consistency term (an ablation, `train_zero.py --language-reward`; R1 §2.3.2 adds it
    against language mixing and reports a slight loss of accuracy)."""
    rewards = {"accuracy": accuracy_reward(completion, problem.answer), "format": format_reward(completion)}
    return {**rewards, **language_reward(completion, problem)} if language else rewards
