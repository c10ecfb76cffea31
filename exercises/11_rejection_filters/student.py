"""Exercise 11: rejection-sampling filters and the dedup cap (R1 §2.3.3). Write the bodies; keep the signatures."""
from __future__ import annotations

from collections import Counter

from r1mini.r1_data import concludes_soundly, is_brief, readable_format  # the checks you combine
from r1mini.reasoning_steps import parse_reasoning, reads_in_order
from r1mini.rewards import (END_OF_TEXT, accuracy_reward, format_reward, language_consistency, reasoning_text,
                            summary_text, thinks)
from r1mini.tasks import TRIVIAL_LEVEL, Problem


def rejection_reason(problem: Problem, completion: str, summary: bool = True, sound_checks: bool = False) -> str | None:
    """Why rejection sampling drops a Dev2 answer (the first filter it fails), or None to keep it:
    wrong; incomplete (not the readable format, or a worked answer without its summary — with
    summary=False, as distillation from R1-Zero needs, just not the template); repetitive (a
    sentence no template makes, or steps that do not read in order: a column skipped or repeated;
    a slip caught with a "wait" and redone is kept, reasoning_steps.read_reasoning); language (a word outside the question's language).
    With sound_checks also: incomplete if cut off before its end-of-text, and unsound if its
    self-check, conclusion or summary fails `concludes_soundly` (train_r1.py --sound-checks; off by
    default, because at this scale it costs accuracy: docs/design.md, "R1")."""
    raise NotImplementedError("exercise 11: write rejection_reason (see exercises/11_rejection_filters/README.md)")


def deduplicate(pairs: list[tuple[Problem, str]], per_question: int) -> list[tuple[Problem, str]]:
    """Distinct completions, at most `per_question` per question (in the order sampled)."""
    raise NotImplementedError("exercise 11: write deduplicate (see exercises/11_rejection_filters/README.md)")
