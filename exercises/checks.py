"""Assertions the exercise tests share: compare with the reference, and name a recognised mistake."""
from __future__ import annotations

import torch


def assert_close(actual, expected, what: str, atol: float = 1e-5, rtol: float = 1e-4, mistakes: dict | None = None,
                 min_scale: float = 100.0):
    """actual ≈ expected, else an AssertionError that names the mistake when `actual` matches one of
    `mistakes` ({message: what that mistake would give}).

    The comparison must mean something: the expected values must stand `min_scale` times above atol
    (a zero loss must not pass a test whose answer is 0.004 under atol 0.01)."""
    if isinstance(expected, torch.Tensor):
        expected = expected.detach()
    expected = torch.as_tensor(expected, dtype=torch.float64)
    assert expected.abs().max() > min_scale * atol, f"test bug: expected values of {what} are too small to compare"
    if not isinstance(actual, torch.Tensor) and not isinstance(actual, (int, float)):
        raise AssertionError(f"{what}: expected a tensor or a number, got {type(actual).__name__}")
    actual = torch.as_tensor(actual).detach().to(torch.float64)
    assert actual.shape == expected.shape, f"{what}: shape {tuple(actual.shape)}, expected {tuple(expected.shape)}"
    if torch.allclose(actual, expected, rtol=rtol, atol=atol):
        return
    for message, wrong in (mistakes or {}).items():
        wrong = (wrong.detach() if isinstance(wrong, torch.Tensor) else torch.as_tensor(wrong)).to(torch.float64)
        if wrong.shape == actual.shape and torch.allclose(actual, wrong, rtol=rtol, atol=atol):
            raise AssertionError(f"{what} looks like {message}")
    diff = (actual - expected).abs().max()
    raise AssertionError(f"{what} differs from the reference by up to {float(diff):.4g}\n"
                         f"got      {actual.flatten()[:8].tolist()}\nexpected {expected.flatten()[:8].tolist()}")
