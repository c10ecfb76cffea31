"""Sampler tests: cached == uncached, left padding, logprobs for GRPO, stop tokens, top-p, errors."""
import math

import pytest
import torch
from conftest import make_context_model

from r1mini.config import model_config
from r1mini.model import Transformer, token_logprobs
from r1mini.sampler import draw, generate, sample_next, sampling_distribution

VOCAB, PAD = 40, 0
PROMPTS = [[5, 6, 7, 8, 9, 10, 11], [12, 13], [14, 15, 16, 17], [18]]


def make_model(preset="tiny", seed=0, **overrides) -> Transformer:
    return make_context_model(preset, seed, VOCAB, **overrides)


def greedy(model, prompts, n=16, **kw):
    return generate(model, prompts, n, temperature=0, stop_tokens=[], pad_id=PAD, **kw)


@pytest.mark.parametrize("preset", ["tiny", "student"])
def test_greedy_cached_equals_uncached(preset):
    model = make_model(preset)
    cached, uncached = greedy(model, PROMPTS), greedy(model, PROMPTS, use_cache=False)
    assert cached == uncached
    assert all(len(row) == 16 for row in cached)
    assert len({t for row in cached for t in row}) > 5, "degenerate model: test would prove nothing"


@pytest.mark.parametrize("preset", ["tiny", "student"])
def test_prompt_alone_equals_prompt_in_padded_batch(preset):
    model = make_model(preset)
    batch = greedy(model, PROMPTS)
    assert [greedy(model, [p])[0] for p in PROMPTS] == batch


@pytest.mark.parametrize("use_cache", [True, False])
def test_logprobs_match_plain_forward(use_cache):
    model = make_model()
    gen = torch.Generator().manual_seed(0)
    new, logprobs = generate(model, PROMPTS, 12, temperature=1.0, use_cache=use_cache, stop_tokens=[],
                             pad_id=PAD, return_logprobs=True, generator=gen)
    for prompt, completion, lp in zip(PROMPTS, new, logprobs):
        assert len(lp) == len(completion) == 12
        seq = torch.tensor([prompt + completion])
        expected = token_logprobs(model(seq[:, :-1]), seq[:, 1:])[0, len(prompt) - 1:]
        torch.testing.assert_close(torch.tensor(lp), expected, atol=1e-4, rtol=0)


@pytest.mark.parametrize("temperature", [0.5, 0.7, 1.6])
def test_grpo_logprobs_are_those_the_sampler_drew_with(temperature):
    """At a rollout temperature T != 1 the log-probs GRPO's ratio, KL and entropy use
    (grpo.completion_logprobs, one full forward pass) equal the log-probabilities under which the
    sampler actually drew the tokens — and differ from the untempered model's."""
    from r1mini.grpo import completion_batch, completion_logprobs
    model = make_model()
    new, drawn = generate(model, PROMPTS, 8, temperature=temperature, stop_tokens=[], pad_id=PAD,
                          return_logprobs=True, generator=torch.Generator().manual_seed(1))
    inputs, targets, mask = completion_batch(PROMPTS, new, PAD, "cpu")
    used = completion_logprobs(model, inputs, targets, temperature)
    untempered = completion_logprobs(model, inputs, targets, 1.0)
    for row, lp in enumerate(drawn):
        torch.testing.assert_close(used[row][mask[row].bool()], torch.tensor(lp), atol=1e-4, rtol=0)
        assert (untempered[row][mask[row].bool()] - torch.tensor(lp)).abs().max() > 1e-2


def test_top_p_logprobs_are_renormalised_over_the_nucleus():
    logits = torch.log(torch.tensor([[0.05, 0.5, 0.15, 0.3]])).repeat(500, 1)
    tokens, logprobs = sample_next(logits, 1.0, 0.7, torch.Generator().manual_seed(0))
    expected = {1: 0.5 / 0.8, 3: 0.3 / 0.8}                       # the nucleus {1, 3}, renormalised
    for token, logprob in zip(tokens.tolist(), logprobs.tolist()):
        assert logprob == pytest.approx(math.log(expected[token]), abs=1e-6)


