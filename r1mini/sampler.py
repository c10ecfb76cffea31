"""Batched, KV-cached generation: GRPO rollouts (R1 §2.2.1 samples G outputs per question) and
evaluation (R1 v1 §3: temperature 0.6, top-p 0.95).

Prompts of different lengths are LEFT-padded so that every row's next token sits in the same
column. Padding would shift positions and be attended to, so each row gets RoPE positions that count
from 0 at its first real token, and a key mask that hides its pads: a prompt generates exactly what
it would generate alone.

With use_cache=True the prompts go through the model once (prefill) into a preallocated KV cache of
length max prompt + max_new_tokens; after that each step feeds one token per row. use_cache=False
recomputes the whole sequence every step: the slow reference path, kept to test the fast one.

What makes the cached path fast (each tested equal to the plain computation): decoding attention
is two small matmuls over the filled cache (model.Attention); a token is drawn by inverse CDF, one
uniform number per row (`draw`); top-p work is skipped at top_p = 1 and looks at the 32 most likely
tokens rather than sorting the vocabulary when they hold the nucleus; and once a quarter of the
batch has produced its stop token, the finished rows leave the batch and its cache.
"""
from __future__ import annotations

import torch

from r1mini.config import autocast
from r1mini.tokenizer import get_tokenizer

NUCLEUS_CANDIDATES = 32  # top-p: tokens looked at before sorting the whole vocabulary (sampling_distribution)


def sampling_distribution(logits: torch.Tensor, temperature: float, top_p: float) -> torch.Tensor:
    """The distribution a token is drawn from, (B, V): softmax(logits / temperature) restricted to the
    top-p nucleus (the smallest set of most likely tokens whose probability reaches top_p; never
    empty) and renormalised."""
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        # The nucleus is a prefix of the tokens sorted by probability. Sorting the whole vocabulary
        # cost a decoding step more than the rest of the sampling: the NUCLEUS_CANDIDATES most likely
        # tokens (a cheap topk, in the same order as the sort) hold it whenever their mass reaches
        # top_p, and then give exactly the sort's result; otherwise sort everything.
        candidates = min(NUCLEUS_CANDIDATES, probs.shape[-1])
        sorted_probs, order = probs.topk(candidates, dim=-1)
        if candidates < probs.shape[-1] and not bool((sorted_probs.sum(dim=-1) >= top_p).all()):
            sorted_probs, order = probs.sort(dim=-1, descending=True)
        mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
        sorted_probs[mass_before >= top_p] = 0.0  # the most likely token always has mass_before 0
        probs = torch.zeros_like(probs).scatter_(-1, order, sorted_probs)
        probs = probs / probs.sum(dim=-1, keepdim=True)
    return probs


