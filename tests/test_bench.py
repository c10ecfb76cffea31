"""The benchmark scripts run on a tiny setting and reject bad flags with one line (exit 2)."""
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
    assert sampler_bench.main(["--preset", "tiny", "--batch", "2", "--new-tokens", "4", "--train-steps", "1"]) is None
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


def test_sampling_rounds_bench_times_one_round_and_two(tmp_path, capsys):
    import sampling_rounds
    from conftest import make_tiny_model

    from r1mini.checkpoint import save_checkpoint
    save_checkpoint(tmp_path / "model.pt", make_tiny_model(0), {"stage": "test"})
    code = sampling_rounds.main(["--ckpt", str(tmp_path / "model.pt"), "--questions", "3", "--first", "1",
                                 "--group-size", "2", "--max-new-tokens", "3", "--repeats", "1"])
    out = capsys.readouterr().out
    assert code == 0 and "repeat 1: one round" in out and "1 then 2:" in out
    # the same rows either way: 3 questions x 2 answers x at most 3 tokens
    one, two = (int(part.split("(")[1].split(" tokens")[0]) for part in out.split("|")[:2])
    assert 0 < one <= 18 and 0 < two <= 18


@pytest.mark.parametrize("argv, message", [
    (["--ckpt", "/no/such/model.pt"], "no checkpoint"), (["--ckpt", "x", "--questions", "4", "--first", "4"], "--first"),
    (["--ckpt", "x", "--repeats", "0"], "--repeats"), ([], "--ckpt"),
])
def test_sampling_rounds_bench_rejects_bad_flags(argv, message, capsys):
    import sampling_rounds
    code, err = run_cli(sampling_rounds.main, argv, capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def no_compiler(*args, **kwargs):
    """Stands in for torch.compile on a machine without a C++ compiler: the compiled function fails."""
    def fails(*a, **k):
        raise RuntimeError("no C++ compiler found")
    return fails


@pytest.mark.parametrize("argv, message", [
    (["--batch", "0"], "--batch"), (["--new-tokens", "0"], "--new-tokens"), (["--model", "huge"], "invalid choice"),
    (["--prompt-len", "0"], "--prompt-len"),
])
def test_compile_decode_bench_rejects_bad_flags(argv, message, capsys):
    import compile_decode
    code, err = run_cli(compile_decode.main, argv, capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_compile_decode_bench_times_eager_and_says_when_compile_is_unavailable(capsys, monkeypatch):
    import compile_decode
    import torch

    monkeypatch.setattr(torch, "compile", no_compiler)
    assert compile_decode.main(["--batch", "2", "--new-tokens", "2", "--prompt-len", "3"]) == 0
    out = capsys.readouterr().out
    assert "eager" in out and "torch.compile unavailable here (RuntimeError: no C++ compiler found)" in out


def test_compile_decode_bench_times_generate_on_a_checkpoint(tmp_path, capsys, monkeypatch):
    import compile_decode
    import torch
    from conftest import make_tiny_model

    from r1mini.checkpoint import save_checkpoint
    save_checkpoint(tmp_path / "model.pt", make_tiny_model(0), {"stage": "test"})
    monkeypatch.setattr(torch, "compile", lambda forward, **kwargs: forward)  # compiling is slow; the plumbing is the test
    assert compile_decode.main(["--ckpt", str(tmp_path / "model.pt"), "--questions", "2"]) == 0
    out = capsys.readouterr().out
    assert "16 rows (2 questions x 8)" in out and "x eager" in out and "compile cost" in out
    assert "answers identical to eager, same seed: 16 of 16" in out


def test_compile_decode_bench_says_when_the_checkpoint_is_missing(capsys):
    import compile_decode
    code, err = run_cli(compile_decode.main, ["--ckpt", "/no/such/model.pt"], capsys)
    assert code == 2 and "no checkpoint" in err, err


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


def test_check_soundness_bench_counts_the_checks_that_check(tmp_path, capsys):
    import random

    import check_soundness

    from r1mini.r1_data import readable_completion
    from r1mini.tasks import Problem
    problem = Problem("add", 3, "57+384", "441", "zh")
    sound = readable_completion(problem, random.Random(0))
    check = sound[sound.index("检查一下"):sound.index("对。") + 2]
    garbled = sound.replace(check, "检查一下个位：8加0加0得08。对。")
    unchecked = sound.replace(check, "")
    records = [{"question": problem.question, "completion": c, "correct": 1.0} for c in (sound, garbled, unchecked)]
    assert check_soundness.soundness(records, {problem.question: problem}) == {
        "right answers that think": 3, "with a self-check": 2, "sound": 1}
    code, err = run_cli(check_soundness.main, ["--ckpt", "/no/such/model.pt", "--problems", "1", "--k", "1"], capsys)
    assert code == 2 and "no checkpoint" in err, err


def test_trivial_recall_sets_are_the_two_sides_of_the_split():
    import trivial_recall
    from r1mini.tasks import TRIVIAL_LEVEL, is_test_question
    taught, held_out = trivial_recall.taught_questions(), trivial_recall.held_out_questions()
    assert all(p.level == TRIVIAL_LEVEL for p in taught + held_out)
    assert not any(is_test_question(p.task, p.expression) for p in taught)
    assert all(is_test_question(p.task, p.expression) for p in held_out)
    # every trivial question is on one side or the other: a+b for digits a, b; a*m for a digit a and
    # m in 2..9 (tasks._raw_problem); two truth values and one of three operators
    expressions = {(p.task, p.expression) for p in taught} | {(p.task, p.expression) for p in held_out}
    assert [len({e for e in expressions if e[0] == task}) for task in ("add", "mul", "logic")] == [100, 80, 12]
    assert len(taught) == len({(p.task, p.expression) for p in taught})


def test_trivial_recall_tiny_run_and_missing_checkpoint(tmp_path, capsys):
    import trivial_recall
    from conftest import make_tiny_model
    from r1mini.checkpoint import save_checkpoint
    save_checkpoint(tmp_path / "model.pt", make_tiny_model(), {"stage": "test"})
    assert trivial_recall.main([str(tmp_path / "model.pt"), "--k", "1"]) == 0
    out = capsys.readouterr().out
    assert "| taught | 173 |" in out and "| held out | 19 |" in out
    code, err = run_cli(trivial_recall.main, [str(tmp_path / "missing.pt")], capsys)
    assert code == 2 and "missing.pt" in err and len(err.strip().splitlines()) == 1, err