def test_sampling_is_reproducible_with_generator():
    model = make_model()
    run = lambda seed: generate(model, PROMPTS, 10, stop_tokens=[], pad_id=PAD,  # noqa: E731
                                generator=torch.Generator().manual_seed(seed))
    assert run(3) == run(3)
    assert run(3) != run(4)


def test_tiny_top_p_is_greedy():
    model = make_model()
    sampled = generate(model, PROMPTS, 16, temperature=1.0, top_p=1e-6, stop_tokens=[], pad_id=PAD,
                       generator=torch.Generator().manual_seed(0))
    assert sampled == greedy(model, PROMPTS)


def test_top_p_keeps_the_nucleus():
    logits = torch.log(torch.tensor([[0.05, 0.5, 0.15, 0.3]])).repeat(2000, 1)
    gen = torch.Generator().manual_seed(0)
    assert set(sample_next(logits, 1.0, 0.7, gen)[0].tolist()) == {1, 3}          # 0.5 + 0.3 >= 0.7
    assert set(sample_next(logits, 1.0, 0.9, gen)[0].tolist()) == {1, 3, 2}       # + 0.15
    assert set(sample_next(logits, 1.0, 1.0, gen)[0].tolist()) == {0, 1, 2, 3}
    assert set(sample_next(logits, 0.0, 1.0, gen)[0].tolist()) == {1}


@pytest.mark.parametrize("scale", [8.0, 0.05])  # peaked: 32 candidates hold the nucleus; flat: they do not
def test_top_p_from_candidates_equals_sorting_the_whole_vocabulary(monkeypatch, scale):
    from r1mini import sampler
    logits = torch.randn(64, 439, generator=torch.Generator().manual_seed(0)) * scale
    fast = sampling_distribution(logits, 0.6, 0.95)
    monkeypatch.setattr(sampler, "NUCLEUS_CANDIDATES", 439)
    full = sampling_distribution(logits, 0.6, 0.95)
    assert torch.equal(fast, full)
    assert ((full > 0).sum(dim=-1) > 32).any() == (scale < 1)  # the flat case really needs the fallback


@pytest.mark.parametrize("use_cache", [True, False])
def test_stop_tokens_end_rows_and_are_included(use_cache):
    model = make_model()
    free = greedy(model, PROMPTS, n=20)
    stop = free[0][3]  # a token row 0 produces at step 3 (or earlier)
    stopped, logprobs = generate(model, PROMPTS, 20, temperature=0, stop_tokens=[stop], pad_id=PAD,
                                 use_cache=use_cache, return_logprobs=True)
    for row_free, row in zip(free, stopped):
        n = row_free.index(stop) + 1 if stop in row_free else len(row_free)
        assert row == row_free[:n]
    assert stopped[0][-1] == stop and len(stopped[0]) <= 4
    assert [len(lp) for lp in logprobs] == [len(row) for row in stopped]


def test_generation_stops_when_all_rows_are_done():
    model = make_model()
    free = greedy(model, PROMPTS, n=20)
    stops = [row[1] for row in free]  # every row stops by its second token
    calls = []
    model.register_forward_hook(lambda *args: calls.append(1))
    out = generate(model, PROMPTS, 20, temperature=0, stop_tokens=stops, pad_id=PAD)
    assert all(len(row) <= 2 for row in out)
    assert len(calls) == 2  # prefill + one decoding step, not 20


def test_positions_count_from_each_prompts_first_token():
    model = make_model()
    seen = []
    model.register_forward_pre_hook(lambda module, args: seen.append(args[1].clone()))
    greedy(model, PROMPTS, n=2)
    prefill, step = seen
    for i, p in enumerate(PROMPTS):
        assert prefill[i, -len(p):].tolist() == list(range(len(p)))
        assert step[i].tolist() == [len(p)]


def test_restores_training_mode():
    model = make_model().train()
    greedy(model, PROMPTS, n=3)
    assert model.training
    model.eval()
    greedy(model, PROMPTS, n=3)
    assert not model.training


