"""Which questions RL practises on: an online curriculum over (task, level) pairs.

A group whose answers are all right or all wrong has zero advantage and teaches nothing (GRPO's
signal is the spread within a group), so the most useful questions are those at the edge of the
policy's ability. The curriculum keeps a moving pass rate per (task, level) from the rollouts and
favours pairs whose rate lies in [low, high]; the others keep a small weight so they are re-checked.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

from r1mini.tasks import TRAIN_LEVELS, Problem, generate_problem


@dataclass
class Curriculum:
    tasks: tuple[str, ...]
    low: float = 0.1
    high: float = 0.9
    outside_weight: float = 0.15
    momentum: float = 0.7
    enabled: bool = True
    levels: dict | None = None  # task -> levels to practise (default: every training level)
    pass_rate: dict = field(default_factory=dict)  # "task-level" -> moving average of accuracy

    def pairs(self) -> list[tuple[str, int]]:
        return [(t, lv) for t in self.tasks for lv in (self.levels or TRAIN_LEVELS)[t]]

    def weight(self, pair) -> float:
        rate = self.pass_rate.get(f"{pair[0]}-{pair[1]}", 0.5)
        return 1.0 if self.low <= rate <= self.high else self.outside_weight

    def sample(self, rng: random.Random, n: int) -> list[Problem]:
        pairs = self.pairs()
        weights = [self.weight(p) if self.enabled else 1.0 for p in pairs]
        return [generate_problem(rng, task, level, "train") for task, level in rng.choices(pairs, weights, k=n)]

    def update(self, problems: list[Problem], accuracies: list[float]) -> None:
        seen = defaultdict(list)
        for problem, accuracy in zip(problems, accuracies):
            seen[f"{problem.task}-{problem.level}"].append(accuracy)
        for key, values in seen.items():
            old = self.pass_rate.get(key, sum(values) / len(values))
            self.pass_rate[key] = self.momentum * old + (1 - self.momentum) * sum(values) / len(values)
