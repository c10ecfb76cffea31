"""Wrong versions of group_advantages, each a mistake students make. The tests must catch every one."""

from exercises.framework import mutant


@mutant("group_advantages")
def population_std(rewards, group_size, normalize_std=True, eps=1e-4):
    """Divides by the population std (÷G) instead of the sample std with Bessel's correction (÷(G−1))."""
    grouped = rewards.float().view(-1, group_size)
    centered = grouped - grouped.mean(1, keepdim=True)
    if normalize_std:
        centered = centered / (grouped.std(1, unbiased=False, keepdim=True) + eps)
    return centered.view(-1)


@mutant("group_advantages")
def batch_baseline(rewards, group_size, normalize_std=True, eps=1e-4):
    """Uses the whole batch's mean and std as the baseline instead of each group's own."""
    r = rewards.float()
    centered = r - r.mean()
    return centered / (r.std() + eps) if normalize_std else centered


@mutant("group_advantages")
def groups_interleaved(rewards, group_size, normalize_std=True, eps=1e-4):
    """Reshapes to (group_size, -1): treats rewards as interleaved, answer i of every question together."""
    grouped = rewards.float().view(group_size, -1)
    centered = grouped - grouped.mean(0, keepdim=True)
    if normalize_std:
        centered = centered / (grouped.std(0, keepdim=True) + eps)
    return centered.reshape(-1)


@mutant("group_advantages")
def no_eps(rewards, group_size, normalize_std=True, eps=1e-4):
    """Forgets eps: an all-equal group divides 0 by 0 and gives NaN."""
    grouped = rewards.float().view(-1, group_size)
    centered = grouped - grouped.mean(1, keepdim=True)
    if normalize_std:
        centered = centered / grouped.std(1, keepdim=True)
    return centered.view(-1)


@mutant("group_advantages")
def always_std(rewards, group_size, normalize_std=True, eps=1e-4):
    """Ignores normalize_std=False (Dr. GRPO's variant) and always divides by the std."""
    grouped = rewards.float().view(-1, group_size)
    centered = grouped - grouped.mean(1, keepdim=True)
    return (centered / (grouped.std(1, keepdim=True) + eps)).view(-1)


@mutant("group_advantages")
def no_group_check(rewards, group_size, normalize_std=True, eps=1e-4):
    """Accepts a reward count that does not split into groups (drops the tail silently)."""
    n = rewards.numel() // group_size * group_size
    grouped = rewards[:n].float().view(-1, group_size)
    centered = grouped - grouped.mean(1, keepdim=True)
    if normalize_std:
        centered = centered / (grouped.std(1, keepdim=True) + eps)
    return centered.view(-1)
