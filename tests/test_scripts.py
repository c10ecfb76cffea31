"""End-to-end runs of the stage scripts with micro configs: they finish, write their checkpoint,
metrics and report, resume after a kill exactly as if never killed, never lose a finished run, and
reject bad flags with a one-line message (exit 2, no traceback)."""
import functools
import json
import os
from collections import Counter

import pytest
import torch
from conftest import crash_at, run_cli

import train_zero
from r1mini import evaluate, grpo_fast, pretrain
from r1mini.checkpoint import load_checkpoint
from r1mini.report import window_mean
from r1mini.rundir import read_jsonl
from r1mini.sft import SFTConfig
from r1mini.tasks import eval_problems

MICRO_ZERO = ["--preset", "tiny", "--base-steps", "3", "--steps", "4", "--tasks", "add,logic",
              "--prompts-per-step", "2", "--group-size", "2", "--max-new-tokens", "12", "--eval-problems", "1",
              "--eval-k", "2", "--eval-max-new-tokens", "44", "--eval-every", "2", "--resume-every", "2", "--device", "cpu"]


@pytest.fixture(scope="module")
def base_ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("base")
    pretrain.build_base(out, preset="tiny", device="cpu", steps=3, evaluate=False)
    return out / "model.pt"


def zero_args(base_ckpt, out, *extra):
    return MICRO_ZERO + ["--base", str(base_ckpt), "--out-dir", str(out), *extra]


def without_timings(records):
    return [{k: v for k, v in r.items() if not k.startswith("time_")} for r in records]


def test_pretrain_writes_checkpoint_and_metrics(base_ckpt):
    model, tokenizer, meta = load_checkpoint(base_ckpt)
    assert meta["stage"] == "base" and meta["preset"] == "tiny"
    assert [r["step"] for r in read_jsonl(base_ckpt.parent / "metrics.jsonl")] == [3]
    assert not (base_ckpt.parent / "resume.pt").exists() and not (base_ckpt.parent / ".lock").exists()


@pytest.fixture(scope="module")
def uninterrupted_zero(tmp_path_factory, base_ckpt):
    out = tmp_path_factory.mktemp("zero_whole")
    assert train_zero.main(zero_args(base_ckpt, out)) == 0
    return out


def test_train_zero_end_to_end(uninterrupted_zero):
    out = uninterrupted_zero
    assert not (out / "resume.pt").exists() and not (out / ".lock").exists()
    _, _, meta = load_checkpoint(out / "model.pt")
    assert meta["stage"] == "zero" and meta["steps"] == 4
    assert "pass@1" in (out / "report.md").read_text()
    result = json.loads((out / "eval.json").read_text())
    assert set(result) == {"base", "R1-Zero"} and result["R1-Zero"]["overall"]["k"] == 2
    records = read_jsonl(out / "metrics.jsonl")
    assert [r["step"] for r in records if "reward" in r] == [1, 2, 3, 4]
    assert [r["step"] for r in records if "eval_pass@1" in r] == [0, 2, 4]


def test_train_zero_language_reward_ablation_logs_the_language_term(tmp_path, base_ckpt, uninterrupted_zero):
    out = tmp_path / "zero_lang"
    assert train_zero.main(zero_args(base_ckpt, out, "--language-reward", "--steps", "1", "--eval-every", "0")) == 0
    steps = [r for r in read_jsonl(out / "metrics.jsonl") if "reward" in r]
    assert steps and all(0.0 <= r["reward_language"] <= 1.0 for r in steps)
    assert not any("reward_language" in r for r in read_jsonl(uninterrupted_zero / "metrics.jsonl"))  # R1-Zero: none


def test_killed_and_resumed_train_zero_is_the_uninterrupted_run(tmp_path, base_ckpt, uninterrupted_zero, monkeypatch):
    out = tmp_path / "zero"
    crash_at(monkeypatch, grpo_fast, "fast_grpo_step", 4)   # killed during step 4, last resume file at step 2
    with pytest.raises(KeyboardInterrupt):
        train_zero.main(zero_args(base_ckpt, out))
    assert (out / "resume.pt").exists() and not (out / "model.pt").exists() and not (out / ".lock").exists()
    monkeypatch.undo()
    assert train_zero.main(zero_args(base_ckpt, out)) == 0
    assert without_timings(read_jsonl(out / "metrics.jsonl")) == \
        without_timings(read_jsonl(uninterrupted_zero / "metrics.jsonl"))
    resumed, _, _ = load_checkpoint(out / "model.pt")
    whole, _, _ = load_checkpoint(uninterrupted_zero / "model.pt")
    for (name, a), b in zip(resumed.state_dict().items(), whole.state_dict().values()):
        assert torch.equal(a, b), name


