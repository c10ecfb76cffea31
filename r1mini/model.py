"""The DeepSeekMoE transformer: a small DeepSeek-V3 (arXiv 2412.19437) without MLA or MTP.

What comes from where:
  RMSNorm             pre-norm residual blocks, as in V3 (and LLaMA)
  RoPE                rotary position embeddings, applied with explicit per-token positions so a
                      left-padded prompt sees exactly the positions it would see unpadded
  Attention           causal multi-head attention with an optional preallocated KV cache
  MLP                 SwiGLU feed-forward: w2(silu(w1 x) * w3 x)
  Gate, MoE           DeepSeekMoE, V3 §2.1.2 eq. 12-16: shared experts + top-K of many narrow
                      routed experts, sigmoid affinities, selection bias for aux-loss-free
                      balancing (§2.1.2 "Auxiliary-Loss-Free Load Balancing") and the
                      complementary sequence-wise balance loss (eq. 17-20)
  Transformer         embedding -> n_layers Blocks -> RMSNorm -> tied output head

Reading order: top to bottom — the pieces of a block (RMSNorm, RoPE, Attention with its KV cache,
MLP), then DeepSeekMoE (Gate, sequence_balance_loss, MoE), then Block and Transformer, whose
forward also reports the routing (Routing) that training turns into balance loss and bias nudges.
The first `cfg.n_dense_layers` layers use a dense MLP, like V3; `cfg.n_routed_experts == 0`
makes every layer dense (the distillation student).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from r1mini.config import ModelConfig


@dataclass
class Routing:
    """What a training forward reports about the MoE layers (one entry per MoE layer)."""
    balance_loss: torch.Tensor          # sum over layers of the sequence-wise balance loss (eq. 17)
    expert_counts: list[torch.Tensor]   # tokens routed to each expert, real tokens only

    def load_stats(self) -> dict:
        """max(load)/mean(load) and min/mean averaged over MoE layers (1.0 = perfectly balanced)."""
        loads = [c for c in self.expert_counts if c.sum() > 0]
        if not loads:
            return {}
        return {"expert_load_max_over_mean": sum(float(c.max() / c.mean()) for c in loads) / len(loads),
                "expert_load_min_over_mean": sum(float(c.min() / c.mean()) for c in loads) / len(loads)}


class RMSNorm(nn.Module):
    """x / rms(x) * weight: LayerNorm without centring or bias (cheaper, works as well)."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (x.size(-1),), self.weight, self.eps)


