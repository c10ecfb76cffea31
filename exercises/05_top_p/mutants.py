"""Wrong versions of sampling_distribution and draw, each a mistake students make."""
import torch

from exercises.framework import mutant


def _nucleus(logits, temperature, top_p, mistake=""):
    probs = torch.softmax(logits.float() / (1.0 if mistake == "temperature_ignored" else temperature), dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        cumulative = sorted_probs.cumsum(dim=-1)
        drop = cumulative >= top_p if mistake == "crossing_token_dropped" else cumulative - sorted_probs >= top_p
        sorted_probs[drop] = 0.0
        probs = torch.zeros_like(probs).scatter_(-1, order, sorted_probs)
        if mistake != "not_renormalised":
            probs = probs / probs.sum(dim=-1, keepdim=True)
    return probs


@mutant("sampling_distribution")
def crossing_token_dropped(logits, temperature, top_p):
    """Drops the token whose cumulative probability crosses top_p: the nucleus falls short of top_p
    (and is empty, NaN after renormalising, when the top token alone exceeds it)."""
    return _nucleus(logits, temperature, top_p, "crossing_token_dropped")


@mutant("sampling_distribution")
def not_renormalised(logits, temperature, top_p):
    """Zeroes the tokens outside the nucleus but does not renormalise: the row sums to less than 1."""
    return _nucleus(logits, temperature, top_p, "not_renormalised")


@mutant("sampling_distribution")
def temperature_ignored(logits, temperature, top_p):
    """Forgets to divide the logits by the temperature."""
    return _nucleus(logits, temperature, top_p, "temperature_ignored")


@mutant("draw")
def greedy_draw(probs, generator=None):
    """Returns the most likely token instead of a sample."""
    return probs.argmax(dim=-1)


@mutant("draw")
def draw_off_by_one(probs, generator=None):
    """searchsorted with right=True, then one more: picks the token after the right one."""
    cdf = probs.cumsum(dim=-1)
    u = torch.rand(cdf[:, -1:].shape, generator=generator, dtype=cdf.dtype) * cdf[:, -1:]
    return (torch.searchsorted(cdf, u, right=True).squeeze(-1) + 1).clamp(max=probs.shape[-1] - 1)


@mutant("draw")
def uniform_not_scaled(probs, generator=None):
    """Draws u in [0, 1) without scaling it to the row's total mass (fine only for rows summing to exactly 1)."""
    cdf = probs.cumsum(dim=-1)
    u = torch.rand(cdf[:, -1:].shape, generator=generator, dtype=cdf.dtype)
    return torch.searchsorted(cdf, u, right=True).squeeze(-1).clamp(max=probs.shape[-1] - 1)
