"""Shared fixtures: the real tokenizer, and a tiny random-init DeepSeekMoE model built with its
vocabulary. Everything is seeded, so every test sees the same weights on every run."""
import random

import pytest
import torch

from r1mini.config import model_config
from r1mini.model import Transformer
from r1mini.tokenizer import get_tokenizer

# One thread: the models here are tiny, and on a 2-core machine shared with a training run, two
# OpenMP threads fighting for the cores made a GRPO step ~100x slower (7 s instead of 0.05 s).
torch.set_num_threads(1)


def make_tiny_model(seed: int = 0, **overrides) -> Transformer:
    """The "tiny" preset with the real tokenizer's vocabulary, random init, eval mode."""
    torch.manual_seed(seed)
    model = Transformer(model_config("tiny", get_tokenizer().n_vocab, **overrides))
    return model.eval()


@pytest.fixture(autouse=True)
def _fixed_seeds():
    """Every test starts from the same global RNG state (tests stay independent of their order)."""
    random.seed(0)
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def tokenizer():
    return get_tokenizer()


@pytest.fixture
def tiny_model():
    return make_tiny_model()


def make_context_model(preset: str, seed: int, vocab_size: int, **overrides) -> Transformer:
    """A random model whose outputs depend on context. (The default init with tied embeddings just
    repeats the last token, which would make cache/padding bugs invisible.)"""
    torch.manual_seed(seed)
    model = Transformer(model_config(preset, vocab_size, **overrides))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0, 0.3 if name.startswith("embed") else 2 / p.shape[-1] ** 0.5)
        for gate in model.gates:
            gate.expert_bias.normal_(0, 0.05)
    return model.eval()


def crash_at(monkeypatch, module, name, call_number, exception=KeyboardInterrupt):
    """Make module.name raise on its call_number-th call (a kill at a chosen moment)."""
    real, calls = getattr(module, name), {"n": 0}

    def wrapper(*a, **kw):
        calls["n"] += 1
        if calls["n"] == call_number:
            raise exception("simulated kill")
        return real(*a, **kw)
    monkeypatch.setattr(module, name, wrapper)


def run_cli(main, argv, capsys) -> tuple[int, str]:
    """(exit code, stderr) of a command's main(argv); argparse's own errors exit via SystemExit."""
    try:
        code = main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    return code, capsys.readouterr().err
