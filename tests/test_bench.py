"""The benchmark scripts run on a tiny setting and reject bad flags, and output files they could not
write, with one line (exit 2) before any timing."""
import sys
from pathlib import Path

import pytest
from conftest import run_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import grpo_step as grpo_bench  # noqa: E402
import sampler as sampler_bench  # noqa: E402


@pytest.mark.parametrize("argv, message", [
    (["--batch", "0"], "--batch"), (["--train-steps", "0"], "--train-steps"), (["--train-steps", "-1"], "--train-steps"),
    (["--preset", "huge"], "invalid choice"), (["--vocab", "0"], "--vocab"), (["--new-tokens", "0"], "--new-tokens"),
])
def test_sampler_bench_rejects_bad_flags(argv, message, capsys):
    code, err = run_cli(sampler_bench.main, argv, capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("argv, message", [
    (["--steps", "0"], "--steps"), (["--device", "tpu"], "unknown device"), (["--ckpt", "/no/such/model.pt"], "no checkpoint"),
    (["--kl-coef", "nan"], "--kl-coef"),
])
def test_grpo_bench_rejects_bad_flags(argv, message, capsys):
    code, err = run_cli(grpo_bench.main, argv, capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_sampler_bench_quick_tiny_run(capsys, monkeypatch):
    real_peak = sampler_bench.matmul_peak_flops
    monkeypatch.setattr(sampler_bench, "matmul_peak_flops", lambda: real_peak(n=256, repeats=1))  # seconds saved
    assert sampler_bench.main(["--preset", "tiny", "--batch", "2", "--new-tokens", "4", "--train-steps", "1"]) == 0
    out = capsys.readouterr().out
    assert "speed-up" in out and "dense model with the same active parameters" in out


def test_peers_bench_runs_r1mini_and_skips_missing_peers_with_a_hint(capsys, monkeypatch):
    import peers
    for name, value in dict(GEN_BATCH=2, GEN_NEW_TOKENS=3, GRPO_PROMPTS=1, GRPO_G=2, GRPO_NEW_TOKENS=3).items():
        monkeypatch.setattr(peers, name, value)
    monkeypatch.setitem(sys.modules, "trl", None)  # as if not installed (import raises ImportError)
    assert peers.main(["--repeats", "1", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    assert "| r1mini dense |" in out and "pip install transformers trl" in out


def no_compiler(*args, **kwargs):
    """Stands in for torch.compile on a machine without a C++ compiler: the compiled function fails."""
    def fails(*a, **k):
        raise RuntimeError("no C++ compiler found")
    return fails


def test_sampler_bench_times_compiled_pretraining_or_says_it_cannot(capsys, monkeypatch):
    import torch
    real_peak = sampler_bench.matmul_peak_flops
    monkeypatch.setattr(sampler_bench, "matmul_peak_flops", lambda: real_peak(n=256, repeats=1))
    argv = ["--preset", "tiny", "--skip-generation", "--train-steps", "1", "--compile"]
    monkeypatch.setattr(torch, "compile", lambda forward, **kwargs: forward)  # compiling is slow; the plumbing is the test
    sampler_bench.main(argv)
    assert "the same, forward compiled:" in capsys.readouterr().out
    monkeypatch.setattr(torch, "compile", no_compiler)
    sampler_bench.main(argv)
    assert "torch.compile unavailable here (RuntimeError: no C++ compiler found)" in capsys.readouterr().out


def test_an_output_file_that_cannot_be_written_is_refused_before_the_timing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(grpo_bench, "grpo_step", lambda *a, **k: pytest.fail("a GRPO step was timed"))
    (tmp_path / "file").write_text("x")
    code, err = run_cli(grpo_bench.main, ["--json", str(tmp_path / "file" / "out.json")], capsys)
    assert code == 2 and "cannot write --json" in err and "is not a directory" in err and len(err.strip().splitlines()) == 1, err
    monkeypatch.setattr(sampler_bench, "RESULTS", tmp_path / "nowhere" / "results_sampler.json")
    monkeypatch.setattr(sampler_bench, "Transformer", lambda *a, **k: pytest.fail("a model was built"))
    code, err = run_cli(sampler_bench.main, ["--quick", "--json"], capsys)
    assert code == 2 and "cannot write --json" in err and "does not exist" in err and len(err.strip().splitlines()) == 1, err
