"""Exercise 09: the chance that a group is informative (DAPO's dynamic sampling). Write the bodies; keep the signatures."""
from __future__ import annotations


def informative_chance(pass_rate: float, group_size: int) -> float:
    """P(a group of G answers holds both a right and a wrong one), each right with probability p."""
    raise NotImplementedError("exercise 09: write informative_chance (see exercises/09_informative_chance/README.md)")
