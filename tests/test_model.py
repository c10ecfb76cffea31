"""Model tests: KV cache and padding mask, DeepSeekMoE routing and load balancing, parameter counts."""
import pytest
import torch
from conftest import make_context_model, make_tiny_model
import torch.nn.functional as F

from r1mini.config import model_config
from r1mini.model import MoE, Transformer, sequence_balance_loss, token_logprobs

VOCAB = 40


def make_model(preset="tiny", seed=0, **overrides) -> Transformer:
    return make_context_model(preset, seed, VOCAB, **overrides)


def left_pad(prompts, pad_id=0):
    """Padded tokens, positions from 0 at each first real token, key mask (True = real)."""
    P = max(map(len, prompts))
    tokens = torch.tensor([[pad_id] * (P - len(p)) + p for p in prompts])
    key_mask = torch.tensor([[False] * (P - len(p)) + [True] * len(p) for p in prompts])
    positions = (key_mask.long().cumsum(1) - 1).clamp(min=0)
    return tokens, positions, key_mask


PROMPTS = [[1, 2, 3, 4, 5, 6, 7], [8, 9], [10, 11, 12, 13]]


@pytest.mark.parametrize("preset", ["tiny", "student"])
def test_padded_batch_logits_match_each_prompt_alone(preset):
    model = make_model(preset)
    tokens, positions, key_mask = left_pad(PROMPTS)
    batch_logits = model(tokens, positions, key_mask)
    P = tokens.shape[1]
    for i, p in enumerate(PROMPTS):
        alone = model(torch.tensor([p]))[0]
        torch.testing.assert_close(batch_logits[i, P - len(p):], alone, atol=1e-4, rtol=0)


@pytest.mark.parametrize("preset", ["tiny", "student"])
def test_cached_logits_match_uncached(preset):
    model = make_model(preset)
    tokens, positions, key_mask = left_pad(PROMPTS)
    tokens = torch.cat([tokens, torch.randint(1, VOCAB, (3, 5))], dim=1)  # 5 "generated" tokens
    key_mask = torch.cat([key_mask, torch.ones(3, 5, dtype=torch.bool)], dim=1)
    positions = torch.cat([positions, positions[:, -1:] + torch.arange(1, 6)], dim=1)
    full = model(tokens, positions, key_mask)
    P, S = len(PROMPTS[0]), tokens.shape[1]
    cache = model.new_kv_cache(3, S)
    steps = [model(tokens[:, :P], positions[:, :P], key_mask, cache, 0)]  # prefill
    for t in range(P, S):  # then one token at a time
        steps.append(model(tokens[:, t:t + 1], positions[:, t:t + 1], key_mask, cache, t))
    cached = torch.cat(steps, dim=1)
    real = key_mask  # compare real tokens only; padding queries are never used
    torch.testing.assert_close(cached[real], full[real], atol=1e-4, rtol=0)


def test_attention_mask_hides_padding_but_never_a_whole_row():
    key_mask = torch.tensor([[False, False, True, True, True], [True] * 5])
    mask = Transformer.attention_mask(key_mask, T=3, cache_pos=0, device="cpu")  # (B, 1, T, S)
    assert mask.shape == (2, 1, 3, 3)
    assert mask.any(-1).all(), "a fully masked query row gives NaN in some attention kernels"
    assert not mask[0, 0, 2, :2].any() and mask[0, 0, 2, 2]  # first real token sees only itself
    decode = Transformer.attention_mask(key_mask, T=1, cache_pos=4, device="cpu")
    assert decode[:, 0, 0].tolist() == key_mask.tolist()


def test_training_path_is_causal():
    model = make_model()
    x = torch.randint(0, VOCAB, (2, 12))
    y = x.clone()
    y[:, 8:] = (y[:, 8:] + 1) % VOCAB
    torch.testing.assert_close(model(x)[:, :8], model(y)[:, :8])
    assert not torch.allclose(model(x)[:, 8:], model(y)[:, 8:])


def test_forward_rejects_too_long_sequence():
    model = make_model(max_seq_len=16)
    with pytest.raises(ValueError, match="max_seq_len"):
        model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match="max_seq_len"):
        model.new_kv_cache(1, 17)


def test_token_logprobs():
    logits = torch.randn(2, 5, VOCAB)
    targets = torch.randint(0, VOCAB, (2, 5))
    expected = F.log_softmax(logits, -1).gather(-1, targets[..., None])[..., 0]
    torch.testing.assert_close(token_logprobs(logits, targets), expected)


# ---- DeepSeekMoE ----

