"""Tests for exercise 07. They reach the function only through `impl` (see exercises/conftest.py)."""
import pytest
import torch

from exercises.checks import assert_close
from exercises.framework import load

REFERENCE = load("07_group_advantages").reference.group_advantages


def population_std_version(rewards, group_size, eps=1e-4):
    grouped = rewards.float().view(-1, group_size)
    centered = grouped - grouped.mean(1, keepdim=True)
    return (centered / (grouped.std(1, unbiased=False, keepdim=True) + eps)).view(-1)


MISTAKES = lambda rewards, G: {  # noqa: E731
    "population std: use the sample std with Bessel's correction, torch.std's default (unbiased=True)":
        population_std_version(rewards, G),
    "one baseline for the whole batch: the mean and std are each group's own":
        (rewards - rewards.mean()) / (rewards.std() + 1e-4),
}




def test_hand_case(impl):
    rewards = torch.tensor([0.0, 0.0, 1.0, 2.0])
    want = (rewards - 0.75) / (torch.tensor(11 / 12).sqrt() + 1e-4)
    assert_close(impl.group_advantages(rewards, 4), want, "advantages of rewards [0, 0, 1, 2]", mistakes=MISTAKES(rewards, 4))


@pytest.mark.parametrize("group_size", [2, 4, 8])
def test_matches_reference_on_seeded_rewards(impl, group_size):
    g = torch.Generator().manual_seed(group_size)
    rewards = torch.randint(0, 3, (6 * group_size,), generator=g).float()  # accuracy + format in {0, 1, 2}
    rewards[:group_size] = 1.0  # one all-equal group among them
    got = impl.group_advantages(rewards, group_size)
    assert_close(got, REFERENCE(rewards, group_size), f"advantages (G={group_size})",
                 mistakes=MISTAKES(rewards, group_size))


def test_groups_are_consecutive(impl):
    """Rewards come group after group: [q0 a0..a3, q1 a0..a3]. Each group is centred on its own mean."""
    rewards = torch.tensor([1.0, 0.0, 0.0, 0.0, 5.0, 5.0, 3.0, 5.0])
    adv = impl.group_advantages(rewards, 4)
    assert adv.shape == (8,)
    for group in adv.view(2, 4):
        assert abs(float(group.sum())) < 1e-4, "each group's advantages must sum to 0 (centred on the group's mean)"
    assert adv[0] > 1.0 and adv[6] < -1.0, f"the answer that beats its group must get a large positive advantage: {adv}"


def test_all_equal_group_gives_zero_not_nan(impl):
    rewards = torch.tensor([2.0, 2.0, 2.0, 2.0, 1.0, 0.0, 1.0, 0.0])
    adv = impl.group_advantages(rewards, 4)
    assert torch.isfinite(adv).all(), "an all-equal group has std 0: add eps to the denominator, never divide by 0"
    assert torch.equal(adv[:4], torch.zeros(4)), "an all-equal group teaches nothing: advantage exactly 0"
    assert_close(adv[4:], REFERENCE(rewards, 4)[4:], "the informative group's advantages")


def test_without_std_normalisation(impl):
    """Dr. GRPO: normalize_std=False only subtracts the group mean."""
    rewards = torch.tensor([0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 2.0])
    got = impl.group_advantages(rewards, 4, normalize_std=False)
    assert_close(got, torch.tensor([-0.75, 0.25, 0.25, 0.25, -0.5, -0.5, -0.5, 1.5]), "advantages with normalize_std=False",
                 mistakes={"normalize_std=False ignored: it must skip the division by the std":
                           REFERENCE(rewards, 4)})


def test_integer_rewards_give_float_advantages(impl):
    adv = impl.group_advantages(torch.tensor([0, 1, 1, 0]), 2)
    assert adv.dtype == torch.float32, f"advantages must be float32, got {adv.dtype}"
    assert_close(adv, REFERENCE(torch.tensor([0, 1, 1, 0]), 2), "advantages of integer rewards")


def test_rewards_that_do_not_split_into_groups_are_an_error(impl):
    impl.group_advantages(torch.ones(6), 3)  # fine: two groups
    with pytest.raises(ValueError):
        impl.group_advantages(torch.ones(7), 3)
