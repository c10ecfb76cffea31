"""Tests for exercise 02. They reach the functions only through `impl` (see exercises/conftest.py)."""
import torch

from exercises.checks import assert_close
from exercises.framework import load

REFERENCE = load("02_rope").reference
HD, L, THETA = 8, 32, 10000.0


def test_tables_match_the_reference(impl):
    cos, sin = impl.rope_tables(HD, L, THETA)
    want_cos, want_sin = REFERENCE.rope_tables(HD, L, THETA)
    assert cos.shape == sin.shape == (L, HD // 2), "tables are (max_seq_len, head_dim / 2): one angle per pair"
    assert torch.equal(cos[0], torch.ones(HD // 2)) and torch.equal(sin[0], torch.zeros(HD // 2)), \
        "position 0 has angle 0: positions count from 0"
    assert_close(sin, want_sin, "sin table", mistakes={"half the exponent: the frequencies are theta^(−2i/head_dim)":
                                                       torch.outer(torch.arange(L).float(), THETA ** (-torch.arange(HD // 2) / HD)).sin()})
    assert_close(cos, want_cos, "cos table")


def test_apply_matches_the_reference(impl):
    cos, sin = REFERENCE.rope_tables(HD, L, THETA)
    x = torch.randn(2, 3, L, HD)  # (B, H, T, head_dim)
    assert_close(impl.apply_rope(x, cos, sin), REFERENCE.apply_rope(x, cos, sin), "rotated x")
    positions = torch.randint(0, L, (2, 5))  # per-row positions, as a left-padded batch uses them
    pc, ps = cos[positions].unsqueeze(1), sin[positions].unsqueeze(1)  # (B, 1, T, head_dim/2): broadcast over heads
    y = torch.randn(2, 2, 3, 5, HD)  # queries and keys at once: (2, B, H, T, head_dim)
    assert_close(impl.apply_rope(y, pc, ps), REFERENCE.apply_rope(y, pc, ps), "rotated q and k with per-row positions")


def test_rotation_keeps_norms_and_position_zero(impl):
    cos, sin = REFERENCE.rope_tables(HD, L, THETA)
    x = torch.randn(1, 1, L, HD)
    y = impl.apply_rope(x, cos, sin)
    assert_close(y.norm(dim=-1), x.norm(dim=-1), "norm of each rotated vector (a rotation keeps lengths)")
    assert_close(y[..., 0, :], x[..., 0, :], "position 0 (angle 0: unchanged)")


def test_scores_depend_only_on_relative_position(impl):
    """The point of RoPE: q_m · k_n is a function of m − n."""
    cos, sin = REFERENCE.rope_tables(HD, L, THETA)
    q, k = torch.randn(HD), torch.randn(HD)
    rotate = lambda v, pos: impl.apply_rope(v[None, None, None], cos[pos:pos + 1], sin[pos:pos + 1])[0, 0, 0]  # noqa: E731
    for m, n, shift in [(5, 2, 7), (9, 9, 3), (1, 6, 20)]:
        a = torch.dot(rotate(q, m), rotate(k, n))
        b = torch.dot(rotate(q, m + shift), rotate(k, n + shift))
        assert abs(float(a - b)) < 1e-4, f"q·k at positions ({m}, {n}) and shifted by {shift} differ: {float(a)} vs {float(b)}"
    reference = lambda v, pos: REFERENCE.apply_rope(v[None, None, None], cos[pos:pos + 1], sin[pos:pos + 1])[0, 0, 0]  # noqa: E731
    assert_close(torch.dot(rotate(q, 3), rotate(k, 0)), torch.dot(reference(q, 3), reference(k, 0)), "q_3 · k_0",
                 atol=1e-4, min_scale=1)


def test_keeps_the_input_dtype(impl):
    cos, sin = REFERENCE.rope_tables(HD, L, THETA)
    x = torch.randn(1, 2, L, HD).to(torch.bfloat16)
    y = impl.apply_rope(x, cos, sin)
    assert y.dtype == torch.bfloat16, "compute in fp32, return x's dtype (.type_as(x))"
    assert_close(y.float(), REFERENCE.apply_rope(x, cos, sin).float(), "rotated bf16 x", atol=1e-2, rtol=1e-2)