def rope_tables(head_dim: int, max_seq_len: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of angle pos * theta^(-2i/head_dim), shape (max_seq_len, head_dim/2)."""
    inv_freq = theta ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(max_seq_len, dtype=torch.float32), inv_freq)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each (x1, x2) pair of x (..., B, H, T, head_dim) by its position's angle.

    Pairs are the two halves of the head dimension (the "rotate half" layout); any fixed pairing
    works as long as queries and keys use the same one.
    """
    x1, x2 = x.float().chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).type_as(x)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        assert cfg.d_model % cfg.n_heads == 0, "d_model must be divisible by n_heads"
        self.n_heads, self.head_dim = cfg.n_heads, cfg.d_model // cfg.n_heads
        self.wqkv = nn.Linear(cfg.d_model, 3 * cfg.d_model, bias=False)
        self.wo = nn.Linear(cfg.d_model, cfg.d_model, bias=False)

    def forward(self, x, cos, sin, attn_mask=None, kv_cache=None, cache_pos: int = 0):
        """attn_mask: None (plain causal) or bool (B, 1, T, S), True = may attend.
        kv_cache: None or this layer's (k, v) buffers (B, H, max_len, head_dim); the new keys and
        values are written at [cache_pos, cache_pos + T) and attention reads [0, cache_pos + T)."""
        B, T, D = x.shape
        qkv = self.wqkv(x).view(B, T, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k = apply_rope(qkv[:2], cos, sin)  # queries and keys rotated in one go (half the ops)
        v = qkv[2]
        if kv_cache is not None:
            k_cache, v_cache = kv_cache
            k_cache[:, :, cache_pos:cache_pos + T] = k
            v_cache[:, :, cache_pos:cache_pos + T] = v
            k, v = k_cache[:, :, :cache_pos + T], v_cache[:, :, :cache_pos + T]
        if attn_mask is None:  # training path: right-padded rows, causality is all we need
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        elif T == 1:  # decoding: one query per row; two small batched matmuls beat the fused kernel here
            scores = torch.matmul(q, k.transpose(-1, -2).to(q.dtype)) * self.head_dim ** -0.5
            scores = scores.masked_fill(~attn_mask, float("-inf"))
            y = torch.matmul(scores.softmax(dim=-1), v.to(q.dtype))
        else:
            y = F.scaled_dot_product_attention(q, k.to(q.dtype), v.to(q.dtype), attn_mask=attn_mask)
        return self.wo(y.transpose(1, 2).reshape(B, T, D))


class MLP(nn.Module):
    """SwiGLU feed-forward w2(silu(w1 x) * w3 x). Used for the dense layers and as each expert."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)  # gate projection (goes through silu)
        self.w3 = nn.Linear(dim, hidden, bias=False)  # up projection
        self.w2 = nn.Linear(hidden, dim, bias=False)  # down projection (a residual projection)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Gate(nn.Module):
    """The DeepSeekMoE router (V3 eq. 13-16).

    s_i = sigmoid(u . e_i)                affinity of token u for routed expert i
    selected = top-K of s_i + b_i         b_i = expert_bias, used for the choice only
    g_i = s_i / sum_{j selected} s_j      gate values of the selected experts (sum to 1)
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_experts, self.topk = cfg.n_routed_experts, cfg.n_activated_experts
        self.weight = nn.Parameter(torch.empty(cfg.n_routed_experts, cfg.d_model))  # rows are e_i
        # Aux-loss-free balancing: b_i is not trained by gradients, Transformer.update_expert_bias
        # nudges it; it is saved with the model because it changes which experts are chosen.
        self.register_buffer("expert_bias", torch.zeros(cfg.n_routed_experts))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, T, D) -> gate values (B, T, K) in x's dtype, expert indices (B, T, K) and the fp32
        affinities s (B, T, E) that the balance loss needs."""
        scores = torch.sigmoid(F.linear(x, self.weight).float())           # s_{i,t}, (B, T, E)
        indices = torch.topk(scores + self.expert_bias, self.topk, dim=-1).indices
        selected = scores.gather(-1, indices)
        weights = selected / selected.sum(dim=-1, keepdim=True)
        return weights.type_as(x), indices, scores


def sequence_balance_loss(scores: torch.Tensor, indices: torch.Tensor, real: torch.Tensor, alpha: float) -> torch.Tensor:
    """V3 eq. 17-20 over each sequence's real tokens (padding excluded), averaged over the batch:
    alpha * sum_i f_i P_i,  f_i = E/(K T) * #tokens routed to i,  P_i = mean_t s_{i,t} / sum_j s_{j,t}.
    f_i counts the actual selection (with the bias) and carries no gradient; P_i does, so the loss
    pushes affinity away from experts that this sequence overloads."""
    E, K = scores.shape[-1], indices.shape[-1]
    real = real.float()
    n_real = real.sum(dim=1).clamp(min=1)                                  # T per sequence, (B,)
    chosen = F.one_hot(indices, E).sum(dim=2).float() * real[..., None]   # (B, T, E) selections
    f = chosen.sum(dim=1) * E / (K * n_real[:, None])
    P = ((scores / scores.sum(dim=-1, keepdim=True)) * real[..., None]).sum(dim=1) / n_real[:, None]
    return alpha * (f * P).sum(dim=-1).mean()


class MoE(nn.Module):
    """h = sum of shared experts(u) + sum over selected i of g_i * expert_i(u)   (V3 eq. 12;
    Block adds the residual u). No token dropping: every token gets exactly K routed experts."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.gate = Gate(cfg)
        self.experts = nn.ModuleList(MLP(cfg.d_model, cfg.expert_hidden) for _ in range(cfg.n_routed_experts))
        # n shared experts of width h are one MLP of width n*h (their hidden units just concatenate).
        self.shared_experts = (MLP(cfg.d_model, cfg.n_shared_experts * cfg.expert_hidden)
                               if cfg.n_shared_experts > 0 else None)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """-> (output, (affinities, chosen experts)): the routing goes back to Transformer.forward,
        which turns it into the balance loss and expert loads when training asks for them."""
        shape, K = x.shape, self.gate.topk
        weights, indices, scores = self.gate(x)
        flat_x, weights, flat_indices = x.reshape(-1, shape[-1]), weights.reshape(-1, K), indices.reshape(-1, K)
        # Dispatch: sort the N*K (token, expert) pairs by expert once, so each expert's tokens are one
        # contiguous slice of a single gather; run every expert on its slice; combine with a single
        # weighted scatter-add. (V3's reference code gathers and scatters once per expert instead.)
        order = flat_indices.flatten().argsort(stable=True)     # pair p = token p // K, slot p % K
        token_of_pair = order // K
        counts = torch.bincount(flat_indices.flatten(), minlength=len(self.experts)).tolist()
        expert_inputs = flat_x.index_select(0, token_of_pair).split(counts)
        expert_outputs = torch.cat([expert(chunk) for expert, chunk in zip(self.experts, expert_inputs)])
        gate_of_pair = weights.flatten().index_select(0, order)[:, None]
        y = torch.zeros_like(flat_x).index_add_(0, token_of_pair, expert_outputs * gate_of_pair)
        if self.shared_experts is not None:
            y = y + self.shared_experts(flat_x)
        return y.view(shape), (scores, indices)