def sample_next(logits: torch.Tensor, temperature: float, top_p: float,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(one token per row of logits (B, V), the log-probability it was drawn with). Greedy if
    temperature == 0 (then the log-probability is that of the untempered model)."""
    if temperature == 0:
        token = logits.argmax(dim=-1)
        return token, torch.log_softmax(logits.float(), dim=-1).gather(-1, token[:, None]).squeeze(-1)
    probs = sampling_distribution(logits, temperature, top_p)
    token = draw(probs, generator)
    return token, probs.gather(-1, token[:, None]).squeeze(-1).log()


def draw(probs: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One token per row of probs (B, V), by inverse CDF: a uniform number u per row, scaled to the
    row's total mass, picks the first token whose cumulative probability exceeds u. One random
    number per row, where torch.multinomial draws one per vocabulary entry (its cost dominated a
    decoding step). A token of probability 0 is never picked: its cumulative value equals its
    predecessor's, so it is never the first to exceed u."""
    cdf = probs.cumsum(dim=-1)
    total = cdf[:, -1:]
    u = torch.rand(total.shape, generator=generator, device=probs.device, dtype=cdf.dtype) * total
    u = torch.minimum(u, torch.nextafter(total, torch.zeros_like(total)))  # rounding may reach total itself
    return torch.searchsorted(cdf, u, right=True).squeeze(-1)


def _check_args(model, prompts, max_new_tokens, temperature, top_p, pad_id):
    if not prompts:
        raise ValueError("prompts is empty: pass at least one prompt (a list of token ids)")
    if any(len(p) == 0 for p in prompts):
        raise ValueError("every prompt needs at least one token; got an empty prompt")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 = greedy), got {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    cfg = model.cfg
    longest = max(len(p) for p in prompts)
    if longest + max_new_tokens > cfg.max_seq_len:
        raise ValueError(f"longest prompt ({longest} tokens) + max_new_tokens ({max_new_tokens}) "
                         f"exceeds the model's max_seq_len ({cfg.max_seq_len})")
    ids = [t for p in prompts for t in p] + [pad_id]
    if min(ids) < 0 or max(ids) >= cfg.vocab_size:
        raise ValueError(f"token ids (and pad_id) must be in [0, {cfg.vocab_size}); "
                         f"got range [{min(ids)}, {max(ids)}]")


@torch.no_grad()
def generate(model, prompts: list[list[int]], max_new_tokens: int, temperature: float = 1.0,
             top_p: float = 1.0, use_cache: bool = True, stop_tokens=None, pad_id: int | None = None,
             return_logprobs: bool = False, generator: torch.Generator | None = None):
    """Continue each prompt by up to max_new_tokens tokens.

    Returns new_tokens: list[list[int]], each ending with its stop token if it produced one; with
    return_logprobs also logprobs: list[list[float]], the log-probability with which each token was
    drawn (softmax(logits / temperature), within the top-p nucleus). GRPO does not use them: it
    recomputes every log-probability with a full forward pass (`grpo.completion_logprobs`), which the
    tests check these equal. stop_tokens / pad_id default to the tokenizer's eot_id / pad_id.
    A generator for sampling must live on the model's device.
    """
    if stop_tokens is None or pad_id is None:
        tok = get_tokenizer()
        stop_tokens = [tok.eot_id] if stop_tokens is None else stop_tokens
        pad_id = tok.pad_id if pad_id is None else pad_id
    _check_args(model, prompts, max_new_tokens, temperature, top_p, pad_id)
    device = next(model.parameters()).device
    B, P = len(prompts), max(len(p) for p in prompts)
    total = P + max_new_tokens

    # Left-pad: row i's real tokens occupy columns [P - len_i, P); generated tokens go at P, P+1, ...
    tokens = torch.full((B, total), pad_id, dtype=torch.long)
    key_mask = torch.ones(B, total, dtype=torch.bool)
    starts = torch.tensor([P - len(p) for p in prompts])
    for i, p in enumerate(prompts):
        tokens[i, starts[i]:P] = torch.tensor(p)
        key_mask[i, :starts[i]] = False
    positions = (torch.arange(total)[None, :] - starts[:, None]).clamp(min=0)
    tokens, key_mask, positions = tokens.to(device), key_mask.to(device), positions.to(device)
    stops = torch.tensor(sorted(set(stop_tokens)), dtype=torch.long, device=device)

    was_training = model.training
    model.eval()
    # chosen[i, j]: the j-th new token of prompt i. `rows` maps each row of the working batch to its
    # prompt: with the cache, finished rows are dropped from the batch (see below).
    chosen = torch.full((B, max_new_tokens), pad_id, dtype=torch.long, device=device)
    chosen_logprobs = torch.zeros(B, max_new_tokens, device=device)
    rows = torch.arange(B, device=device)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    try:
        with autocast(device):
            kv_cache = model.new_kv_cache(B, total) if use_cache else None
            logits = model(tokens[:, :P], positions[:, :P], key_mask, kv_cache, 0)[:, -1]
            for step, t in enumerate(range(P, total)):
                next_token, logprob = sample_next(logits, temperature, top_p, generator)  # finished rows ride along
                tokens[:, t] = next_token
                chosen[rows, step], chosen_logprobs[rows, step] = next_token, logprob.float()
                done |= torch.isin(next_token, stops)
                if t == total - 1 or done.all():
                    break
                if use_cache and 4 * done.sum() >= len(done):
                    # A quarter of the batch has finished: drop those rows (and their cache) so later
                    # steps compute only live rows. Each drop shrinks the batch by >= 1/4, so the
                    # copies add up to a few cache copies at most.
                    live = (~done).nonzero().squeeze(1)
                    rows, done, tokens, positions, key_mask = rows[live], done[live], tokens[live], positions[live], key_mask[live]
                    for layer, (k, v) in enumerate(kv_cache):  # layer by layer: one old layer at a time in memory
                        kv_cache[layer] = (k[live], v[live])
                if use_cache:
                    logits = model(tokens[:, t:t + 1], positions[:, t:t + 1], key_mask, kv_cache, t)[:, -1]
                else:
                    logits = model(tokens[:, :t + 1], positions[:, :t + 1], key_mask[:, :t + 1])[:, -1]
    finally:
        model.train(was_training)

    # Cut each row after its first stop token (which is kept).
    new_tokens, logprobs = [], []
    chosen = chosen[:, :step + 1].tolist()
    chosen_logprobs = chosen_logprobs[:, :step + 1].tolist() if return_logprobs else None
    stop_set = set(stop_tokens)
    for i, row in enumerate(chosen):
        n = next((j + 1 for j, tok in enumerate(row) if tok in stop_set), len(row))
        new_tokens.append(row[:n])
        if return_logprobs:
            logprobs.append(chosen_logprobs[i][:n])
    return (new_tokens, logprobs) if return_logprobs else new_tokens
