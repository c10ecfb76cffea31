"""Wrong versions of informative_chance, each a mistake students make. The tests must catch every one."""
from exercises.framework import mutant


@mutant("informative_chance")
def only_all_wrong(pass_rate, group_size):
    """Subtracts only the all-wrong case: a group where every answer is right has no signal either."""
    return 1.0 - (1.0 - pass_rate) ** group_size


@mutant("informative_chance")
def product_of_events(pass_rate, group_size):
    """P(some right) · P(some wrong), as if the two events were independent (they are not)."""
    return (1.0 - (1.0 - pass_rate) ** group_size) * (1.0 - pass_rate ** group_size)


@mutant("informative_chance")
def exactly_one_right(pass_rate, group_size):
    """Counts only groups with exactly one right answer, G·p·(1−p)^(G−1)."""
    return group_size * pass_rate * (1.0 - pass_rate) ** (group_size - 1)


@mutant("informative_chance")
def complement_forgotten(pass_rate, group_size):
    """Returns the chance that the group is all-equal, p^G + (1−p)^G: the complement of the answer."""
    return pass_rate ** group_size + (1.0 - pass_rate) ** group_size