@pytest.mark.parametrize("kwargs, message", [
    (dict(prompts=[]), "prompts is empty"),
    (dict(prompts=[[1, 2], []]), "empty prompt"),
    (dict(max_new_tokens=0), "max_new_tokens"),
    (dict(temperature=-0.1), "temperature"),
    (dict(top_p=0.0), "top_p"),
    (dict(top_p=1.5), "top_p"),
    (dict(max_new_tokens=30), "max_seq_len"),
    (dict(prompts=[[1, VOCAB]]), "token ids"),
])
def test_bad_arguments_raise_value_error(kwargs, message):
    model = make_model(max_seq_len=32)
    args = dict(prompts=[[1, 2, 3]], max_new_tokens=4, stop_tokens=[], pad_id=PAD) | kwargs
    with pytest.raises(ValueError, match=message):
        generate(model, **args)


def test_inverse_cdf_draw_follows_the_distribution_like_multinomial():
    """The fast draw (one uniform number per row) samples the same distribution as torch.multinomial,
    and never a token of probability 0 (here tokens 0 and 4, e.g. outside a top-p nucleus)."""
    probs = torch.tensor([[0.0, 0.1, 0.6, 0.3, 0.0]]).repeat(40_000, 1)
    fast = draw(probs, torch.Generator().manual_seed(0))
    plain = torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(0)).squeeze(-1)
    for tokens in (fast, plain):
        freq = torch.bincount(tokens, minlength=5).float() / len(tokens)
        torch.testing.assert_close(freq, probs[0], atol=0.01, rtol=0)  # ~4 standard errors
    assert not torch.isin(fast, torch.tensor([0, 4])).any()


def test_inverse_cdf_draw_at_the_top_of_the_range_stays_on_a_real_token(monkeypatch):
    """If rounding makes u equal the row's total mass, the last token with probability > 0 is drawn,
    not one past it nor a trailing zero-probability token."""
    monkeypatch.setattr(torch, "rand", lambda shape, **kw: torch.full(shape, 1.0))
    probs = torch.tensor([[0.2, 0.8, 0.0], [0.5, 0.25, 0.25]])
    assert draw(probs).tolist() == [1, 2]


def test_finished_rows_leave_the_batch_without_changing_any_row():
    """Rows that stop early are dropped from the cached batch (compaction); greedy tokens and the
    drawn log-probabilities of every row stay those of the plain, uncached path."""
    model = make_model()
    prompts = PROMPTS * 3
    free = greedy(model, prompts, n=20)
    stop = free[1][2]  # row 1 (and its copies) stop by step 3; most other rows run longer
    batch_sizes = []
    model.register_forward_pre_hook(lambda module, args: batch_sizes.append(args[0].shape[0]))
    cached, cached_lp = generate(model, prompts, 20, temperature=0, stop_tokens=[stop], pad_id=PAD,
                                 return_logprobs=True)
    assert min(batch_sizes) < len(prompts), "no row was dropped: the test would prove nothing"
    assert max(map(len, cached)) > 4, "every row stopped early: the test would prove nothing"
    uncached, uncached_lp = generate(model, prompts, 20, temperature=0, stop_tokens=[stop], pad_id=PAD,
                                     use_cache=False, return_logprobs=True)
    assert cached == uncached
    for a, b in zip(cached_lp, uncached_lp):
        torch.testing.assert_close(torch.tensor(a), torch.tensor(b), atol=1e-4, rtol=0)


def test_sampled_logprobs_match_plain_forward_after_rows_leave_the_batch():
    model = make_model()
    prompts = PROMPTS * 3
    stop = greedy(model, prompts, n=20)[1][2]
    new, logprobs = generate(model, prompts, 16, temperature=1.0, stop_tokens=[stop], pad_id=PAD,
                             return_logprobs=True, generator=torch.Generator().manual_seed(0))
    assert len({len(row) for row in new}) > 1
    for prompt, completion, lp in zip(prompts, new, logprobs):
        seq = torch.tensor([prompt + completion])
        expected = token_logprobs(model(seq[:, :-1]), seq[:, 1:])[0, len(prompt) - 1:]
        torch.testing.assert_close(torch.tensor(lp), expected, atol=1e-4, rtol=0)
