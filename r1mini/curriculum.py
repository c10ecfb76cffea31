"""Which questions RL practises on: an online curriculum over (task, level) pairs.

A group whose answers are all right or all wrong has zero advantage and teaches nothing (GRPO's
signal is the spread within a group), so the most useful questions are those at the edge of the
policy's ability. The curriculum keeps a moving pass rate p per (task, level) from the rollouts and
samples each pair in proportion to the chance that a group of G answers to it is informative,
1 − p^G − (1 − p)^G, never less than a small floor so that solved pairs are re-checked now and then.
The same chances say what share of a batch of questions will carry a signal
(`informative_share`): GRPO sizes its first round of sampling by it.

Not in R1, which samples its prompts uniformly. It complements DAPO's dynamic sampling
(grpo.sample_groups), which drops groups with no spread after sampling: the curriculum makes them
rarer before.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

from r1mini.tasks import TRAIN_LEVELS, Problem, generate_problem


def informative_chance(pass_rate: float, group_size: int) -> float:
    """P(a group of G answers holds both a right and a wrong one), each right with probability p."""
    return 1.0 - pass_rate ** group_size - (1.0 - pass_rate) ** group_size


@dataclass
class Curriculum:
    tasks: tuple[str, ...]
    group_size: int = 8              # G of the GRPO run the curriculum serves
    min_weight: float = 0.15         # solved (or hopeless) pairs keep this weight, to be re-checked
    momentum: float = 0.7            # weight of the old pass rate in the moving average
    enabled: bool = True
    levels: dict | None = None  # task -> levels to practise (default: every training level)
    pass_rate: dict = field(default_factory=dict)  # "task-level" -> moving average of accuracy

    def pairs(self) -> list[tuple[str, int]]:
        return [(t, lv) for t in self.tasks for lv in (self.levels or TRAIN_LEVELS)[t]]

    def chance(self, pair) -> float:
        """The chance that a group on this pair is informative; a pair not seen yet counts as p = 0.5."""
        return informative_chance(self.pass_rate.get(f"{pair[0]}-{pair[1]}", 0.5), self.group_size)

    def weight(self, pair) -> float:
        return max(self.chance(pair), self.min_weight) if self.enabled else 1.0

    def sample(self, rng: random.Random, n: int) -> list[Problem]:
        pairs = self.pairs()
        return [generate_problem(rng, task, level, "train")
                for task, level in rng.choices(pairs, [self.weight(p) for p in pairs], k=n)]

    def informative_share(self) -> float:
        """The expected share of sampled groups that will be informative (accuracy's spread only)."""
        pairs = self.pairs()
        weights = [self.weight(p) for p in pairs]
        return sum(w * self.chance(p) for w, p in zip(weights, pairs)) / sum(weights)

    def update(self, problems: list[Problem], accuracies: list[float]) -> None:
        seen = defaultdict(list)
        for problem, accuracy in zip(problems, accuracies):
            seen[f"{problem.task}-{problem.level}"].append(accuracy)
        for key, values in seen.items():
            old = self.pass_rate.get(key, sum(values) / len(values))
            self.pass_rate[key] = self.momentum * old + (1 - self.momentum) * sum(values) / len(values)