def test_a_nan_loss_stops_the_run_with_one_line_and_keeps_the_resume_file(tmp_path, base_ckpt, monkeypatch, capsys):
    out, real_loss, calls = tmp_path / "zero", grpo_fast.grpo_loss, {"n": 0}

    def nan_from_the_third_call(*a, **kw):  # steps 1-2 learn (a resume file at step 2), then NaN
        calls["n"] += 1
        loss, stats = real_loss(*a, **kw)
        return (loss * float("nan") if calls["n"] >= 3 else loss), stats
    monkeypatch.setattr(grpo_fast, "grpo_loss", nan_from_the_third_call)
    code, err = run_cli(train_zero.main, zero_args(base_ckpt, out, "--zero-std-groups", "keep"), capsys)
    assert code == 2 and err.strip().splitlines()[-1].startswith("error: loss is nan") and "Traceback" not in err, err
    assert (out / "resume.pt").exists() and not (out / "model.pt").exists() and not (out / ".lock").exists()


def test_a_crash_while_writing_the_report_loses_no_training(tmp_path, base_ckpt, monkeypatch):
    out = tmp_path / "zero"
    crash_at(monkeypatch, train_zero, "report_card", 1, RuntimeError)
    with pytest.raises(RuntimeError):
        train_zero.main(zero_args(base_ckpt, out))
    assert (out / "resume.pt").exists()
    monkeypatch.undo()
    steps_run, evaluations_run = [], []
    real_step, real_evaluate = grpo_fast.fast_grpo_step, evaluate.evaluate_model
    monkeypatch.setattr(grpo_fast, "fast_grpo_step", lambda *a, **kw: steps_run.append(1) or real_step(*a, **kw))
    for module in (evaluate, train_zero):
        monkeypatch.setattr(module, "evaluate_model", lambda *a, **kw: evaluations_run.append(1) or real_evaluate(*a, **kw))
    assert train_zero.main(zero_args(base_ckpt, out)) == 0
    assert steps_run == [] and (out / "report.md").exists() and not (out / "resume.pt").exists()
    assert evaluations_run == []  # base and R1-Zero were evaluated before the crash: cached, not repeated


def test_finished_runs_and_inputs_are_never_overwritten(tmp_path, base_ckpt, uninterrupted_zero, capsys):
    log = (uninterrupted_zero / "metrics.jsonl").read_text()
    assert train_zero.main(zero_args(base_ckpt, uninterrupted_zero)) == 2
    assert "finished run" in capsys.readouterr().err and (uninterrupted_zero / "metrics.jsonl").read_text() == log
    # the base's own directory as the output: refused, the base is untouched
    before = base_ckpt.read_bytes()
    assert train_zero.main(zero_args(base_ckpt, base_ckpt.parent, "--overwrite")) == 2
    assert "both this stage's input and its output" in capsys.readouterr().err and base_ckpt.read_bytes() == before
    # bad flags on a new start leave the old run alone (validation comes first)
    with pytest.raises(SystemExit) as exit_info:
        train_zero.main(zero_args(base_ckpt, uninterrupted_zero, "--overwrite", "--tasks", ","))
    assert exit_info.value.code == 2 and (uninterrupted_zero / "metrics.jsonl").read_text() == log


def test_a_directory_in_use_by_a_live_run_is_refused(tmp_path, base_ckpt, capsys):
    out = tmp_path / "zero"
    out.mkdir()
    (out / ".lock").write_text("1")  # pid 1 is always alive
    assert train_zero.main(zero_args(base_ckpt, out)) == 2
    assert "in use by a running process" in capsys.readouterr().err
    (out / ".lock").write_text("999999999")  # a dead run's lock is taken over
    assert train_zero.main(zero_args(base_ckpt, out, "--steps", "1")) == 0


