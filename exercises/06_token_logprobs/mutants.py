"""Wrong versions of token_logprobs and completion_batch, each a mistake students make."""
import torch

from exercises.framework import mutant
from r1mini.sft import IGNORE, collate


@mutant("token_logprobs")
def log_of_softmax(logits, targets):
    """log(softmax(logits)): the softmax underflows to 0 for large logits and the log gives −inf."""
    return torch.log(torch.softmax(logits.float(), dim=-1)).gather(-1, targets.unsqueeze(-1)).squeeze(-1)


@mutant("token_logprobs")
def logits_not_normalised(logits, targets):
    """Gathers the raw logit of the target, forgetting to subtract logsumexp."""
    return logits.float().gather(-1, targets.unsqueeze(-1)).squeeze(-1)


@mutant("token_logprobs")
def shifted_again(logits, targets):
    """Shifts the logits by one more position, as if targets were not already the next tokens."""
    logp = torch.log_softmax(logits.float(), dim=-1).roll(1, dims=1)
    return logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def _batch(prompts, completions, pad_id, device, mistake):
    inputs, targets = collate(list(zip(prompts, completions)), pad_id, device)
    mask = (targets != IGNORE).float()
    if mistake == "mask_off_by_one":  # the mask starts one position later
        mask = torch.cat([torch.zeros_like(mask[:, :1]), mask[:, :-1]], dim=1)
    if mistake == "mask_includes_padding":
        mask = torch.ones_like(mask)
    if mistake == "ignore_left_in_targets":
        return inputs, targets, mask
    return inputs, targets.masked_fill(targets == IGNORE, pad_id), mask


@mutant("completion_batch")
def mask_off_by_one(prompts, completions, pad_id, device):
    """The response mask starts at len(prompt) instead of len(prompt) − 1: the first answer token gets no credit."""
    return _batch(prompts, completions, pad_id, device, "mask_off_by_one")


@mutant("completion_batch")
def mask_includes_padding(prompts, completions, pad_id, device):
    """A mask of ones: prompt and padding positions count as completion tokens."""
    return _batch(prompts, completions, pad_id, device, "mask_includes_padding")


@mutant("completion_batch")
def ignore_left_in_targets(prompts, completions, pad_id, device):
    """Leaves IGNORE (−100) in the targets: gather() cannot index with it."""
    return _batch(prompts, completions, pad_id, device, "ignore_left_in_targets")