class Block(nn.Module):
    def __init__(self, layer_id: int, cfg: ModelConfig):
        super().__init__()
        self.attn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = Attention(cfg)
        self.ffn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        dense = not cfg.is_moe or layer_id < cfg.n_dense_layers
        self.ffn = MLP(cfg.d_model, cfg.dense_hidden) if dense else MoE(cfg)

    def forward(self, x, cos, sin, attn_mask=None, kv_cache=None, cache_pos: int = 0):
        """-> (x, routing): routing is the MoE layer's (affinities, chosen experts), None if dense."""
        x = x + self.attn(self.attn_norm(x), cos, sin, attn_mask, kv_cache, cache_pos)
        out = self.ffn(self.ffn_norm(x))
        out, routing = out if isinstance(out, tuple) else (out, None)
        return x + out, routing


class Transformer(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        assert cfg.vocab_size > 0, "set cfg.vocab_size (see config.model_config)"
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.layers = nn.ModuleList(Block(i, cfg) for i in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        self.head.weight = self.embed.weight  # weight tying (nanoGPT)
        cos, sin = rope_tables(cfg.d_model // cfg.n_heads, cfg.max_seq_len, cfg.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: scale residual projections by 1/sqrt(2 L)
            if name.endswith(("attn.wo.weight", "w2.weight")):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layers))

    @staticmethod
    def _init_weights(module: nn.Module):
        if isinstance(module, (nn.Linear, nn.Embedding, Gate)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    @property
    def gates(self) -> list[Gate]:
        return [layer.ffn.gate for layer in self.layers if isinstance(layer.ffn, MoE)]

    def forward(self, tokens: torch.Tensor, positions: torch.Tensor | None = None,
                key_mask: torch.Tensor | None = None, kv_cache: list | None = None,
                cache_pos: int = 0, real_tokens: torch.Tensor | None = None):
        """tokens (B, T) -> fp32 logits (B, T, vocab).

        positions (B, T): RoPE position of each token (default cache_pos + 0..T-1).
        key_mask (B, S >= cache_pos + T): True for real tokens, False for padding to ignore.
        kv_cache: from new_kv_cache(); tokens are written at cache_pos..cache_pos+T-1.
        Without kv_cache and key_mask this is plain causal attention (the training path).
        real_tokens (B, T) bool: training passes it to get (logits, Routing) back — the balance
        loss and the expert loads of the real (non-padding) tokens."""
        B, T = tokens.shape
        if cache_pos + T > self.cfg.max_seq_len:
            raise ValueError(f"sequence length {cache_pos + T} exceeds max_seq_len {self.cfg.max_seq_len}")
        if positions is None:
            positions = torch.arange(cache_pos, cache_pos + T, device=tokens.device)
        cos = self.rope_cos[positions].unsqueeze(-3)  # (1, T, hd/2) or (B, 1, T, hd/2): broadcasts over heads
        sin = self.rope_sin[positions].unsqueeze(-3)
        attn_mask = None
        if key_mask is not None or cache_pos > 0:
            attn_mask = self.attention_mask(key_mask, T, cache_pos, tokens.device)
        x, routings = self.embed(tokens), []
        for i, layer in enumerate(self.layers):
            x, routing = layer(x, cos, sin, attn_mask, None if kv_cache is None else kv_cache[i], cache_pos)
            routings.append(routing)
        logits = self.head(self.norm(x)).float()
        if real_tokens is None:
            return logits
        routings = [r for r in routings if r is not None]
        loss = sum((sequence_balance_loss(s, i, real_tokens, self.cfg.seq_aux_alpha) for s, i in routings),
                   logits.new_zeros(()))
        counts = [torch.bincount(i[real_tokens].flatten(), minlength=self.cfg.n_routed_experts).float()
                  for _, i in routings]
        return logits, Routing(loss, counts)

    @staticmethod
    def attention_mask(key_mask, T: int, cache_pos: int, device) -> torch.Tensor:
        """Bool (B or 1, 1, T, S) mask for queries at cache_pos..cache_pos+T-1 over keys 0..S-1:
        causal, minus padded keys. Every query also sees itself, so a padding query is never fully
        masked (that would give NaN rows, and NaN * 0 attention weight is still NaN downstream)."""
        S = cache_pos + T
        query_pos = torch.arange(cache_pos, S, device=device)[:, None]
        key_pos = torch.arange(S, device=device)[None, :]
        mask = key_pos <= query_pos
        if key_mask is not None:
            mask = (mask & key_mask[:, None, None, :S]) | (key_pos == query_pos)
        return mask if mask.dim() == 4 else mask[None, None]

    def new_kv_cache(self, batch_size: int, max_len: int, device=None, dtype=None) -> list:
        """Preallocated per-layer (k, v) buffers, each (batch, n_heads, max_len, head_dim)."""
        if max_len > self.cfg.max_seq_len:
            raise ValueError(f"KV cache length {max_len} exceeds max_seq_len {self.cfg.max_seq_len}")
        p = self.embed.weight
        shape = (batch_size, self.cfg.n_heads, max_len, self.cfg.d_model // self.cfg.n_heads)
        kw = dict(device=device or p.device, dtype=dtype or p.dtype)
        return [(torch.zeros(shape, **kw), torch.zeros(shape, **kw)) for _ in self.layers]

    # ---- aux-loss-free load balancing (V3 §2.1.2) ----

    @torch.no_grad()
    def update_expert_bias(self, expert_counts: list[torch.Tensor], speed: float | None = None) -> None:
        """b_i -= gamma if expert i got more than the mean load, += gamma if less (call after each
        optimizer step with the step's Routing.expert_counts; speed defaults to cfg.bias_update_speed)."""
        speed = self.cfg.bias_update_speed if speed is None else speed
        for gate, load in zip(self.gates, expert_counts):
            if load.sum() > 0:
                gate.expert_bias += speed * torch.sign(load.mean() - load)

    def num_params(self, active_only: bool = False) -> int:
        """Parameter count (tied embedding counted once). active_only: what one token uses —
        shared experts and K of the routed experts, not all of them."""
        total = sum(p.numel() for p in self.parameters())
        if active_only:
            for layer in self.layers:
                if isinstance(layer.ffn, MoE):
                    per_expert = sum(p.numel() for p in layer.ffn.experts[0].parameters())
                    total -= per_expert * (self.cfg.n_routed_experts - self.cfg.n_activated_experts)
        return total


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log p(target) per position: logits (B, T, V), targets (B, T) -> (B, T) fp32.
    Written as gather - logsumexp, which equals log_softmax + gather without a (B, T, V) copy."""
    logits = logits.float()
    return logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)