def gate_input(model, n_tokens=64, seed=1):
    torch.manual_seed(seed)
    return torch.randn(2, n_tokens // 2, model.cfg.d_model)


def test_each_token_routes_to_exactly_k_experts_with_gates_summing_to_one():
    model = make_model()
    gate = model.gates[0]
    weights, indices, _ = gate(gate_input(model))
    K, E = model.cfg.n_activated_experts, model.cfg.n_routed_experts
    assert indices.shape == weights.shape == (2, 32, K)
    assert ((indices >= 0) & (indices < E)).all()
    assert (indices.sort(-1).values.diff(dim=-1) > 0).all(), "the K experts must be distinct"
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 32))
    assert (weights > 0).all()


def test_expert_bias_changes_selection_not_gate_values():
    model = make_model()
    gate = model.gates[0]
    x = gate_input(model)
    scores = torch.sigmoid(x @ gate.weight.T)
    gate.expert_bias.zero_()
    _, unbiased, _ = gate(x)
    gate.expert_bias[3] = 10.0  # expert 3 now wins every token
    weights, indices, _ = gate(x)
    assert (indices == 3).any(-1).all() and not (unbiased == 3).any(-1).all()
    # gate values are the normalised *affinities* of the chosen experts; the bias is not in them
    selected = scores.gather(-1, indices)
    torch.testing.assert_close(weights, selected / selected.sum(-1, keepdim=True))
    gate.expert_bias.zero_()
    gate.expert_bias += 5.0  # a uniform shift keeps the selection, so nothing changes
    weights_shifted, indices_shifted, _ = gate(x)
    gate.expert_bias.zero_()
    weights0, indices0, _ = gate(x)
    assert torch.equal(indices_shifted, indices0)
    torch.testing.assert_close(weights_shifted, weights0)


def test_moe_output_is_shared_plus_gated_routed_experts():
    model = make_model()
    moe = model.layers[1].ffn
    assert isinstance(moe, MoE)
    x = gate_input(model, n_tokens=8)
    weights, indices, _ = moe.gate(x)
    expected = moe.shared_experts(x).clone()
    for b in range(2):
        for t in range(4):
            for k in range(model.cfg.n_activated_experts):
                expected[b, t] += weights[b, t, k] * moe.experts[indices[b, t, k]](x[b, t])
    torch.testing.assert_close(moe(x)[0], expected, atol=1e-5, rtol=1e-5)


def test_bias_update_balances_skewed_load():
    model = make_model(bias_update_speed=0.05)
    with torch.no_grad():
        for gate in model.gates:
            gate.expert_bias.zero_()
            gate.expert_bias[0] = 1.0  # > any affinity gap (sigmoid is in (0, 1)): expert 0 wins every token

    x = torch.randint(0, VOCAB, (8, 32))
    history = []
    for _ in range(25):
        _, routing = model(x, real_tokens=torch.ones_like(x, dtype=torch.bool))
        history.append(routing.load_stats()["expert_load_max_over_mean"])
        model.update_expert_bias(routing.expert_counts)
    E, K = model.cfg.n_routed_experts, model.cfg.n_activated_experts
    assert history[0] == pytest.approx(E / K)
    assert max(history[-5:]) < 1.2, history
    assert model.gates[0].expert_bias[0] < 1.0 - 0.2  # the overloaded expert's bias went down


def test_expert_counts_and_balance_loss_see_real_tokens_only():
    """Right-padded rows: what the padding routes to must not count, in the loads or in the loss."""
    model = make_model()
    x = torch.randint(0, VOCAB, (2, 8))
    real = torch.ones(2, 8, dtype=torch.bool)
    real[1, 5:] = False                              # row 1 has 3 pad positions
    _, routing = model(x, real_tokens=real)
    for counts in routing.expert_counts:
        assert counts.sum() == 13 * model.cfg.n_activated_experts
    # changing what sits in the padded positions changes neither the counts nor the loss
    # (causal attention: real positions never see the later padding)
    other = x.clone()
    other[1, 5:] = (x[1, 5:] + 7) % VOCAB
    _, routing_other = model(other, real_tokens=real)
    assert routing_other.balance_loss.item() == pytest.approx(routing.balance_loss.item(), rel=1e-6)
    for a, b in zip(routing.expert_counts, routing_other.expert_counts):
        assert torch.equal(a, b)
    # and with the padding counted as real, the counts do change
    _, routing_all = model(x, real_tokens=torch.ones_like(real))
    assert routing_all.expert_counts[0].sum() == 16 * model.cfg.n_activated_experts


