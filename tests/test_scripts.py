"""End-to-end runs of the stage scripts with micro configs: they finish, write their checkpoint,
metrics and report, resume after an interruption, and reject bad flags with a clear message."""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import train_zero
from r1mini import evaluate, generate, pretrain
from r1mini.checkpoint import load_checkpoint
from r1mini.training import read_jsonl

ROOT = Path(__file__).resolve().parents[1]
MICRO_ZERO = ["--preset", "tiny", "--base-steps", "3", "--steps", "4", "--tasks", "add,logic",
              "--prompts-per-step", "2", "--group-size", "2", "--max-new-tokens", "12", "--eval-problems", "1",
              "--eval-k", "2", "--eval-every", "2", "--resume-every", "2", "--device", "cpu"]


@pytest.fixture(scope="module")
def base_ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("base")
    pretrain.build_base(out, preset="tiny", device="cpu", steps=3, evaluate=False)
    return out / "model.pt"


def test_pretrain_writes_checkpoint_and_metrics(base_ckpt):
    model, tokenizer, meta = load_checkpoint(base_ckpt)
    assert meta["stage"] == "base" and meta["preset"] == "tiny"
    assert [r["step"] for r in read_jsonl(base_ckpt.parent / "metrics.jsonl")] == [3]
    assert not (base_ckpt.parent / "resume.pt").exists()


def test_train_zero_end_to_end_and_resume(tmp_path, base_ckpt, monkeypatch):
    out = tmp_path / "zero"
    args = MICRO_ZERO + ["--base", str(base_ckpt), "--out-dir", str(out)]
    real_step, calls = train_zero.grpo_step, {"n": 0}

    def crash_on_third_step(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("simulated kill")
        return real_step(*a, **kw)

    monkeypatch.setattr(train_zero, "grpo_step", crash_on_third_step)
    with pytest.raises(KeyboardInterrupt):
        train_zero.main(args)
    assert (out / "resume.pt").exists() and not (out / "model.pt").exists()
    monkeypatch.setattr(train_zero, "grpo_step", real_step)
    assert train_zero.main(args) == 0
    steps = [r["step"] for r in read_jsonl(out / "metrics.jsonl") if "reward" in r]
    assert steps == [1, 2, 3, 4]  # resumed at step 2: nothing repeated, nothing missing
    assert not (out / "resume.pt").exists()
    _, _, meta = load_checkpoint(out / "model.pt")
    assert meta["stage"] == "zero" and meta["steps"] == 4
    report = (out / "report.md").read_text()
    assert "pass@1" in report and "base" in report
    result = json.loads((out / "eval.json").read_text())
    assert set(result) == {"base", "zero"} and result["zero"]["overall"]["k"] == 2


def test_train_zero_report_survives_steps_without_update(tmp_path, base_ckpt, monkeypatch):
    # a step whose groups are all equal makes no update and logs no KL or entropy; the report card
    # must average over the steps that have them instead of crashing at the very end of a run
    real_step = train_zero.grpo_step

    def no_update_after_first(*a, **kw):
        stats, batch = real_step(*a, **kw)
        stats = {k: v for k, v in stats.items() if k not in ("kl", "entropy", "loss")}
        if kw.get("step", 0) == 0:  # only the first step "made an update"
            stats["kl"] = 0.25
        return stats, batch

    monkeypatch.setattr(train_zero, "grpo_step", no_update_after_first)
    out = tmp_path / "zero"
    assert train_zero.main(MICRO_ZERO + ["--base", str(base_ckpt), "--out-dir", str(out)]) == 0
    assert "| kl | 0.250 | nan |" in (out / "report.md").read_text()


def test_window_mean_skips_rows_without_the_key():
    rows = [{"kl": 0.2}, {"reward": 1.0}, {"kl": 0.4}]
    assert train_zero.window_mean(rows, "kl") == pytest.approx(0.3)
    assert math.isnan(train_zero.window_mean([{"reward": 1.0}], "kl"))


def test_evaluate_cli_writes_json(tmp_path, base_ckpt, capsys):
    out = tmp_path / "eval.json"
    code = evaluate.main(["--ckpt", str(base_ckpt), "--tasks", "logic", "--n-problems", "2", "--k", "2",
                          "--max-new-tokens", "8", "--no-hard", "--json", str(out), "--device", "cpu"])
    assert code == 0
    result = json.loads(out.read_text())
    for key in ("pass@1", "cons@k", "k", "mean_length", "format_rate"):
        assert key in result["overall"] and key in result["by_task"]["logic"]
    assert "pass@1" in capsys.readouterr().out


def test_generate_cli_answers_a_file(tmp_path, base_ckpt):
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "12+34"}\n{"question": "T and F", "id": 7}\n')
    out = tmp_path / "a.jsonl"
    assert generate.main(["--ckpt", str(base_ckpt), "--in", str(questions), "--out", str(out),
                          "--max-new-tokens", "8", "--device", "cpu"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["question"] for r in rows] == ["12+34", "T and F"] and rows[1]["id"] == 7
    assert all(isinstance(r["response"], str) for r in rows)


@pytest.mark.parametrize("argv, message", [
    (["--ckpt", "/nonexistent/model.pt"], "no checkpoint"),
    (["--ckpt", "X", "--tasks", "division"], "unknown task"),
    (["--ckpt", "X", "--k", "-1"], "--k must be at least 1"),
    (["--ckpt", "X", "--device", "tpu"], "unknown device"),
    (["--ckpt", "X", "--top-p", "0"], "--top-p"),
])
def test_evaluate_rejects_bad_flags(argv, message, capsys):
    assert evaluate.main(argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--steps", "0"], "--steps must be >= 1"),
    (["--group-size", "1"], "--group-size must be >= 2"),
    (["--tasks", "add,division"], "unknown task"),
    (["--device", "cuda:banana"], "device"),
    (["--loss-agg", "median"], "invalid choice"),
])
def test_train_zero_rejects_bad_flags(flags, message):
    result = subprocess.run([sys.executable, "train_zero.py", *flags], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_generate_rejects_missing_input(tmp_path, base_ckpt, capsys):
    assert generate.main(["--ckpt", str(base_ckpt), "--in", str(tmp_path / "none.jsonl"), "--out", "x"]) == 2
    assert "no such file" in capsys.readouterr().err