def test_resume_refuses_changed_flags(tmp_path, base_ckpt, monkeypatch, capsys):
    out = tmp_path / "zero"
    crash_at(monkeypatch, grpo_fast, "fast_grpo_step", 3)
    with pytest.raises(KeyboardInterrupt):
        train_zero.main(zero_args(base_ckpt, out))
    monkeypatch.undo()
    capsys.readouterr()
    assert train_zero.main(zero_args(base_ckpt, out, "--lr", "0.01", "--seed", "3")) == 2
    err = capsys.readouterr().err
    assert "--lr was 0.0003, now 0.01" in err and "--seed was 0, now 3" in err and len(err.strip().splitlines()) == 1
    assert (out / "resume.pt").exists()
    assert train_zero.main(zero_args(base_ckpt, out)) == 0                   # the same flags resume


def test_overwrite_starts_an_unfinished_run_afresh(tmp_path, base_ckpt, monkeypatch):
    out = tmp_path / "zero"
    crash_at(monkeypatch, grpo_fast, "fast_grpo_step", 4)
    with pytest.raises(KeyboardInterrupt):
        train_zero.main(zero_args(base_ckpt, out))
    monkeypatch.undo()
    steps_run = []
    real_step = grpo_fast.fast_grpo_step
    monkeypatch.setattr(grpo_fast, "fast_grpo_step", lambda *a, **kw: steps_run.append(kw["step"]) or real_step(*a, **kw))
    assert train_zero.main(zero_args(base_ckpt, out, "--lr", "0.01", "--overwrite")) == 0
    assert steps_run == [0, 1, 2, 3]


def test_killed_and_resumed_pretraining_is_the_uninterrupted_run(tmp_path, monkeypatch):
    from r1mini import sft
    small_steps = functools.partial(SFTConfig, resume_every=4, log_every=1)
    monkeypatch.setattr(pretrain, "SFTConfig", small_steps)
    whole = pretrain.build_base(tmp_path / "whole", "tiny", "cpu", steps=10, evaluate=False)
    crash_at(monkeypatch, sft, "sft_step", 7)   # killed during step 7; resume file at step 4
    with pytest.raises(KeyboardInterrupt):
        pretrain.build_base(tmp_path / "killed", "tiny", "cpu", steps=10, evaluate=False)
    monkeypatch.undo()
    monkeypatch.setattr(pretrain, "SFTConfig", small_steps)
    resumed = pretrain.build_base(tmp_path / "killed", "tiny", "cpu", steps=10, evaluate=False)
    a, _, _ = load_checkpoint(whole)
    b, _, _ = load_checkpoint(resumed)
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(x, y), name
    drop = ("target_tokens_per_s", "seconds")  # wall times differ
    assert [{k: v for k, v in r.items() if k not in drop} for r in read_jsonl(whole.parent / "metrics.jsonl")] == \
        [{k: v for k, v in r.items() if k not in drop} for r in read_jsonl(resumed.parent / "metrics.jsonl")]


def test_torn_last_metrics_line_is_dropped_and_a_failed_rewrite_keeps_the_log(tmp_path, monkeypatch):
    from r1mini.rundir import RunDir
    run = RunDir(tmp_path, {})
    run.log({"step": 1, "x": 1})
    with open(run.metrics, "a") as f:
        f.write('{"step": 2, "x"')           # killed mid-line
    assert read_jsonl(run.metrics) == [{"step": 1, "x": 1}]
    before = run.metrics.read_text()
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    with pytest.raises(OSError):
        run.rewrite_metrics([{"step": 1}])
    assert run.metrics.read_text() == before


def test_report_survives_steps_without_update(tmp_path, base_ckpt, monkeypatch):
    # a step whose groups are all equal makes no update and logs no KL or entropy; the report card
    # must average over the steps that have them instead of crashing at the very end of a run
    real_step = grpo_fast.fast_grpo_step

    def no_update_after_first(*a, **kw):
        stats, sampled = real_step(*a, **kw)
        stats = {k: v for k, v in stats.items() if k not in ("kl", "entropy", "loss")}
        if kw.get("step", 0) == 0:  # only the first step "made an update"
            stats["kl"] = 0.25
        return stats, sampled

    monkeypatch.setattr(grpo_fast, "fast_grpo_step", no_update_after_first)
    out = tmp_path / "zero"
    assert train_zero.main(zero_args(base_ckpt, out)) == 0
    assert "| kl | 0.250 | nan |" in (out / "report.md").read_text()


def test_window_mean_skips_rows_without_the_key():
    rows = [{"kl": 0.2}, {"reward": 1.0}, {"kl": 0.4}]
    assert window_mean(rows, "kl") == pytest.approx(0.3)
    assert window_mean([{"reward": 1.0}], "kl") != window_mean([{"reward": 1.0}], "kl")  # NaN