def test_plain_forward_returns_logits_only():
    model = make_model()
    logits = model(torch.randint(0, VOCAB, (2, 8)))
    assert isinstance(logits, torch.Tensor) and logits.shape == (2, 8, VOCAB)


def test_sequence_balance_loss_formula():
    """alpha * sum_i f_i P_i per sequence over its real tokens (V3 eq. 17-20), against a direct loop."""
    E, K, T = 8, 2, 6
    scores = torch.rand(3, T, E)
    indices = torch.topk(scores, K, dim=-1).indices
    real = torch.ones(3, T, dtype=torch.bool)
    real[2, 4:] = False
    expected = 0.0
    for b in range(3):
        steps = [t for t in range(T) if real[b, t]]
        for i in range(E):
            f = E / (K * len(steps)) * sum(int(i in indices[b, t].tolist()) for t in steps)
            P = sum(scores[b, t, i] / scores[b, t].sum() for t in steps) / len(steps)
            expected += f * P / 3
    assert sequence_balance_loss(scores, indices, real, 0.5).item() == pytest.approx(0.5 * float(expected), rel=1e-5)


def test_balance_loss_positive_with_gradient_to_gates():
    model = make_model().train()
    x = torch.randint(0, VOCAB, (2, 16))
    _, routing = model(x, real_tokens=torch.ones_like(x, dtype=torch.bool))
    assert routing.balance_loss.item() > 0
    routing.balance_loss.backward()
    for gate in model.gates:
        assert gate.weight.grad is not None and gate.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("preset", ["student", "tiny"])
def test_dense_config_has_no_moe(preset):
    model = make_model(preset, n_routed_experts=0)
    assert model.gates == []
    assert not any(isinstance(m, MoE) for m in model.modules())
    x = torch.randint(0, VOCAB, (2, 8))
    _, routing = model(x, real_tokens=torch.ones_like(x, dtype=torch.bool))
    assert routing.balance_loss.item() == 0 and routing.expert_counts == [] and routing.load_stats() == {}
    assert model.num_params(active_only=True) == model.num_params()


def test_num_params_active():
    model = make_model()
    cfg = model.cfg
    total = sum(p.numel() for p in model.parameters())
    per_expert = 3 * cfg.d_model * cfg.expert_hidden
    n_moe = cfg.n_layers - cfg.n_dense_layers
    assert model.num_params() == total
    assert model.num_params(active_only=True) == total - n_moe * (cfg.n_routed_experts - cfg.n_activated_experts) * per_expert


def test_moe_with_an_idle_expert_matches_the_per_token_formula_and_trains_it_not():
    """The sorted dispatch gives an expert with no tokens an empty slice: output as per token, and no
    gradient reaches that expert."""
    model = make_model()
    moe = model.layers[1].ffn
    with torch.no_grad():
        moe.gate.expert_bias[0] = -100.0  # never selected
    x = gate_input(model, n_tokens=8)
    out, (_, indices) = moe(x)
    assert not (indices == 0).any()
    weights = moe.gate(x)[0]
    expected = torch.stack([moe.shared_experts(x[b, t]) + sum(weights[b, t, k] * moe.experts[indices[b, t, k]](x[b, t])
                                                               for k in range(indices.shape[-1]))
                            for b in range(2) for t in range(4)]).view_as(out)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    out.sum().backward()
    assert all(p.grad is None or not p.grad.any() for p in moe.experts[0].parameters())
    assert moe.experts[indices[0, 0, 0]].w1.weight.grad.abs().sum() > 0


def test_make_optimizer_updates_are_the_per_tensor_loops_bits():
    """make_optimizer asks AdamW for its foreach path (faster on a CPU); it must give exactly the
    numbers the per-tensor loop gives, or every result of the project would move."""
    from r1mini.train_utils import make_optimizer
    tokens = torch.randint(0, 300, (4, 12), generator=torch.Generator().manual_seed(1))
    models = []
    for foreach in (True, False):
        model = make_tiny_model(0).train()
        optimizer = make_optimizer(model, 3e-3, 0.1)
        assert all(group["foreach"] for group in optimizer.param_groups)
        for group in optimizer.param_groups:
            group["foreach"] = foreach
        for _ in range(5):
            optimizer.zero_grad(set_to_none=True)
            logits = model(tokens[:, :-1])
            torch.nn.functional.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten()).backward()
            optimizer.step()
        models.append(model.state_dict())
    assert all(torch.equal(models[0][name], models[1][name]) for name in models[0])
    initial = make_tiny_model(0).state_dict()
    assert any(not torch.equal(models[0][name], initial[name]) for name in models[0])  # the steps did train
