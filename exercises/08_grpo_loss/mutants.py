"""Wrong versions of grpo_loss, each a mistake students make. The tests must catch every one.

They share one configurable body, `_loss`, so that each mutant differs from a right loss by exactly
the one mistake its name says."""
import torch

from exercises.framework import mutant


def _loss(logprobs, old_logprobs, ref_logprobs, advantages, mask, clip_eps, kl_coef, clip_eps_high, aggregation,
          constant_norm, mistake=""):
    if aggregation not in ("seq_mean", "token_mean", "constant"):
        raise ValueError(aggregation)
    if aggregation == "constant" and not constant_norm:
        raise ValueError("constant aggregation needs constant_norm")
    high = clip_eps if clip_eps_high is None or mistake == "clip_high_ignored" else clip_eps_high
    mask = torch.ones_like(mask, dtype=torch.float) if mistake == "mask_ignored" else mask.float()
    ratio = torch.exp(logprobs - old_logprobs)
    if mistake == "ratio_detached":
        ratio = ratio.detach()
    adv = advantages.unsqueeze(1)
    unclipped, clipped = ratio * adv, torch.clamp(ratio, 1 - clip_eps, 1 + high) * adv
    if mistake == "no_clip":
        surrogate = unclipped
    elif mistake == "clip_without_min":
        surrogate = clipped
    else:
        surrogate = torch.minimum(unclipped, clipped)
    if ref_logprobs is not None and kl_coef != 0:
        log_ref_ratio = ref_logprobs - logprobs
        if mistake == "k1_kl":
            kl = -log_ref_ratio                       # log π_θ/π_ref: unbiased, but not ≥ 0 token by token
        elif mistake == "kl_roles_swapped":
            kl = torch.exp(-log_ref_ratio) + log_ref_ratio - 1  # k3 of KL(π_ref‖π_θ): the wrong direction
        else:
            kl = torch.exp(log_ref_ratio) - log_ref_ratio - 1
    else:
        kl = torch.zeros_like(surrogate)
    sign = -1 if mistake == "kl_sign_flipped" else 1
    per_token = -(surrogate - sign * kl_coef * kl)
    if mistake == "aggregation_ignored":
        aggregation = "token_mean"
    if aggregation == "seq_mean":
        denominator = mask.shape[1] if mistake == "seq_mean_over_padding" else mask.sum(1).clamp(min=1)
        loss = ((per_token * mask).sum(1) / denominator).mean()
    elif aggregation == "token_mean":
        loss = (per_token * mask).sum() / mask.sum().clamp(min=1)
    else:
        loss = (per_token * mask).sum() / constant_norm
    stats_mask = torch.ones_like(mask) if mistake == "stats_count_padding" else mask
    n = stats_mask.sum().clamp(min=1)
    with torch.no_grad():
        stats = {"kl": float((kl * stats_mask).sum() / n),
                 "clip_fraction": float(((clipped < unclipped).float() * stats_mask).sum() / n),
                 "ratio_mean": float((ratio * stats_mask).sum() / n)}
    return loss, stats


def _mutant(mistake, doc):
    @mutant("grpo_loss")
    def wrong(logprobs, old_logprobs, ref_logprobs, advantages, mask, clip_eps=0.2, kl_coef=0.04,
              clip_eps_high=None, aggregation="token_mean", constant_norm=None):
        return _loss(logprobs, old_logprobs, ref_logprobs, advantages, mask, clip_eps, kl_coef, clip_eps_high,
                     aggregation, constant_norm, mistake)
    wrong.__name__, wrong.__doc__ = mistake, doc
    return wrong


mask_ignored = _mutant("mask_ignored", "Sums over every position: prompt and padding tokens count in the loss.")
k1_kl = _mutant("k1_kl", "Uses the k1 estimator log(π_θ/π_ref) instead of k3 (negative on some tokens, high variance).")
kl_sign_flipped = _mutant("kl_sign_flipped", "Adds β·KL to the objective instead of subtracting it (rewards drifting away).")
kl_roles_swapped = _mutant("kl_roles_swapped", "k3 with π_θ and π_ref swapped: estimates KL(π_ref‖π_θ), the forward KL.")
no_clip = _mutant("no_clip", "No clipping: the surrogate is ρ·A alone.")
clip_without_min = _mutant("clip_without_min", "Uses clip(ρ)·A alone, without the min with ρ·A (no pessimistic bound).")
clip_high_ignored = _mutant("clip_high_ignored", "Ignores clip_eps_high: the upper clip is always 1 + clip_eps.")
aggregation_ignored = _mutant("aggregation_ignored", "Always averages over all tokens, whatever `aggregation` says.")
seq_mean_over_padding = _mutant("seq_mean_over_padding", "seq_mean divides each row's sum by the padded width, not its own token count.")
ratio_detached = _mutant("ratio_detached", "Detaches the ratio ρ: the loss has the right value and no policy gradient.")
stats_count_padding = _mutant("stats_count_padding", "The diagnostics (kl, clip_fraction, ratio_mean) average over padding too.")
