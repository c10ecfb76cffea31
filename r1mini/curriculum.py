"""Which questions RL practises on: an online curriculum over (task, level) pairs.

A group whose answers all get the same reward has zero advantage and teaches nothing (GRPO's signal
is the spread within a group), so the most useful questions are those at the edge of the policy's
ability. The curriculum keeps, per (task, level) pair, a moving average of the share of its groups
that were informative, and samples each pair in proportion to it, never less than a small floor so
that solved pairs are re-checked now and then. The same rates say what share of a batch of
questions will carry a signal (`informative_share`): GRPO sizes its first round of sampling by it.

Why the observed share and not a model of it: with a pass rate p, G independent answers mix with
chance 1 − p^G − (1 − p)^G (`informative_chance`), but a level's questions are not equally hard. At
p = 0.5 half the questions may be always right and half always wrong, and then no group mixes. Over
the second half of an R1-Zero run that model predicted 54% informative groups where 19% were; the
observed share predicts 19% where 16% were (docs/design.md). The model is kept as the prior for a
pair not seen yet.

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
    min_weight: float = 0.05         # solved (or hopeless) pairs keep this weight, to be re-checked
    momentum: float = 0.7            # weight of the old value in the moving averages
    enabled: bool = True
    levels: dict | None = None  # task -> levels to practise (default: every training level)
    pass_rate: dict = field(default_factory=dict)  # "task-level" -> moving average of accuracy
    informative_rate: dict = field(default_factory=dict)  # "task-level" -> moving average of the informative share

    def pairs(self) -> list[tuple[str, int]]:
        return [(t, lv) for t in self.tasks for lv in (self.levels or TRAIN_LEVELS)[t]]

    def chance(self, pair) -> float:
        """The chance that a group on this pair is informative: the share observed so far, or for a pair
        whose groups have not been seen, the independent-answers model at its pass rate (p = 0.5 if unknown)."""
        key = f"{pair[0]}-{pair[1]}"
        if key in self.informative_rate:
            return self.informative_rate[key]
        return informative_chance(self.pass_rate.get(key, 0.5), self.group_size)

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

    def update(self, problems: list[Problem], accuracies: list[float], informative: list[bool] | None = None) -> None:
        """Move each pair's pass rate toward its groups' mean accuracy this step and, when given, its
        informative share toward the share of its groups whose rewards differed."""
        for rates, values in ((self.pass_rate, accuracies), (self.informative_rate, informative)):
            if values is None:
                continue
            seen = defaultdict(list)
            for problem, value in zip(problems, values):
                seen[f"{problem.task}-{problem.level}"].append(float(value))
            for key, vals in seen.items():
                mean = sum(vals) / len(vals)
                rates[key] = self.momentum * rates.get(key, mean) + (1 - self.momentum) * mean
