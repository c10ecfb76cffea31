"""Wrong versions of gate and sequence_balance_loss, each a mistake students make."""
import torch
import torch.nn.functional as F

from exercises.framework import mutant


def _gate(x, weight, expert_bias, topk, mistake=""):
    logits = F.linear(x, weight).float()
    scores = torch.softmax(logits, -1) if mistake == "softmax_affinities" else torch.sigmoid(logits)
    biased = scores if mistake == "bias_ignored" else scores + expert_bias
    indices = torch.topk(biased, topk, dim=-1).indices
    selected = (biased if mistake == "bias_in_weights" else scores).gather(-1, indices)
    weights = selected if mistake == "weights_not_normalised" else selected / selected.sum(-1, keepdim=True)
    return weights.type_as(x), indices, scores


@mutant("gate")
def bias_in_weights(x, weight, expert_bias, topk):
    """Gate values from s + b: the balancing bias, meant only to choose experts, also weighs their outputs."""
    return _gate(x, weight, expert_bias, topk, "bias_in_weights")


@mutant("gate")
def bias_ignored(x, weight, expert_bias, topk):
    """Chooses the top-K of s alone: the aux-loss-free bias never changes the routing."""
    return _gate(x, weight, expert_bias, topk, "bias_ignored")


@mutant("gate")
def softmax_affinities(x, weight, expert_bias, topk):
    """Softmax over experts (V2's router) instead of V3's sigmoid affinities."""
    return _gate(x, weight, expert_bias, topk, "softmax_affinities")


@mutant("gate")
def weights_not_normalised(x, weight, expert_bias, topk):
    """Uses the selected s_i as gate values without dividing by their sum."""
    return _gate(x, weight, expert_bias, topk, "weights_not_normalised")


def _balance(scores, indices, real, alpha, mistake=""):
    E, K = scores.shape[-1], indices.shape[-1]
    real = torch.ones_like(real, dtype=torch.float) if mistake == "padding_counted" else real.float()
    n_real = real.sum(1).clamp(min=1)
    chosen = F.one_hot(indices, E).sum(2).float() * real[..., None]
    f = chosen.sum(1) * (1.0 if mistake == "f_without_E_over_K" else E / K) / n_real[:, None]
    normalised = scores if mistake == "P_unnormalised" else scores / scores.sum(-1, keepdim=True)
    P = (normalised * real[..., None]).sum(1) / n_real[:, None]
    return alpha * (f * P).sum(-1).mean()


@mutant("sequence_balance_loss")
def padding_counted(scores, indices, real, alpha):
    """Counts padding positions as tokens of the sequence."""
    return _balance(scores, indices, real, alpha, "padding_counted")


@mutant("sequence_balance_loss")
def f_without_E_over_K(scores, indices, real, alpha):
    """f_i as the share of tokens routed to i, without the E/K factor (perfect balance no longer gives alpha)."""
    return _balance(scores, indices, real, alpha, "f_without_E_over_K")


@mutant("sequence_balance_loss")
def P_unnormalised(scores, indices, real, alpha):
    """P_i as the mean raw affinity s_i, not s_i / Σ_j s_j (eq. 19's normalisation forgotten)."""
    return _balance(scores, indices, real, alpha, "P_unnormalised")