def test_evaluate_cli_writes_json(tmp_path, base_ckpt, capsys):
    out = tmp_path / "eval.json"
    code = evaluate.main(["--ckpt", str(base_ckpt), "--tasks", "logic", "--n-problems", "2", "--k", "2",
                          "--max-new-tokens", "8", "--no-hard", "--json", str(out), "--device", "cpu"])
    assert code == 0
    result = json.loads(out.read_text())
    for key in ("pass@1", "cons@k", "k", "mean_length", "format_rate"):
        assert key in result["overall"] and key in result["by_task"]["logic"]
    assert list(result["by_level"]) == ["logic-1", "logic-2", "logic-3", "logic-4"]  # the trivial level too
    # a bare or English and a Chinese problem per level, where the level has two test questions
    # (logic-1 has one, so its "bare" question)
    asked = Counter(p.language for level in (1, 2, 3, 4) for p in eval_problems("logic", level, 2))
    assert asked == {"en": 4, "zh": 3}
    for language in ("en", "zh"):
        assert result["by_language"][language]["n_problems"] == asked[language]
        assert "own_language_rate" in result["by_language"][language]
    out = capsys.readouterr().out
    assert "pass@1" in out and "| **asked in zh** |" in out


# ---------------------------------------------------------------- every bad input: exit 2, one line

BAD_ZERO_FLAGS = [
    (["--steps", "0"], "--steps"), (["--group-size", "1"], "--group-size"), (["--tasks", "add,division"], "unknown task"),
    (["--tasks", ","], "at least one task"), (["--device", "cuda:banana"], "device"), (["--loss-agg", "median"], "invalid choice"),
    (["--temperature", "inf"], "--temperature"), (["--temperature", "nan"], "--temperature"),
    (["--temperature", "1e-45"], "--temperature"), (["--seed", str(10 ** 23)], "--seed"), (["--base-steps", "-5"], "--base-steps"),
    (["--base-steps", "0"], "--base-steps"), (["--clip-eps-high", "-5"], "--clip-eps-high"), (["--lr", "nan"], "--lr"),
    (["--max-new-tokens", "250"], "too large"), (["--eval-max-new-tokens", "250"], "too large"), (["--zero-std-groups", "maybe"], "invalid choice"),
]


@pytest.mark.parametrize("flags, message", BAD_ZERO_FLAGS)
def test_train_zero_rejects_bad_flags(tmp_path, base_ckpt, flags, message, capsys):
    code, err = run_cli(train_zero.main, zero_args(base_ckpt, tmp_path / "zero", *flags), capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "zero").exists()  # nothing was touched


@pytest.mark.parametrize("argv, message", [
    (["--ckpt", "/nonexistent/model.pt"], "no checkpoint"),
    (["--ckpt", "X", "--tasks", "division"], "unknown task"),
    (["--ckpt", "X", "--tasks", ","], "at least one task"),
    (["--ckpt", "X", "--k", "-1"], "--k"),
    (["--ckpt", "X", "--device", "tpu"], "unknown device"),
    (["--ckpt", "X", "--top-p", "0"], "--top-p"),
    (["--ckpt", "X", "--seed", str(10 ** 23)], "--seed"),
    (["--ckpt", "X", "--n-problems", "100000"], "--n-problems"),
    (["--ckpt", "X", "--temperature", "nan"], "--temperature"),
    (["--ckpt", "X", "--json", "/nonexistent/dir/out.json"], "cannot write --json"),
])
def test_evaluate_rejects_bad_flags(argv, message, capsys):
    code, err = run_cli(evaluate.main, argv, capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("argv, message", [
    (["--lr", "nan"], "--lr"), (["--seed", str(10 ** 23)], "--seed"), (["--steps", "0"], "--steps"),
    (["--batch-size", "0"], "--batch-size"), (["--device", "tpu"], "unknown device"),
])
def test_pretrain_rejects_bad_flags(tmp_path, argv, message, capsys):
    code, err = run_cli(pretrain.main, argv + ["--out-dir", str(tmp_path / "b")], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "b").exists()


def test_unwritable_out_dir_is_a_one_line_error(tmp_path, base_ckpt, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, err = run_cli(train_zero.main, zero_args(base_ckpt, blocker / "zero"), capsys)
    assert code == 2 and "cannot write" in err and len(err.strip().splitlines()) == 1, err
