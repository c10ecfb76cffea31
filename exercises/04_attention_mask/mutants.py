"""Wrong versions of attention_mask, each a mistake students make."""
import torch

from exercises.framework import mutant


def _mask(key_mask, T, cache_pos, device, mistake=""):
    S = cache_pos + T
    first_query = 0 if mistake == "cache_offset_ignored" else cache_pos
    query_pos = torch.arange(first_query, first_query + T, device=device)[:, None]
    key_pos = torch.arange(S, device=device)[None, :]
    mask = key_pos < query_pos if mistake == "strictly_causal" else key_pos <= query_pos
    if key_mask is not None and mistake != "padding_ignored":
        mask = mask & key_mask[:, None, None, :S]
        if mistake != "no_self_for_padding":
            mask = mask | (key_pos == query_pos)
    return mask if mask.dim() == 4 else mask[None, None]


@mutant("attention_mask")
def padding_ignored(key_mask, T, cache_pos, device):
    """Causal only: left-padding keys are attended to, so a padded prompt generates something else."""
    return _mask(key_mask, T, cache_pos, device, "padding_ignored")


@mutant("attention_mask")
def no_self_for_padding(key_mask, T, cache_pos, device):
    """Hides every padded key, even from the padding query itself: its row is all False and softmax gives NaN."""
    return _mask(key_mask, T, cache_pos, device, "no_self_for_padding")


@mutant("attention_mask")
def cache_offset_ignored(key_mask, T, cache_pos, device):
    """Numbers the queries from 0 instead of cache_pos: with a KV cache, new tokens cannot see the cached past."""
    return _mask(key_mask, T, cache_pos, device, "cache_offset_ignored")


@mutant("attention_mask")
def strictly_causal(key_mask, T, cache_pos, device):
    """key < query instead of key <= query: a token cannot see itself (the first one sees nothing)."""
    return _mask(key_mask, T, cache_pos, device, "strictly_causal")
