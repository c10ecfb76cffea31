"""Tests for exercise 04. They reach the function only through `impl` (see exercises/conftest.py).

The last tests put the mask into a real (tiny) DeepSeekMoE model and generate with it."""
import pytest
import torch

from exercises.framework import load
from r1mini.config import model_config
from r1mini.model import Transformer
from r1mini.sampler import generate

REFERENCE = load("04_attention_mask").reference.attention_mask
F_, T_ = False, True


def as_list(mask):
    return mask.int().tolist()


def test_causal_without_padding(impl):
    got = impl.attention_mask(None, 3, 0, "cpu")
    assert got.dtype == torch.bool and got.shape == (1, 1, 3, 3), (got.dtype, got.shape)
    assert as_list(got[0, 0]) == [[1, 0, 0], [1, 1, 0], [1, 1, 1]], "each query sees itself and the keys before it"


def test_left_padding(impl):
    """Row 0 is padded at position 0: no query sees that key, except the padding query itself
    (an all-False row would make softmax NaN)."""
    key_mask = torch.tensor([[F_, T_, T_], [T_, T_, T_]])
    got = impl.attention_mask(key_mask, 3, 0, "cpu")
    assert got.shape == (2, 1, 3, 3), got.shape
    assert as_list(got[0, 0]) == [[1, 0, 0], [0, 1, 0], [0, 1, 1]], \
        "padded keys are hidden; a padding query still sees itself (never a fully masked row)"
    assert as_list(got[1, 0]) == [[1, 0, 0], [1, 1, 0], [1, 1, 1]]


def test_with_a_kv_cache(impl):
    """One new token at cache position 3 of a left-padded row: it sees keys 1..3 (key 0 is padding)."""
    key_mask = torch.tensor([[F_, T_, T_, T_, T_, T_]])
    got = impl.attention_mask(key_mask, 1, 3, "cpu")
    assert got.shape == (1, 1, 1, 4), "S = cache_pos + T keys: the cache so far and the new token"
    assert as_list(got[0, 0]) == [[0, 1, 1, 1]], "the query at position 3 sees the cached keys 1, 2 and itself"
    got = impl.attention_mask(key_mask, 2, 2, "cpu")
    assert as_list(got[0, 0]) == [[0, 1, 1, 0], [0, 1, 1, 1]], "queries at 2 and 3 over keys 0..3"


def test_matches_the_reference_on_random_masks(impl):
    g = torch.Generator().manual_seed(0)
    for T, cache_pos in [(5, 0), (1, 4), (3, 6), (1, 0)]:
        key_mask = torch.rand(3, cache_pos + T + 2, generator=g) > 0.3
        assert torch.equal(impl.attention_mask(key_mask, T, cache_pos, "cpu"), REFERENCE(key_mask, T, cache_pos, "cpu")), \
            f"T={T}, cache_pos={cache_pos}"
    assert torch.equal(impl.attention_mask(None, 2, 3, "cpu"), REFERENCE(None, 2, 3, "cpu")), "no key_mask, cache_pos 3"


@pytest.fixture
def model(impl, monkeypatch):
    """A tiny DeepSeekMoE whose outputs depend on context, with the implementation's mask plugged in."""
    monkeypatch.setattr(Transformer, "attention_mask", staticmethod(impl.attention_mask))
    torch.manual_seed(0)
    m = Transformer(model_config("tiny", 64))
    with torch.no_grad():
        for name, p in m.named_parameters():
            if p.dim() >= 2:
                p.normal_(0, 0.3 if name.startswith("embed") else 2 / p.shape[-1] ** 0.5)
    return m.eval()


def test_greedy_generation_cached_equals_uncached(model, monkeypatch):
    prompts = [[5, 9, 2, 7], [3, 1], [8]]
    kw = dict(temperature=0.0, stop_tokens=[], pad_id=0)
    cached = generate(model, prompts, 12, use_cache=True, **kw)
    uncached = generate(model, prompts, 12, use_cache=False, **kw)
    assert cached == uncached, "greedy decoding with the KV cache must equal recomputing the whole sequence"
    monkeypatch.setattr(Transformer, "attention_mask", staticmethod(REFERENCE))
    assert cached == generate(model, prompts, 12, **kw), "greedy generation differs from the reference mask's"


def test_a_prompt_alone_equals_it_in_a_left_padded_batch(model, monkeypatch):
    prompts = [[5, 9, 2, 7, 11, 4], [3, 1], [8, 12, 30]]
    kw = dict(temperature=0.0, stop_tokens=[], pad_id=0)
    batch = generate(model, prompts, 10, **kw)
    for prompt, together in zip(prompts, batch):
        assert generate(model, [prompt], 10, **kw)[0] == together, \
            f"prompt {prompt} generates differently when left-padded in a batch: are padded keys hidden?"
    with torch.no_grad():  # and a padded forward pass stays finite (no fully masked row)
        tokens = torch.tensor([[0, 0, 5, 9], [3, 1, 2, 4]])
        key_mask = tokens != 0
        positions = (torch.arange(4)[None] - (~key_mask).sum(1, keepdim=True)).clamp(min=0)
        assert torch.isfinite(model(tokens, positions, key_mask)).all(), "NaN logits: a padding query must see itself"
    monkeypatch.setattr(Transformer, "attention_mask", staticmethod(REFERENCE))
    assert batch == generate(model, prompts, 10, **kw), "greedy generation differs from the reference mask's"
